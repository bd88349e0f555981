"""Offline said at once, in one line: ``tracker sync`` with the servers unreachable answers
in seconds (not after its 30 s budget of backoffs), names the cause, the address, the setting
that holds it and what happens next, and keeps everything queued. A server that answers 503
in plain text or with a proxy's HTML page is quoted in its own words. Issue 16."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.helpers.cli import run, run_json
from tests.helpers.loopback import Quiet, serve


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


def test_offline_sync_answers_in_seconds_with_one_line_saying_why_and_what_next(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    for api in ("MILEAGE", "COSTS"):
        monkeypatch.setenv(f"TRACKER_{api}_URL", url)
        monkeypatch.setenv(f"TRACKER_{api}_TOKEN", "t0k3n")
    # Far more than the run needs: the old behaviour (4 backoffs per step) spent ~50 s.
    monkeypatch.setenv("TRACKER_MANUAL_BUDGET", "120")
    run(capsys, "trip", "add", "--distance", "12", "--date", "2026-03-01", "-d", "client")

    started = time.monotonic()
    code, out, err = run(capsys, "sync")
    took = time.monotonic() - started

    assert code == 75, err
    assert took < 20, f"an offline sync took {took:.1f} s"
    offline = [line for line in err.splitlines() if line.startswith("offline:")]
    assert offline == [
        f"offline: cannot connect to {url} (connection refused: nothing listens at that "
        "address); check the network, or the address in TRACKER_MILEAGE_URL and "
        "TRACKER_COSTS_URL; 1 change kept queued: the next sync sends it (`tracker sync` "
        "when online, or the daemon by itself)"
    ]
    assert "error:" not in err  # said once, not once per step
    assert "costs: not done: cannot connect" in out
    assert "from Tight: not done: cannot connect" in out
    assert "not tried again in this run" in out  # the later step did not wait for it
    assert "queue: 1 pending" in out
    status = run_json(capsys, "status")
    assert status["journal"]["pending"] == 1

    code, out, _ = run(capsys, "sync", "--json")
    assert code == 75
    doc = json.loads(out)
    assert [d["origin"] for d in doc["unreachable"]] == [url]
    assert doc["unreachable"][0]["cause"].startswith("connection refused")


class PlainUnavailable(Quiet):
    body = b"Service Unavailable: down for maintenance until 14:00\n"
    content_type = "text/plain; charset=utf-8"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(503)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


class ProxyUnavailable(PlainUnavailable):
    body = (
        b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
        b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
        b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    content_type = "text/html"


@pytest.mark.parametrize(
    ("handler", "words"),
    [
        (PlainUnavailable, "Service Unavailable: down for maintenance until 14:00"),
        (ProxyUnavailable, "503 Service Temporarily Unavailable"),
    ],
)
def test_a_503_that_is_not_json_is_quoted_in_the_servers_words(
    handler: type[PlainUnavailable],
    words: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(handler) as url:
        monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
        monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "t0k3n")
        monkeypatch.setenv("TRACKER_MILEAGE_RETRIES", "0")
        run(capsys, "trip", "add", "--distance", "12", "--date", "2026-03-01", "-d", "client")
        code, _, err = run(capsys, "sync", "--push")
    assert code == 75, err
    reason = f"the server did not process it (service unavailable, HTTP 503: {words}); will retry"
    assert f"1 change(s) kept for later: {reason}" in err
    assert "UNKNOWN_ERROR" not in err
    status = run_json(capsys, "status")
    assert status["journal"]["pending"] == 1
    assert reason in status["last_error"]["mileage"]["message"]

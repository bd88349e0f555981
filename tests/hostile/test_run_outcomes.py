"""What ``tracker sync`` says about a run (finding 11 of issue 13): a dry run of a pull says
what the pull would ask, and a push run during which a trip was added exits 0, not 75.

The remote is the bundled sandbox behind a stdlib loopback proxy that plays the odd part (a
trip recorded on this machine while the push is on the wire).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.sandbox import DEFAULT_TOKEN, SandboxServer
from tests.helpers.cli import run, run_json
from tests.helpers.loopback import Quiet, serve
from tracker.store import Tracker


class AddsATripMidPush(Quiet):
    """Forwards to the sandbox; on the first save, a trip is recorded locally before the
    request goes on (as an app would, while the CLI's push is in flight)."""

    upstream: str
    db: Path
    added: list[str]
    lock = threading.Lock()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.command == "POST" and self.path == "/v6/mileage":
            with self.lock:
                if not self.added:
                    with Tracker.open(self.db) as other:
                        trip = other.trips.add({"date": "2026-03-02", "distance": "7.5"})
                        self.added.append(trip.id)
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in {"authorization", "content-type"}
        }
        answer = httpx.request(
            self.command, self.upstream + self.path, content=body, headers=headers
        )
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = _forward


@pytest.fixture
def proxied(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[list[str]]:
    added: list[str] = []
    db = tmp_path / "home" / "tracker.db"
    handler = type(
        "Proxy", (AddsATripMidPush,), {"upstream": server.tight_url, "db": db, "added": added}
    )
    with serve(handler) as url:
        monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
        monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", DEFAULT_TOKEN)
        yield added


def test_a_trip_added_during_a_push_is_not_a_temporary_failure(
    proxied: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_json(capsys, "trip", "add", "--distance", "12", "--date", "2026-03-01")["id"]

    code, out, err = run(capsys, "sync", "--push", "--json")

    assert proxied, "the proxy never saw a save"
    assert code == 0, out + err
    assert run_json(capsys, "trip", "show", first)["sync_state"] == "synced"
    # Nothing lost: the trip added meanwhile is queued (or already pushed), not dropped.
    assert run_json(capsys, "trip", "show", proxied[0])["sync_state"] in {"pending", "synced"}
    # The next run pushes it, and exits 0 too.
    code, out, err = run(capsys, "sync", "--push")
    assert code == 0, out + err
    assert run_json(capsys, "trip", "show", proxied[0])["sync_state"] == "synced"


class Counts(Quiet):
    """Answers 503 and counts the requests: a dry run must send none."""

    seen: list[str]

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_DELETE = _answer


def test_a_dry_run_of_a_pull_says_what_the_pull_would_ask_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []
    with serve(type("Counter", (Counts,), {"seen": seen})) as url:
        monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
        monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", DEFAULT_TOKEN)
        monkeypatch.setenv("TRACKER_COSTS_URL", f"{url}/api/business-mobile")
        monkeypatch.setenv("TRACKER_COSTS_TOKEN", DEFAULT_TOKEN)
        run_json(capsys, "trip", "add", "--distance", "12", "--date", "2026-03-01")

        code, out, err = run(capsys, "sync", "--pull", "--dry-run")
        assert code == 0, err
        assert f"GET {url}/api/business-mobile/v1/additional-costs/list?" in out
        assert f"POST {url}/v6/mileage/query" in out
        assert "save 1 trip" not in out  # the push plan is not what a pull does
        assert "only its first request is shown" in out

        plan = run_json(capsys, "sync", "--pull", "--dry-run")
        assert [r["method"] for r in plan["requests"]] == ["GET", "POST"]
        assert all(r["pull"] for r in plan["requests"])
        assert DEFAULT_TOKEN not in str(plan)

        both = run_json(capsys, "sync", "--dry-run")  # no flag: both directions
        notes = [r["note"] for r in both["requests"]]
        assert any("costs pull" in n for n in notes) and any("save 1 trip" in n for n in notes)
    assert seen == []

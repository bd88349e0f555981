"""A server that drips its headers or its body, or never answers: the deadline bounds the
whole exchange (connect to last body byte), a run ended by it leaves nothing in flight and
no lease held, and a daemon told to stop (SIGTERM) exits within seconds whatever the server
does. Issue 13, finding 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.clock import SystemClock
from sync.http.client import build_client, send
from sync.http.cutoff import time_left
from sync.http.failures import OutcomeUnknown
from sync.settings import MileageSettings
from tests.helpers.cli import run, run_json
from tests.helpers.loopback import Quiet, serve
from tests.helpers.wait import wait_event

EXE = str(Path(sys.executable).parent / "tracker")
DRIP = 0.2  # seconds between two bytes: well inside any read timeout


class _Played(Quiet):
    """Counts requests and tells the test when one arrived; ends when the test does."""

    arrived: threading.Event
    done: threading.Event

    def _read_request(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).arrived.set()

    def _drip(self, data: bytes) -> None:
        for byte in data:
            if type(self).done.is_set():
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(DRIP)  # the behaviour played: a slow server, not a wait for an event


class DripHeaders(_Played):
    def do_POST(self) -> None:
        self._read_request()
        self._drip(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000)

    do_GET = do_POST


class DripBody(_Played):
    def do_POST(self) -> None:
        self._read_request()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self._drip(b" " * 100_000)

    do_GET = do_POST


class Silent(_Played):
    def do_POST(self) -> None:
        self._read_request()
        type(self).done.wait(60)  # never answers while the test runs

    do_GET = do_POST


@pytest.fixture
def played() -> Iterator[None]:
    for handler in (DripHeaders, DripBody, Silent):
        handler.arrived = threading.Event()
        handler.done = threading.Event()
    yield
    for handler in (DripHeaders, DripBody, Silent):
        handler.done.set()


def test_time_left_shortens_each_wait_to_the_deadline() -> None:
    assert time_left(30.0, None, 100.0) == 30.0
    assert time_left(None, None, 100.0) is None
    assert time_left(30.0, 110.0, 100.0) == 10.0
    assert time_left(None, 110.0, 100.0) == 10.0
    assert time_left(5.0, 110.0, 100.0) == 5.0
    left = time_left(30.0, 99.0, 100.0)
    assert left is not None and left <= 0


@pytest.mark.parametrize("handler", [DripHeaders, DripBody, Silent])
def test_one_request_ends_by_its_deadline_whatever_the_server_drips(
    played: None, handler: type[_Played]
) -> None:
    cfg = MileageSettings(read_timeout=30.0, deadline=60.0)
    with serve(handler) as url, build_client(url, cfg) as client:
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown) as caught:
            send(client, "POST", "/v6/mileage", clock=SystemClock(), deadline=1.0, json_body={})
        took = time.monotonic() - started
    assert took < 6.0  # 1 s deadline; generous for a loaded CI, far below the 30 s read timeout
    assert f"no answer from {url}/v6/mileage within 1 s" in str(caught.value)


def _env(home: Path, url: str, **extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    values.update(
        TRACKER_HOME=str(home),
        TRACKER_MILEAGE_URL=url,
        TRACKER_MILEAGE_TOKEN="t0k3n-never-logged",
        TRACKER_MILEAGE_TWO_WAY="false",
        TRACKER_LOG_LEVEL="INFO",
        **extra,
    )
    return values


@pytest.mark.slow
def test_sync_against_a_header_dripper_ends_by_the_deadline_and_keeps_everything(
    played: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    with serve(DripHeaders) as url:
        for k, v in _env(home, url, TRACKER_MILEAGE_DEADLINE="2").items():
            monkeypatch.setenv(k, v)
        for day in (1, 2):
            run(capsys, "trip", "add", "--distance", "3.5", "--date", f"2026-03-0{day}")
        started = time.monotonic()
        code, _out, err = run(capsys, "sync", "--push")
        took = time.monotonic() - started
    assert code == 75
    assert took < 15.0  # 2 s per request; the dripper would hold it for hours
    assert "no answer from" in err and "will retry" in err
    status = run_json(capsys, "status")
    assert status["journal"]["in_flight"] == 0
    assert status["journal"]["pending"] == 2  # nothing lost, nothing counted as sent
    assert status["sync_running"] is False  # the lease went with the run


@pytest.mark.slow
@pytest.mark.parametrize("handler", [DripHeaders, Silent])
def test_daemon_stops_within_seconds_of_sigterm_whatever_the_server_does(
    played: None, tmp_path: Path, handler: type[_Played]
) -> None:
    home = tmp_path / "home"
    with serve(handler) as url:
        env = _env(home, url)
        added = subprocess.run(
            [EXE, "trip", "add", "--distance", "3.5", "--date", "2026-03-01"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert added.returncode == 0, added.stderr
        daemon = subprocess.Popen(
            [EXE, "daemon", "--log-file", str(home / "daemon.log")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert wait_event(handler.arrived, 30)  # the push is out, the server holds it
            started = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
            took = time.monotonic() - started
        finally:
            if daemon.poll() is None:
                daemon.kill()
            daemon.communicate(timeout=10)
    assert code == 0
    assert took < 10.0  # 2 s of grace, then the request is cut; was 60 s or more
    status = subprocess.run(
        [EXE, "status", "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    doc = json.loads(status.stdout)
    assert doc["journal"]["in_flight"] == 0
    assert doc["journal"]["pending"] + doc["journal"].get("in_doubt", 0) >= 1
    assert doc["sync_running"] is False
    assert "daemon stopped" in (home / "daemon.log").read_text()

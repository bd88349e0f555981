"""A person at a terminal gets an answer in bounded time: ``tracker sync`` (and ``--pull``,
``--push``) against a server that never answers or drips its body ends within the manual
budget, says why on stderr and exits 75, everything kept. Issue 13, finding 3."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from sync.settings import Settings
from tests.helpers.cli import run, run_json
from tests.helpers.loopback import Quiet, serve

BUDGET = "3"


class _Held(Quiet):
    done = threading.Event()

    def _read(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))


class Silent(_Held):
    def _hold(self) -> None:
        self._read()
        type(self).done.wait(60)  # never answers while the test runs

    do_GET = do_POST = _hold


class DripBody(_Held):
    def _drip(self) -> None:
        self._read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(100_000):
            if type(self).done.is_set():
                return
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.2)  # the behaviour played: a slow server, not a wait for an event

    do_GET = do_POST = _drip


@pytest.fixture(autouse=True)
def _release_handlers() -> Iterator[None]:
    _Held.done = threading.Event()
    yield
    _Held.done.set()


def test_the_manual_budget_is_a_setting_with_a_bounded_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert 0 < Settings().manual_budget <= 60
    monkeypatch.setenv("TRACKER_MANUAL_BUDGET", "7.5")
    assert Settings().manual_budget == 7.5


def _mileage(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "t0k3n")
    monkeypatch.setenv("TRACKER_MANUAL_BUDGET", BUDGET)


@pytest.mark.slow
@pytest.mark.parametrize("handler", [Silent, DripBody])
@pytest.mark.parametrize("argv", [("sync", "--pull"), ("sync", "--push"), ("sync",)])
def test_manual_sync_answers_within_its_budget_with_the_reason(
    handler: type[_Held],
    argv: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(handler) as url:
        _mileage(monkeypatch, url)
        run(capsys, "trip", "add", "--distance", "3.5", "--date", "2026-03-01")
        started = time.monotonic()
        code, _out, err = run(capsys, *argv)
        took = time.monotonic() - started
    assert code == 75
    assert took < 15.0  # a 3 s budget; was 163 s (pull) and 32 s (push) with the defaults
    assert f"no answer from {url}/v6/mileage" in err and "will retry" in err
    journal = run_json(capsys, "status")["journal"]
    assert journal["pending"] == 1 and journal["in_flight"] == 0 and journal["synced"] == 0


@pytest.mark.slow
def test_costs_pull_answers_within_the_budget(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(Silent) as url:
        monkeypatch.setenv("TRACKER_COSTS_URL", f"{url}/api/business-mobile")
        monkeypatch.setenv("TRACKER_COSTS_TOKEN", "t0k3n")
        monkeypatch.setenv("TRACKER_MANUAL_BUDGET", BUDGET)
        started = time.monotonic()
        code, _out, err = run(capsys, "sync", "--pull")
        took = time.monotonic() - started
    assert code == 75
    assert took < 15.0
    assert f"no answer from {url}/api/business-mobile" in err

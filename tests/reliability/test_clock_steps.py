"""G: the wall clock steps back and forward while the background service runs.

G1/G2 measure what ``tests/sync/test_service.py`` asserts (APScheduler 3.11 interval jobs
stall for as long as the clock went back; the service's monotonic watchdog reschedules),
and report the figures: the longest gap between two push runs after a 1 h step back, and
the runs in the 3 s after a 7 h step forward. G3: journal order across a backward step is
the sequence, not the timestamps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from sync.engine import SyncEngine
from sync.sandbox import (
    DEFAULT_TOKEN,
    Sandbox,
    SandboxTransport,
    create_app,
    serve,
)
from sync.service import SyncService
from sync.settings import MileageSettings, ScheduleSettings, Settings
from tests.helpers.remote import push
from tests.helpers.store import StepClock
from tests.helpers.wait import wait_for
from tests.reliability.figures import Row, Scorecard
from tests.reliability.harness import KEY
from tracker.store import Tracker

INTERVAL = 1.0
WINDOW = 3.0  # seconds watched after the forward step
REGULAR = int(WINDOW / INTERVAL) + 1  # runs the normal rhythm can fit in the window


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SyncService]:
    with (
        serve(Sandbox(rate_limit=None)) as server,
        Tracker.open(tmp_path / "home" / "tracker.db", timezone="UTC") as store,
    ):
        settings = Settings(
            home=tmp_path / "home",
            mileage=MileageSettings(url=server.tight_url, token=DEFAULT_TOKEN),
            schedule=ScheduleSettings(push_interval=INTERVAL, jitter=0, soon_delay=0.2),
        )
        engine = SyncEngine(settings, store)
        running = SyncService(engine, watch_interval=0.2)
        running.start()
        yield running
        running.stop()
        engine.close()


def _gap_after(service: SyncService, runs_wanted: int, timeout: float) -> float:
    """The longest wait between consecutive runs for the next ``runs_wanted`` runs."""
    longest, last = 0.0, time.monotonic()
    for _ in range(runs_wanted):
        before = service.state.push.runs

        def moved(b: int = before) -> bool:
            return service.state.push.runs > b

        if not wait_for(moved, timeout):
            return float("inf")
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    return longest


@pytest.mark.slow
def test_clock_steps_never_stall_the_schedule(service: SyncService, scorecard: Scorecard) -> None:
    assert wait_for(lambda: service.state.push.runs >= 2, 5)
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=1), tick=True):
        back_gap = _gap_after(service, 2, timeout=10)
        jumps = service.state.clock_jumps
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=7), tick=True):
        before = service.state.push.runs
        time.sleep(WINDOW)
        forward_runs = service.state.push.runs - before
    limit = 2 * INTERVAL + 0.5  # two intervals plus the watchdog's tick
    rows = [
        Row(
            "G1 longest gap between push runs after a 1 h step back",
            f"{back_gap:.2f} s (interval {INTERVAL:g} s)",
            f"<= 2 x interval (+ watchdog tick) = {limit:g} s",
            back_gap <= limit,
        ),
        Row(
            "G2 push runs in the 3 s after a 7 h step forward",
            f"{forward_runs} (regular rhythm: at most {REGULAR})",
            f"1 to {REGULAR} + 1 catch-up (no burst)",
            1 <= forward_runs <= REGULAR + 1,
        ),
    ]
    scorecard.record(
        "G1-G2",
        title="Clock steps",
        section=13,
        rows=rows,
        raw={"back_gap_s": round(back_gap, 2), "jumps_seen": jumps, "forward_runs": forward_runs},
        notes="time-machine moves the wall clock only (monotonic untouched, like an NTP step); "
        "same scenario as tests/sync/test_service.py",
    )
    assert jumps >= 1
    assert back_gap <= limit
    assert 1 <= forward_runs <= REGULAR + 1


def test_journal_order_survives_a_backward_clock_step(tmp_path: Path, scorecard: Scorecard) -> None:
    sandbox = Sandbox(rate_limit=None)
    clock = StepClock(datetime(2026, 3, 10, 12, tzinfo=UTC))
    home = tmp_path / "home"
    with Tracker.open(home / "tracker.db", timezone="UTC", clock=clock) as store:
        first = store.trips.add({"date": "2026-03-10", "distance": "1"})
        clock.advance(-3600)  # the wall clock goes back an hour
        second = store.trips.add({"date": "2026-03-10", "distance": "2"})
        store.trips.edit(first.id, {"notes": "edited after the step"})
        settings = Settings(
            home=home, mileage=MileageSettings(url="http://sandbox", token=DEFAULT_TOKEN)
        )
        engine = SyncEngine(settings, store, transport=SandboxTransport(create_app(sandbox)))
        push(engine)
        engine.close()
    order = [d.custom(KEY) for d in sandbox.deliveries]
    ok = order == [first.id, second.id]
    scorecard.record(
        "G3",
        title="Journal order across a backward clock step",
        section=13,
        rows=[
            Row(
                "G3 outbox order across a 1 h backward step",
                "sequence order kept" if ok else f"order {order}",
                "created order, not timestamps",
                ok,
            )
        ],
        raw={"order_ok": ok},
    )
    assert ok
    assert sandbox.records_with_custom(KEY, first.id)[0]["notes"] == "edited after the step"

"""The background service in-process: sync soon, backoff while offline, clock steps."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from sync.engine import SyncEngine
from sync.sandbox import Sandbox, SandboxServer, Status
from sync.service import SyncService
from sync.settings import ScheduleSettings, Settings
from tests.helpers.remote import KEY, fast_mileage
from tests.helpers.store import manual_trips
from tests.helpers.wait import wait_for
from tracker.store import Tracker


def _by_state_and_retry_time(store: Tracker) -> list[tuple[str, int]]:
    """Journal entries per (state, retry time), read in one snapshot."""
    with store.db.read() as session:
        rows = session.connection().exec_driver_sql(
            "SELECT state, count(*) FROM journal GROUP BY state, next_attempt_at"
        )
        return [(state, count) for state, count in rows.all()]


@pytest.fixture
def make_service(
    home: Path, store: Tracker, server: SandboxServer
) -> Iterator[Callable[..., SyncService]]:
    services: list[SyncService] = []
    engines: list[SyncEngine] = []

    def build(push_interval: float = 1.0, **mileage: object) -> SyncService:
        settings = Settings(
            home=home,
            mileage=fast_mileage(server.tight_url, **mileage),
            schedule=ScheduleSettings(push_interval=push_interval, jitter=0, soon_delay=0.2),
        )
        engine = SyncEngine(settings, store)
        engines.append(engine)
        service = SyncService(engine, watch_interval=0.2)
        services.append(service)
        return service

    yield build
    for service in services:
        service.stop()
    for engine in engines:
        engine.close()


def test_a_finished_trip_is_pushed_within_seconds(
    store: Tracker, sandbox: Sandbox, make_service: Callable[..., SyncService]
) -> None:
    service = make_service(push_interval=3600)  # only the first run and sync-soon
    service.start()
    assert wait_for(lambda: service.state.push.runs >= 1, 5)
    (trip_id,) = manual_trips(store, 1)
    # No call to sync_soon(): the watchdog sees the commit (data_version) and triggers it.
    assert wait_for(lambda: sandbox.stored_count_by_custom(KEY, trip_id) == 1, 5)
    service.sync_soon()
    service.sync_soon()  # debounced into one run
    assert service.running


@pytest.mark.slow
def test_offline_backs_off_without_spinning_and_drains_when_back(
    store: Tracker, sandbox: Sandbox, make_service: Callable[..., SyncService]
) -> None:
    ids = manual_trips(store, 20)
    sandbox.add_fault(Status(status=503, path="/v6/mileage", times=None))
    service = make_service(push_interval=0.5, retries=0)
    service.start()
    assert wait_for(lambda: service.state.push.runs >= 2, 10)
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(2.0)
    used = time.process_time() - cpu
    assert used < 0.5 * (time.monotonic() - wall)  # idle while offline, not spinning
    assert sandbox.stored_counts_by_custom(KEY) == {}
    # All 20 wait with one retry time: a whole request refused keeps one retry time for its
    # entries, so they come back together (not one request each as separate jitter draws fall
    # due). Between runs: while a run retries, the batch is in flight for a moment.
    assert wait_for(lambda: _by_state_and_retry_time(store) == [("pending", 20)], 5)
    sandbox.clear_faults()
    # A run that had the batch on the wire as the fault went may still bring back a 503 (and a
    # later retry time): read the retry time once the batch is at rest.
    assert wait_for(lambda: store.journal.counts().in_flight == 0, 10)
    due = store.journal.next_attempt_at()
    # Back online: drained once the retry falls due (the schedule doubles per failed run).
    # Nothing pending is not enough: a run takes the entries out of pending when it claims
    # them, before its request is answered.
    patience = 5.0 if due is None else max(0.0, (due - datetime.now(UTC)).total_seconds()) + 5.0
    assert wait_for(lambda: store.journal.counts().synced == 20, patience)
    assert all(sandbox.stored_count_by_custom(KEY, i) == 1 for i in ids)
    assert sandbox.request_count("/v6/mileage", status=200) == 1


@pytest.mark.slow
def test_a_wall_clock_step_back_does_not_stall_the_schedule(
    make_service: Callable[..., SyncService],
) -> None:
    service = make_service(push_interval=1.0)
    service.start()
    assert wait_for(lambda: service.state.push.runs >= 2, 5)
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=1), tick=True):
        before = service.state.push.runs
        # Within two intervals (plus the watchdog's tick) the next run comes.
        assert wait_for(lambda: service.state.push.runs > before, 2 * 1.0 + 0.5)
        assert service.state.clock_jumps >= 1
        after = service.state.push.runs
        assert wait_for(lambda: service.state.push.runs > after, 2 * 1.0 + 0.5)


@pytest.mark.slow
def test_a_wall_clock_step_forward_gives_at_most_one_catch_up(
    make_service: Callable[..., SyncService],
) -> None:
    service = make_service(push_interval=2.0)
    service.start()
    assert wait_for(lambda: service.state.push.runs >= 1, 5)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=7), tick=True):
        before = service.state.push.runs
        time.sleep(3.0)
        ran = service.state.push.runs - before
    assert 1 <= ran <= 3  # one catch-up (coalesced) plus the regular 2 s rhythm, no burst

"""Offline runs leave no history noise; gc under the sync leases; the daemon's daily gc."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bench.offline import offline, scalar
from sync.cli.explain import explain_trip
from sync.clock import SystemClock
from sync.costs.pull import PULL_LEASE
from sync.engine import PUSH_LEASE, SyncEngine
from sync.errors import AlreadyRunningError
from sync.gc import collect_garbage
from sync.lease import HeldLease
from sync.sandbox import SandboxServer
from sync.service import SyncService
from sync.settings import JournalSettings, ScheduleSettings, Settings
from tests.helpers.remote import EngineFactory, fast_mileage, push
from tests.helpers.store import manual_trips
from tests.helpers.wait import wait_for
from tests.tracker.snapshot import fingerprint
from tracker.store import Tracker

# The sync's own events (the links of each trip's history chain are not about syncing).
EVENTS = "SELECT count(*) FROM journal_event WHERE hash IS NULL"


@pytest.fixture
def pending_db(tmp_path: Path) -> Path:
    db = tmp_path / "offline.db"
    with Tracker.open(db, timezone="UTC") as store:
        manual_trips(store, 5)
    return db


def test_offline_runs_add_a_row_per_entry_once_then_none(pending_db: Path, tmp_path: Path) -> None:
    with offline(pending_db, tmp_path / "home") as side:
        first = side.cycle()
        assert first.push is not None and first.push.retried == 5
        rows = scalar(pending_db, EVENTS)
        assert rows == 10  # queued + the first failure, per trip
        for _ in range(40):
            report = side.cycle()
            assert "push" not in report.failures and report.push is not None
            assert report.push.retried == 5
        assert scalar(pending_db, EVENTS) == rows
        assert scalar(pending_db, "SELECT sum(attempts) FROM journal") == 5 * 41
        trip = side.store.trips.list(limit=1)[0].id
        story = explain_trip(side.store, trip)
    assert [e["event"] for e in story["history"]] == ["queued save", "recorded", "retry"]
    failing = [s for s in story["sentences"] if "has failed since" in s]
    assert len(failing) == 1 and "41 attempts" in failing[0] and "TRANSPORT" in failing[0]


def _leases(store: Tracker, name: str) -> HeldLease:
    return HeldLease(store.leases, name, timedelta(minutes=2), SystemClock(), busy=str)


@pytest.mark.parametrize("held", [PUSH_LEASE, PULL_LEASE])
def test_gc_is_refused_while_a_sync_holds_a_lease_and_changes_nothing(
    store: Tracker, home: Path, held: str
) -> None:
    manual_trips(store, 2)
    settings = Settings(home=home, journal=JournalSettings(retention_days=0))
    before = fingerprint(store.path)
    with _leases(store, held), pytest.raises(AlreadyRunningError, match="a sync is running"):
        collect_garbage(store, settings, SystemClock(), vacuum=True)
    assert fingerprint(store.path) == before
    # Once the sync is done it runs, and gives the leases back.
    assert collect_garbage(store, settings, SystemClock()).entries == 0
    assert not store.leases.info(PUSH_LEASE).held(store.now())


def test_a_sync_is_refused_while_gc_holds_the_leases(
    store: Tracker, make_engine: EngineFactory
) -> None:
    manual_trips(store, 1)
    engine = make_engine()
    # gc's own lease is held with the very helper a sync uses, under another owner.
    with _leases(store, PUSH_LEASE):
        report = engine.run(push=True, pull=False)
    assert isinstance(report.failures["push"], AlreadyRunningError)
    assert store.journal.counts().pending == 1


@pytest.fixture
def service(home: Path, store: Tracker, server: SandboxServer) -> Iterator[SyncService]:
    settings = Settings(
        home=home,
        mileage=fast_mileage(server.tight_url),
        schedule=ScheduleSettings(push_interval=0.5, jitter=0, gc_interval=3600),
        journal=JournalSettings(retention_days=0),
    )
    with SyncEngine(settings, store) as engine:
        service = SyncService(engine, watch_interval=0.2)
        yield service
        service.stop()


def test_the_service_runs_gc_beside_its_sync_jobs(store: Tracker, service: SyncService) -> None:
    ids = manual_trips(store, 3)
    assert push(service.engine).synced == 3
    service.start()
    assert service.next_runs()["gc"] is not None
    assert wait_for(lambda: service.state.gc.last_report is not None, 10)
    report = service.state.gc.last_report
    assert report is not None and report["entries"] == 3 and not report["vacuumed"]
    for trip in ids:
        assert store.trips.get(trip).sync_state == "synced"
        assert [e.event for e in store.journal.history(trip)[1]] == [
            "queued save",
            "recorded",  # the first link of the trip's history chain
            "synced",
        ]

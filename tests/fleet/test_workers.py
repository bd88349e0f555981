"""Several workers on one PostgreSQL store: claims that never wait for one another (``FOR
UPDATE SKIP LOCKED`` under a shared write lock), counts split by server process so that no
two claims queue on one row, and the store's other writers still one at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sync.clock import SystemClock
from sync.engine import MILEAGE_PULL_LEASE, SyncEngine
from sync.errors import AlreadyRunningError
from sync.lease import HeldLease
from sync.sandbox import Sandbox, SandboxServer
from sync.settings import Settings
from sync.tight.report import PushReport
from tests.helpers.migrations import migrate
from tests.helpers.remote import KEY, fast_mileage, push
from tests.helpers.store import claim, manual_trips
from tracker import claims
from tracker.db import create_pg_engine
from tracker.errors import DatabaseBusyError
from tracker.store import Tracker
from tracker.tally import compact, read_tally, recount

LEASE = timedelta(minutes=5)


@pytest.fixture
def workers(pg_url: str) -> Iterator[tuple[Tracker, Tracker]]:
    """Two stores on one database, as two worker processes see it; a lock wait of more
    than half a second is an error (a wait is what these tests must not see)."""
    with (
        Tracker.open_url(pg_url, timezone="UTC", busy_timeout=0.5) as a,
        Tracker.open_url(pg_url, timezone="UTC", busy_timeout=0.5) as b,
    ):
        yield a, b


def test_a_claim_never_waits_for_another_workers_open_claim(
    workers: tuple[Tracker, Tracker],
) -> None:
    a, b = workers
    manual_trips(a, 6)
    with a.db.write(shared=True) as s:
        # Worker a's claim is still open (its rows and its counts locked) ...
        mine = claims.claim(s, "worker-a", 3, LEASE, a.db.now())
        # ... and worker b claims the rest meanwhile, without waiting for it.
        theirs = claim(b, "worker-b", 10, LEASE)
    assert len(mine) == 3 and len(theirs) == 3
    assert not {c.seq for c in mine} & {c.seq for c in theirs}
    counts = a.journal.counts()
    assert (counts.pending, counts.in_flight) == (0, 6)


def test_an_edit_waits_for_the_pushers_steps_and_they_for_it(
    workers: tuple[Tracker, Tracker],
) -> None:
    # The store's other writers keep the write lock to themselves: an edit never coalesces
    # into an entry a claim is taking at that moment.
    a, b = workers
    (trip_id,) = manual_trips(a, 1)
    with a.db.write(shared=True) as s:
        claims.claim(s, "worker-a", 1, LEASE, a.db.now())
        with pytest.raises(DatabaseBusyError):
            b.trips.edit(trip_id, {"notes": "while a claim is open"})
    b.trips.edit(trip_id, {"notes": "after it"})
    entries, _ = b.journal.history(trip_id)
    assert [e.state for e in entries] == ["in_flight", "pending"]


def test_counts_split_by_process_add_up_and_fold_back(
    workers: tuple[Tracker, Tracker],
) -> None:
    a, b = workers
    manual_trips(a, 4)
    claim(b, "worker-b", 2, LEASE)
    with a.db.read() as s:
        conn = s.connection()
        rows = conn.exec_driver_sql("SELECT count(*) FROM tally").scalar_one()
        assert read_tally(conn) == recount(conn)
    with a.db.write() as s:
        conn = s.connection()
        assert compact(conn) > 0
        assert conn.exec_driver_sql("SELECT count(*) FROM tally").scalar_one() < rows
        assert read_tally(conn) == recount(conn)
    assert read_tally_of(a)["journal:in_flight"] == 2


def read_tally_of(store: Tracker) -> dict[str, int]:
    with store.db.read() as s:
        return read_tally(s.connection())


def test_the_split_counts_migrate_down_and_up_again(pg_url: str) -> None:
    """0019 down folds every count into one row (no shard column, 0012's triggers back); up
    splits them again; the counts stay equal to a recount throughout."""
    with Tracker.open_url(pg_url, timezone="UTC") as a, Tracker.open_url(pg_url) as b:
        manual_trips(a, 3)
        claim(b, "worker-b", 2, LEASE)
    engine = create_pg_engine(pg_url)
    try:
        for target in ("0018", "0019"):
            with engine.connect() as conn, conn.begin():
                migrate(conn, target)
                assert read_tally(conn) == recount(conn)
                rows, keys = conn.exec_driver_sql(
                    "SELECT count(*), count(DISTINCT key) FROM tally"
                ).one()
                assert rows == keys
                if target == "0018":
                    # 0012's triggers again: a change moves the one row of its count.
                    conn.exec_driver_sql("UPDATE journal SET state = 'pending'")
                    assert read_tally(conn) == recount(conn)
    finally:
        engine.dispose()
    with Tracker.open_url(pg_url, timezone="UTC") as store:
        manual_trips(store, 1)
        claim(store, "worker-c", 10, LEASE)
        with store.db.read() as s:
            assert read_tally(s.connection()) == recount(s.connection())


def test_two_workers_push_one_backlog_side_by_side_each_trip_once(
    pg_url: str, server: SandboxServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Worker a holds its first batch until worker b has claimed one too: both push at once
    (on SQLite the second would be refused, one pusher per file); every trip is stored once."""
    a_claimed, b_claimed = threading.Event(), threading.Event()

    def hold_first_batch(point: str) -> None:
        if point == "after_claim" and not a_claimed.is_set():
            a_claimed.set()
            assert b_claimed.wait(timeout=60), "worker b never claimed beside worker a"

    def note_claim(point: str) -> None:
        if point == "after_claim":
            b_claimed.set()

    mileage = fast_mileage(server.tight_url, batch_size=10)
    settings = Settings(home=tmp_path / "home", mileage=mileage)
    with (
        Tracker.open_url(pg_url, timezone="UTC") as a,
        Tracker.open_url(pg_url, timezone="UTC") as b,
    ):
        ids = manual_trips(a, 60)
        with (
            SyncEngine(settings, a, hook=hold_first_batch) as first,
            SyncEngine(settings, b, hook=note_claim) as second,
        ):
            reports: dict[str, PushReport] = {}
            worker = threading.Thread(target=lambda: reports.update(a=push(first)))
            worker.start()
            assert a_claimed.wait(timeout=60)
            reports["b"] = push(second)
            worker.join(timeout=60)
            assert not worker.is_alive()
        assert reports["a"].synced > 0 and reports["b"].synced > 0
        assert reports["a"].synced + reports["b"].synced == len(ids)
        counts = a.journal.counts()
        assert (counts.pending, counts.in_flight, counts.synced) == (0, 0, len(ids))
        with a.db.read() as s:
            leases = s.connection().exec_driver_sql("SELECT count(*) FROM lease").scalar_one()
        assert leases == 0  # each worker's lease went with its run
    for trip_id in ids:
        assert len(sandbox.records_with_custom(KEY, trip_id)) == 1


def test_a_worker_whose_walk_is_taken_only_pushes(
    pg_url: str, server: SandboxServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    """One worker at a time reads Tight's changes; another's run says so and still pushes."""
    settings = Settings(home=tmp_path / "home", mileage=fast_mileage(server.tight_url))
    with Tracker.open_url(pg_url, timezone="UTC") as store:
        ids = manual_trips(store, 3)
        walking = HeldLease(
            store.leases, MILEAGE_PULL_LEASE, LEASE, SystemClock(), busy=lambda held: "busy"
        )
        with walking, SyncEngine(settings, store) as engine:
            report = engine.run(push=True, pull=True)
        failure = report.failures.get("mileage")
        assert isinstance(failure, AlreadyRunningError)
        assert "another worker" in str(failure) and "only pushes" in str(failure)
        assert report.push is not None and report.push.synced == len(ids)
        with SyncEngine(settings, store) as engine:
            report = engine.run(push=True, pull=True)  # the walk is free again
        assert not report.failures and report.mileage is not None
    assert all(len(sandbox.records_with_custom(KEY, i)) == 1 for i in ids)

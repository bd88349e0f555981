"""Several workers on one PostgreSQL store: claims that never wait for one another (``FOR
UPDATE SKIP LOCKED`` under a shared write lock), counts split by server process so that no
two claims queue on one row, and the store's other writers still one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers.store import claim, manual_trips
from tracker import claims
from tracker.db import create_pg_engine
from tracker.errors import DatabaseBusyError
from tracker.schema import read_revision
from tracker.store import Tracker
from tracker.tally import compact, read_tally, recount

LEASE = timedelta(minutes=5)
ROOT = Path(__file__).resolve().parents[2]


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
    from alembic import command
    from alembic.config import Config

    with Tracker.open_url(pg_url, timezone="UTC") as a, Tracker.open_url(pg_url) as b:
        manual_trips(a, 3)
        claim(b, "worker-b", 2, LEASE)
    engine = create_pg_engine(pg_url)
    try:
        for step, target in ((command.downgrade, "0018"), (command.upgrade, "0019")):
            with engine.connect() as conn, conn.begin():
                cfg = Config()
                cfg.set_main_option("script_location", str(ROOT / "tracker" / "migrations"))
                cfg.attributes["connection"] = conn
                step(cfg, target)
                assert read_revision(conn) == target
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

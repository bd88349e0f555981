"""Counts kept by triggers (tracker.tally, migration 0012): equal to a recount after every
kind of change, and read without scanning the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, text

from tests.helpers.store import BOTH_BACKENDS, claim, manual_trips, record
from tests.helpers.tally import pg_tally_drifts, tally_drifts
from tracker.outcomes import Parked, Synced
from tracker.store import Tracker
from tracker.tally import read_tally, recount


def _counts(store: Tracker) -> tuple[dict[str, int], dict[str, int]]:
    with store.db.engine.connect() as conn:
        return read_tally(conn), recount(conn)


def _shift(store: Tracker, backend: str, key: str, by: int) -> None:
    """Change a kept count by hand, as a bug in a trigger would: its one row on SQLite, one
    of its rows on PostgreSQL (a key has a row per shard there, folded by gc)."""
    sql = "UPDATE tally SET n = n + :by WHERE key = :key"
    if backend == "postgres":
        sql += " AND shard = (SELECT min(shard) FROM tally WHERE key = :key)"
    with store.db.write() as s:
        s.connection().execute(text(sql), {"by": by, "key": key})


@BOTH_BACKENDS
def test_the_kept_counts_follow_every_kind_of_change(store: Tracker) -> None:
    ids = manual_trips(store, 8)
    store.trips.start({})  # a recording trip
    first = claim(store, "pusher", 4, timedelta(minutes=5))  # in flight
    record(store, "pusher", {first[0].seq: Parked("INVALID_VALUE", "no")})
    record(store, "pusher", {first[1].seq: Synced(remote_id="mlg_1")})
    store.outbox.release("pusher", [first[2].seq], in_doubt=True)  # in doubt, pending again
    store.trips.delete(ids[7])  # a tombstone
    store.trips.edit(ids[5], {"distance": "9"})
    store.parked.drop(first[0].seq)
    kept, counted = _counts(store)
    assert kept == counted
    assert kept["trip:active"] == 8  # 9 trips, one deleted
    assert kept["journal:in_doubt"] == 1
    assert (kept["journal:synced"], kept["journal:dropped"]) == (1, 1)
    counts = store.journal.counts()
    assert (counts.in_flight, counts.in_doubt, counts.parked) == (1, 1, 0)
    assert store.trips.count() == 8


@BOTH_BACKENDS
def test_a_drifted_count_is_found(store: Tracker, store_url: str, backend: str) -> None:
    manual_trips(store, 2)
    _shift(store, backend, "journal:pending", 1)
    # The check run after every test: over the files of a folder, or on one database.
    if backend == "postgres":
        where, drifts = store_url, pg_tally_drifts(store_url)
    else:
        where, drifts = str(store.path), tally_drifts(store.path.parent)
    assert list(drifts) == [where]
    kept, counted = drifts[where]
    assert (kept["journal:pending"], counted["journal:pending"]) == (3, 2)
    _shift(store, backend, "journal:pending", -1)  # the test leaves it true


# SQLite only: its query plans (EXPLAIN QUERY PLAN); PostgreSQL's depend on its statistics.
def test_status_reads_scan_no_journal_trip_or_cost_table_and_sort_nothing(
    store: Tracker,
) -> None:
    manual_trips(store, 30)
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(store.db.engine, "before_cursor_execute", seen)
    try:
        store.journal.counts()
        store.trips.count()
        store.journal.last_error()
        store.journal.next_attempt_at()
        store.costs.counts()
    finally:
        event.remove(store.db.engine, "before_cursor_execute", seen)
    reads = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) >= 5
    with store.db.engine.connect() as conn:
        for statement, parameters in reads:
            explain = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = [r[-1] for r in explain]
            scans = ("SCAN journal", "SCAN trip", "SCAN cost ", "USE TEMP B-TREE")
            # The latest error: the first entry of a partial index of entries with an error.
            read_one = "SCAN journal USING INDEX ix_journal_error"
            assert not any(s.startswith(scans) and s != read_one for s in plan), (statement, plan)

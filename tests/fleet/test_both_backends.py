"""The first store tests on both backends: a SQLite file and a real PostgreSQL database
(``any_store``, tests/conftest.py). Each store left is checked after the test for its tally
and history chain, on PostgreSQL as on SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.store import claim, manual_trips, record
from tracker.db import qmark_to_format, redact_url
from tracker.outcomes import Parked, Synced
from tracker.schema import HEAD, read_revision
from tracker.store import Tracker
from tracker.tally import read_tally, recount

# The write tests, on both backends (what still runs on SQLite only: docs/decisions.md,
# "Fleet mode: work left").
WRITES_READY = pytest.mark.parametrize("any_store_url", ["sqlite", "postgres"], indirect=True)


@WRITES_READY
def test_add_edit_delete_list_show(any_store: Tracker) -> None:
    ids = manual_trips(any_store, 3)
    any_store.trips.edit(ids[0], {"distance": "7.5"})
    any_store.trips.delete(ids[1])
    assert float(any_store.trips.get(ids[0]).distance) == 7.5
    listed = {t.id for t in any_store.trips.list()}
    assert listed == {ids[0], ids[2]}
    assert any_store.trips.get(ids[2]).id == ids[2]


@WRITES_READY
def test_journal_counts_and_tally(any_store: Tracker) -> None:
    ids = manual_trips(any_store, 4)
    any_store.trips.delete(ids[0])
    counts = any_store.journal.counts()
    assert counts.pending >= 3
    with any_store.db.read() as s:
        conn = s.connection()
        assert read_tally(conn) == recount(conn)
        assert read_tally(conn)["trip:active"] == 3


@WRITES_READY
def test_claims_do_not_overlap(any_store: Tracker) -> None:
    manual_trips(any_store, 5)
    first = claim(any_store, "worker-a", 3, timedelta(minutes=5))
    second = claim(any_store, "worker-b", 10, timedelta(minutes=5))
    assert len(first) == 3
    assert len(second) == 2
    assert not {c.seq for c in first} & {c.seq for c in second}


@WRITES_READY
def test_verify_clean_after_writes(any_store: Tracker) -> None:
    ids = manual_trips(any_store, 2)
    any_store.trips.edit(ids[0], {"distance": "3"})
    assert any_store.verify_history().ok


def test_qmark_to_format_leaves_quoted_text_alone() -> None:
    assert qmark_to_format("SELECT '?', x FROM t WHERE a = ? AND b LIKE '%z'") == (
        "SELECT '?', x FROM t WHERE a = %s AND b LIKE '%%z'"
    )


def test_redact_url_hides_the_password() -> None:
    assert redact_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_fresh_store_is_at_head_with_its_tally(any_store: Tracker) -> None:
    with any_store.db.read() as s:
        conn = s.connection()
        assert read_revision(conn) == HEAD
        assert read_tally(conn) == recount(conn)
    assert any_store.journal.counts().pending == 0


def test_reopening_a_postgres_store_migrates_nothing(pg_url: str) -> None:
    with Tracker.open_url(pg_url, timezone="UTC") as store:
        with store.db.read() as s:
            assert read_revision(s.connection()) == HEAD


@WRITES_READY
def test_answers_are_recorded(any_store: Tracker) -> None:
    """Synced and parked answers (the pusher's record step) store the same on both."""
    ids = manual_trips(any_store, 2)
    held = claim(any_store, "worker-a", 2, timedelta(minutes=5))
    by_trip = {c.trip_id: c.seq for c in held}
    verdicts = {
        by_trip[ids[0]]: Synced("mlg_1", {"id": "mlg_1"}),
        by_trip[ids[1]]: Parked("invalid", "distance refused", "distance"),
    }
    assert sorted(record(any_store, "worker-a", verdicts)) == sorted(verdicts)
    assert any_store.trips.get(ids[0]).sync_state == "synced"
    assert any_store.trips.get(ids[1]).sync_state == "parked"
    assert any_store.journal.counts().pending == 0


@WRITES_READY
def test_a_dead_workers_claims_are_taken_over_and_its_creates_reconciled(
    any_store: Tracker,
) -> None:
    """An expired claim returns to pending; its creates become in doubt, once, with one
    history row each; another worker then takes them, and a second expiry adds no row."""
    ids = manual_trips(any_store, 2)
    dead = claim(any_store, "worker-a", 2, timedelta(seconds=-1))  # expired at once
    assert len(dead) == 2 and not any(c.in_doubt for c in dead)
    also_dead = claim(any_store, "worker-b", 10, timedelta(seconds=-1))
    assert sorted(c.trip_id for c in also_dead) == sorted(ids)
    assert all(c.in_doubt for c in also_dead)
    taken = claim(any_store, "worker-c", 10, timedelta(minutes=5))
    assert sorted(c.trip_id for c in taken) == sorted(ids)
    assert all(c.in_doubt for c in taken)
    assert not claim(any_store, "worker-d", 10, timedelta(minutes=5))  # all held by c
    for trip_id in ids:
        _, events = any_store.journal.history(trip_id)
        expired = [e.detail for e in events if e.event == "lease expired"]
        assert expired == ["in doubt: reconcile first"]


@WRITES_READY
def test_gc_removes_synced_entries_past_retention(any_store: Tracker) -> None:
    """gc on both backends (PostgreSQL: no file pages to count; it folds the tally's rows
    per server process back into one per count, and VACUUM runs outside a transaction)."""
    ids = manual_trips(any_store, 3)
    held = claim(any_store, "worker-a", 3, timedelta(minutes=5))
    record(any_store, "worker-a", {c.seq: Synced(f"mlg_{i}", None) for i, c in enumerate(held)})
    dry = any_store.gc(timedelta(0), dry_run=True)
    assert dry.entries == 3
    assert any_store.journal.counts().synced == 3  # rolled back
    done = any_store.gc(timedelta(0), vacuum=True)
    assert done.entries == 3 and done.vacuumed
    assert any_store.journal.counts().synced == 0
    with any_store.db.read() as s:
        conn = s.connection()
        assert read_tally(conn) == recount(conn)
        if any_store.db.postgres:
            keys = conn.exec_driver_sql("SELECT count(*), count(DISTINCT key) FROM tally").one()
            assert keys[0] == keys[1]  # one row per count again
    assert all(any_store.trips.get(i).sync_state == "synced" for i in ids)


@WRITES_READY
def test_bulk_trips_take_journal_seqs_that_later_changes_follow(any_store: Tracker) -> None:
    """``Tracker.add_trips`` gives each trip its entry with an explicit seq (on PostgreSQL
    from the column's sequence): a chunk rolled back writes nothing, and a trip added alone
    afterwards is ordered after every bulk one."""
    before = any_store.trips.add({"date": "2026-01-01", "distance": "1"})
    rows: list[dict[str, str]] = [
        {"date": "2026-03-01", "distance": str(n), "description": f"t{n}"} for n in range(5)
    ]
    bad = [*rows, {"date": "2026-03-02", "distance": "1", "car_id": "no-such-car"}]
    report = any_store.add_trips(bad, chunk_size=10)
    assert (report.added, report.stopped_at) == (0, 6)
    assert any_store.add_trips(rows, chunk_size=2).added == 5
    after = any_store.trips.add({"date": "2026-04-01", "distance": "2"})
    entries = claim(any_store, "worker-a", 100, timedelta(minutes=5))
    seqs = [c.seq for c in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == 7
    by_seq = [c.trip_id for c in entries]
    assert by_seq[0] == before.id and by_seq[-1] == after.id
    described = [any_store.trips.get(t).description for t in by_seq[1:-1]]
    assert described == [f"t{n}" for n in range(5)]
    assert any_store.verify_history().ok


def test_claims_are_held_before_a_send_and_given_back_refunded(any_store: Tracker) -> None:
    manual_trips(any_store, 3)
    lease = timedelta(minutes=5)
    mine = [c.seq for c in claim(any_store, "worker-a", 2, lease)]
    assert any_store.outbox.hold("worker-a", mine, lease)
    assert not any_store.outbox.hold("worker-b", mine, lease)  # not b's: b must not send
    assert any_store.outbox.release("worker-a", mine, in_doubt=True) == 2
    with any_store.db.read() as s:
        attempts = (
            s.connection()
            .exec_driver_sql("SELECT attempts FROM journal WHERE state = 'pending' ORDER BY seq")
            .scalars()
            .all()
        )
    assert attempts == [0, 0, 0]  # the claims' attempts refunded
    assert not any_store.outbox.hold("worker-a", mine, lease)  # given back: no longer held

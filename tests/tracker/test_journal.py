"""The change journal: same-transaction writes, coalescing, leases, fencing, ordering."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from tests.tracker.conftest import StepClock
from tracker.enums import EntryOp
from tracker.errors import InvalidInputError
from tracker.journal import Parked, Retry, Synced
from tracker.store import Tracker

LEASE = timedelta(minutes=5)


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _manual(store: Tracker, **extra: object) -> str:
    return store.add_trip({"date": "2026-03-01", "distance": "10", **extra}).id


def test_every_change_writes_its_entry_in_the_same_transaction(
    store: Tracker, db_path: Path
) -> None:
    trip = _manual(store)
    assert _rows(db_path, "SELECT trip_id, op, state FROM journal") == [(trip, "save", "pending")]
    # A failure after the change but inside the transaction leaves neither behind.
    with pytest.raises(InvalidInputError):
        store.add_trip({"date": "2026-03-01", "distance": "10", "car_id": "no-such-car"})
    assert len(_rows(db_path, "SELECT * FROM trip")) == 1
    assert len(_rows(db_path, "SELECT * FROM journal")) == 1


def test_no_orphans_either_way(store: Tracker, db_path: Path) -> None:
    for _ in range(5):
        trip = _manual(store)
        store.edit_trip(trip, {"description": "x"})
    store.delete_trip(trip)
    orphans_trip = _rows(
        db_path,
        "SELECT id FROM trip WHERE id NOT IN (SELECT trip_id FROM journal)",
    )
    orphans_entry = _rows(
        db_path, "SELECT seq FROM journal WHERE trip_id NOT IN (SELECT id FROM trip)"
    )
    assert orphans_trip == [] and orphans_entry == []


def test_edits_before_a_sync_coalesce_into_one_entry(store: Tracker) -> None:
    trip = _manual(store)
    for text in ("a", "b", "c"):
        store.edit_trip(trip, {"description": text})
    assert store.journal_counts().pending == 1
    (claimed,) = store.claim("p", 10, LEASE)
    assert claimed.trip_id == trip
    assert store.get_trip(trip).description == "c"  # the push reads the latest state


def test_edit_while_in_flight_is_not_lost_and_goes_next(store: Tracker) -> None:
    trip = _manual(store)
    (first,) = store.claim("p", 10, LEASE)
    store.edit_trip(trip, {"description": "edited during push"})
    # The new entry waits for the in-flight one.
    assert store.claim("p", 10, LEASE) == []
    assert store.apply("p", [Synced(first.seq, "mlg_1", {"id": "mlg_1"})]) == [first.seq]
    (second,) = store.claim("p", 10, LEASE)
    assert second.seq > first.seq
    assert second.remote_id == "mlg_1"  # now an update, with the stored remote id
    assert store.get_trip(trip).sync_state == "in_flight"


def test_recording_trips_are_not_claimed_until_stopped(store: Tracker) -> None:
    live = store.start_trip()
    assert store.claim("p", 10, LEASE) == []
    store.stop_trip(live.id)
    assert [c.trip_id for c in store.claim("p", 10, LEASE)] == [live.id]


def test_claim_order_is_the_sequence_not_the_clock(store: Tracker, clock: StepClock) -> None:
    first = _manual(store)
    clock.advance(-3600)  # the wall clock steps back an hour
    second = _manual(store)
    assert [c.trip_id for c in store.claim("p", 10, LEASE)] == [first, second]


def test_parked_entry_is_requeued_by_an_edit(store: Tracker) -> None:
    trip = _manual(store)
    (c,) = store.claim("p", 10, LEASE)
    store.apply("p", [Parked(c.seq, "INVALID_VALUE", "description too long", "description")])
    assert store.get_trip(trip).sync_state == "parked"
    (entry,) = store.parked()
    assert (entry.error_type, entry.error_param) == ("INVALID_VALUE", "description")
    assert store.claim("p", 10, LEASE) == []  # never retried automatically
    store.edit_trip(trip, {"description": "short"})
    assert store.parked() == []
    (again,) = store.claim("p", 10, LEASE)
    assert again.seq == c.seq and again.attempts == 1  # attempts reset by the edit


def test_parked_retry_and_drop(store: Tracker) -> None:
    a, b = _manual(store), _manual(store)
    ca, cb = store.claim("p", 10, LEASE)
    store.apply("p", [Parked(ca.seq, "REQUIRED", "x", "date"), Parked(cb.seq, "REQUIRED", "y")])
    store.retry_parked(ca.seq)
    store.drop_parked(cb.seq)
    assert [c.trip_id for c in store.claim("p", 10, LEASE)] == [a]
    assert store.journal_counts().dropped == 1
    assert store.get_trip(b).sync_state == "dropped"


def test_retry_waits_for_its_time(store: Tracker, clock: StepClock) -> None:
    _manual(store)
    (c,) = store.claim("p", 10, LEASE)
    at = clock() + timedelta(seconds=30)
    store.apply("p", [Retry(c.seq, at, "UNKNOWN_ERROR", "server hiccup")])
    assert store.claim("p", 10, LEASE) == []
    clock.advance(31)
    (again,) = store.claim("p", 10, LEASE)
    assert again.attempts == 2


def test_expired_lease_returns_entries_and_flags_creates_in_doubt(
    store: Tracker, clock: StepClock
) -> None:
    trip = _manual(store)
    (c,) = store.claim("crashed", 10, LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    (again,) = store.claim("next", 10, LEASE)
    assert again.seq == c.seq and again.in_doubt is True
    assert store.get_trip(trip).sync_state == "in_doubt"
    # The crashed pusher wakes up: its results are fenced off.
    assert store.apply("crashed", [Synced(c.seq, "mlg_dup")]) == []
    assert store.get_trip(trip).remote_id is None
    # ... and so is its reconciliation; the holder's is recorded.
    store.push_step("crashed", resolved={c.seq: "mlg_stale"}, limit=0, lease_for=LEASE)
    assert store.get_trip(trip).remote_id is None
    store.push_step("next", resolved={c.seq: "mlg_found"}, limit=0, lease_for=LEASE)
    assert store.get_trip(trip).remote_id == "mlg_found"
    assert store.get_trip(trip).sync_state == "in_flight"  # no longer in doubt


def test_expired_update_is_not_in_doubt(store: Tracker, clock: StepClock) -> None:
    trip = _manual(store)
    (c,) = store.claim("p", 10, LEASE)
    store.apply("p", [Synced(c.seq, "mlg_1")])
    store.edit_trip(trip, {"notes": "n"})
    store.claim("p", 10, LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    (again,) = store.claim("q", 10, LEASE)
    assert again.in_doubt is False  # an update re-sent is harmless


def test_release_gives_entries_back(store: Tracker) -> None:
    _manual(store)
    (c,) = store.claim("p", 10, LEASE)
    assert store.release("p", [c.seq], in_doubt=True) == 1
    (again,) = store.claim("p", 10, LEASE)
    assert again.in_doubt is True


def test_delete_coalesces_with_a_pending_save(store: Tracker) -> None:
    trip = _manual(store)
    store.delete_trip(trip)
    (c,) = store.claim("p", 10, LEASE)
    assert c.op == EntryOp.DELETE and c.remote_id is None
    store.apply("p", [Synced(c.seq, detail="never pushed: nothing to delete")])
    assert store.get_trip(trip).sync_state == "local"


def test_later_success_supersedes_an_earlier_parked_entry(store: Tracker) -> None:
    trip = _manual(store)
    (c1,) = store.claim("p", 10, LEASE)
    store.edit_trip(trip, {"description": "fixed"})  # new entry while c1 is in flight
    store.apply("p", [Parked(c1.seq, "INVALID_VALUE", "bad description", "description")])
    (c2,) = store.claim("p", 10, LEASE)
    store.apply("p", [Synced(c2.seq, "mlg_9")])
    assert store.parked() == []
    assert store.get_trip(trip).sync_state == "synced"


def test_history_tells_the_story(store: Tracker) -> None:
    trip = _manual(store)
    (c,) = store.claim("p", 10, LEASE)
    store.apply("p", [Synced(c.seq, "mlg_1")])
    entries, events = store.history(trip)
    assert [e.state for e in entries] == ["synced"]
    assert [e.event for e in events] == ["queued save", "claimed", "synced"]
    assert events[-1].detail == "mlg_1"


def test_status_counts_and_oldest_pending(store: Tracker, clock: StepClock) -> None:
    first_at = clock()
    _manual(store)
    clock.advance(60)
    _manual(store)
    counts = store.journal_counts()
    assert (counts.pending, counts.in_flight, counts.synced) == (2, 0, 0)
    assert counts.oldest_pending_at == first_at

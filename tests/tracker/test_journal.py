"""The change journal: same-transaction writes, coalescing, leases, fencing, ordering."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.store import BOTH_BACKENDS, StepClock, claim, record
from tracker.enums import EntryOp
from tracker.errors import InvalidInputError
from tracker.outcomes import Parked, Retry, Synced
from tracker.store import Tracker

pytestmark = BOTH_BACKENDS  # the same journal on a SQLite file and on PostgreSQL

LEASE = timedelta(minutes=5)


def _rows(store: Tracker, sql: str) -> list[tuple[object, ...]]:
    with store.db.read() as s:
        return [tuple(row) for row in s.connection().exec_driver_sql(sql)]


def _manual(store: Tracker, **extra: object) -> str:
    return store.trips.add({"date": "2026-03-01", "distance": "10", **extra}).id


def test_every_change_writes_its_entry_in_the_same_transaction(
    store: Tracker,
) -> None:
    trip = _manual(store)
    assert _rows(store, "SELECT trip_id, op, state FROM journal") == [(trip, "save", "pending")]
    # A failure after the change but inside the transaction leaves neither behind.
    with pytest.raises(InvalidInputError):
        store.trips.add({"date": "2026-03-01", "distance": "10", "car_id": "no-such-car"})
    assert len(_rows(store, "SELECT * FROM trip")) == 1
    assert len(_rows(store, "SELECT * FROM journal")) == 1


def test_no_orphans_either_way(store: Tracker) -> None:
    for _ in range(5):
        trip = _manual(store)
        store.trips.edit(trip, {"description": "x"})
    store.trips.delete(trip)
    orphans_trip = _rows(
        store,
        "SELECT id FROM trip WHERE id NOT IN (SELECT trip_id FROM journal)",
    )
    orphans_entry = _rows(
        store, "SELECT seq FROM journal WHERE trip_id NOT IN (SELECT id FROM trip)"
    )
    assert orphans_trip == [] and orphans_entry == []


def test_edits_before_a_sync_coalesce_into_one_entry(store: Tracker) -> None:
    trip = _manual(store)
    for text in ("a", "b", "c"):
        store.trips.edit(trip, {"description": text})
    assert store.journal.counts().pending == 1
    (claimed,) = claim(store, "p", 10, LEASE)
    assert claimed.trip_id == trip
    assert store.trips.get(trip).description == "c"  # the push reads the latest state


def test_edit_while_in_flight_is_not_lost_and_goes_next(store: Tracker) -> None:
    trip = _manual(store)
    (first,) = claim(store, "p", 10, LEASE)
    store.trips.edit(trip, {"description": "edited during push"})
    # The new entry waits for the in-flight one.
    assert claim(store, "p", 10, LEASE) == []
    assert record(store, "p", {first.seq: Synced("mlg_1", {"id": "mlg_1"})}) == [first.seq]
    (second,) = claim(store, "p", 10, LEASE)
    assert second.seq > first.seq
    assert second.remote_id == "mlg_1"  # now an update, with the stored remote id
    assert store.trips.get(trip).sync_state == "in_flight"


def test_recording_trips_are_not_claimed_until_stopped(store: Tracker) -> None:
    live = store.trips.start()
    assert claim(store, "p", 10, LEASE) == []
    store.trips.stop(live.id)
    assert [c.trip_id for c in claim(store, "p", 10, LEASE)] == [live.id]


def test_claim_order_is_the_sequence_not_the_clock(store: Tracker, clock: StepClock) -> None:
    first = _manual(store)
    clock.advance(-3600)  # the wall clock steps back an hour
    second = _manual(store)
    assert [c.trip_id for c in claim(store, "p", 10, LEASE)] == [first, second]


def test_parked_entry_is_requeued_by_an_edit(store: Tracker) -> None:
    trip = _manual(store)
    (c,) = claim(store, "p", 10, LEASE)
    record(store, "p", {c.seq: Parked("INVALID_VALUE", "description too long", "description")})
    assert store.trips.get(trip).sync_state == "parked"
    (entry,) = store.parked.list()
    assert (entry.error_type, entry.error_param) == ("INVALID_VALUE", "description")
    assert claim(store, "p", 10, LEASE) == []  # never retried automatically
    store.trips.edit(trip, {"description": "short"})
    assert store.parked.list() == []
    (again,) = claim(store, "p", 10, LEASE)
    assert again.seq == c.seq and again.attempts == 1  # attempts reset by the edit


def test_parked_retry_and_drop(store: Tracker) -> None:
    a, b = _manual(store), _manual(store)
    ca, cb = claim(store, "p", 10, LEASE)
    record(store, "p", {ca.seq: Parked("REQUIRED", "x", "date"), cb.seq: Parked("REQUIRED", "y")})
    store.parked.retry(ca.seq)
    store.parked.drop(cb.seq)
    assert [c.trip_id for c in claim(store, "p", 10, LEASE)] == [a]
    assert store.journal.counts().dropped == 1
    assert store.trips.get(b).sync_state == "dropped"


def test_retry_waits_for_its_time(store: Tracker, clock: StepClock) -> None:
    _manual(store)
    (c,) = claim(store, "p", 10, LEASE)
    at = clock() + timedelta(seconds=30)
    record(store, "p", {c.seq: Retry("UNKNOWN_ERROR", "server hiccup", at=at)})
    assert claim(store, "p", 10, LEASE) == []
    clock.advance(31)
    (again,) = claim(store, "p", 10, LEASE)
    assert again.attempts == 2


def test_expired_lease_returns_entries_and_flags_creates_in_doubt(
    store: Tracker, clock: StepClock
) -> None:
    trip = _manual(store)
    (c,) = claim(store, "crashed", 10, LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    (again,) = claim(store, "next", 10, LEASE)
    assert again.seq == c.seq and again.in_doubt is True
    assert store.trips.get(trip).sync_state == "in_doubt"
    # The crashed pusher wakes up: its results are fenced off.
    assert record(store, "crashed", {c.seq: Synced("mlg_dup")}) == []
    assert store.trips.get(trip).remote_id is None
    # ... and so is its reconciliation; the holder's is recorded.
    store.outbox.step("crashed", resolved={c.seq: "mlg_stale"})
    assert store.trips.get(trip).remote_id is None
    store.outbox.step("next", resolved={c.seq: "mlg_found"})
    assert store.trips.get(trip).remote_id == "mlg_found"
    assert store.trips.get(trip).sync_state == "in_flight"  # no longer in doubt


def test_a_slow_holder_renews_its_expired_lease_unless_another_took_it(
    store: Tracker, clock: StepClock
) -> None:
    # Campaign A8 under load: a pull page outlived the push lease (0.5 s there), nobody else
    # wanted it, and the run gave up its push ("lost the push lease to another process") run
    # after run, so the heal never ended. Only a take-over ends a holder's lease.
    ttl = timedelta(seconds=1)
    fence = store.leases.acquire("push", "slow", ttl)
    assert fence is not None
    clock.advance(5)
    assert store.leases.renew("push", "slow", fence, ttl)
    assert store.leases.info("push").held(store.now())
    clock.advance(5)
    taken = store.leases.acquire("push", "next", ttl)
    assert taken == fence + 1
    assert not store.leases.renew("push", "slow", fence, ttl)
    assert store.leases.info("push").owner == "next"
    store.leases.release("push", "next", taken)
    assert not store.leases.renew("push", "slow", fence, ttl)  # released: not ours either


def test_expired_update_is_not_in_doubt(store: Tracker, clock: StepClock) -> None:
    trip = _manual(store)
    (c,) = claim(store, "p", 10, LEASE)
    record(store, "p", {c.seq: Synced("mlg_1")})
    store.trips.edit(trip, {"notes": "n"})
    claim(store, "p", 10, LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    (again,) = claim(store, "q", 10, LEASE)
    assert again.in_doubt is False  # an update re-sent is harmless


def test_release_gives_entries_back(store: Tracker) -> None:
    _manual(store)
    (c,) = claim(store, "p", 10, LEASE)
    assert store.outbox.release("p", [c.seq], in_doubt=True) == 1
    (again,) = claim(store, "p", 10, LEASE)
    assert again.in_doubt is True


def test_delete_coalesces_with_a_pending_save(store: Tracker) -> None:
    trip = _manual(store)
    store.trips.delete(trip)
    (c,) = claim(store, "p", 10, LEASE)
    assert c.op == EntryOp.DELETE and c.remote_id is None
    record(store, "p", {c.seq: Synced(detail="never pushed: nothing to delete")})
    assert store.trips.get(trip).sync_state == "local"


def test_later_success_supersedes_an_earlier_parked_entry(store: Tracker) -> None:
    trip = _manual(store)
    (c1,) = claim(store, "p", 10, LEASE)
    store.trips.edit(trip, {"description": "fixed"})  # new entry while c1 is in flight
    record(store, "p", {c1.seq: Parked("INVALID_VALUE", "bad description", "description")})
    (c2,) = claim(store, "p", 10, LEASE)
    record(store, "p", {c2.seq: Synced("mlg_9")})
    assert store.parked.list() == []
    assert store.trips.get(trip).sync_state == "synced"


def test_history_tells_the_story(store: Tracker) -> None:
    trip = _manual(store)
    (c,) = claim(store, "p", 10, LEASE)
    record(store, "p", {c.seq: Synced("mlg_1")})
    entries, events = store.journal.history(trip)
    assert [e.state for e in entries] == ["synced"]
    # No row per claim; "recorded" is the first link of the trip's hash chain.
    assert [e.event for e in events] == ["queued save", "recorded", "synced"]
    assert [e.chained for e in events] == [False, True, False]
    assert events[-1].detail == "mlg_1"


def test_status_counts_and_oldest_pending(store: Tracker, clock: StepClock) -> None:
    first_at = clock()
    _manual(store)
    clock.advance(60)
    _manual(store)
    counts = store.journal.counts()
    assert (counts.pending, counts.in_flight, counts.synced) == (2, 0, 0)
    assert counts.oldest_pending_at == first_at

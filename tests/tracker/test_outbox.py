"""The pusher's lean read of claimed trips agrees with the public read model, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers.store import BOTH_BACKENDS, StepClock, claim, manual_trips
from tracker.claims import needs_extension
from tracker.coltypes import utc_text
from tracker.outbox import OutboxPlace, read_outbox_trips
from tracker.store import Tracker
from tracker.views import TripView

LEASE = timedelta(minutes=5)
SHARED = (
    "id",
    "remote_id",
    "date",
    "start_time",
    "end_time",
    "distance",
    "unit",
    "duration_ms",
    "classification",
    "description",
    "notes",
    "car_id",
    "customer_id",
    "class_segment_ids",
    "custom_data",
)


def _same(view: TripView, place: OutboxPlace | None, side: str) -> None:
    expected = getattr(view, side)
    if expected is None:
        assert place is None
        return
    assert place is not None
    assert (place.lat, place.lng, place.address) == (expected.lat, expected.lng, expected.address)


@BOTH_BACKENDS
def test_a_claim_reads_what_trips_by_id_reads(store: Tracker, clock: StepClock) -> None:
    car = store.cars.add({"name": "Golf"})
    full = store.trips.add(
        {
            "start_time": datetime(2026, 3, 1, 6, 59, 30, 250000, tzinfo=UTC),
            "end_time": datetime(2026, 3, 1, 8, 1, tzinfo=UTC),
            "distance": "42.195",
            "unit": "mile",
            "classification": "business",
            "description": "Fair — Halle 4",
            "notes": "two passengers",
            "car_id": car.id,
            "customer_id": "cus_1",
            "class_segment_ids": ["cls_1", "cls_2"],
            "custom_data": {"project": "P-7", "nested": {"n": 1, "none": None}},
            "start": {
                "lat": "52.520008",
                "lng": "13.404954",
                "address": {"city": "Berlin", "phone_work": "+49 30 1"},
            },
            "end": {"lat": "-33.8688", "lng": "151.2093"},
        }
    )
    bare = store.trips.add({"date": "2026-03-02", "distance": "0"})
    live = store.trips.start()
    clock.advance(600)
    store.trips.stop(live.id)
    ids = {full.id, bare.id, live.id}

    step = store.outbox.step("p", claim=10, lease_for=LEASE)

    assert {c.trip_id for c in step.claimed} == ids
    views = store.trips.by_id(sorted(ids))
    for trip_id in ids:
        record, view = step.trips[trip_id], views[trip_id]
        assert {f: getattr(record, f) for f in SHARED} == {f: getattr(view, f) for f in SHARED}
        _same(view, record.start, "start")
        _same(view, record.end, "end")
    assert step.trips[full.id].start_time == datetime(2026, 3, 1, 6, 59, 30, 250000, tzinfo=UTC)
    assert step.trips[bare.id].start is None and step.trips[bare.id].custom_data == {}


@BOTH_BACKENDS
def test_reading_unknown_ids_gives_nothing(store: Tracker) -> None:
    with store.db.write() as s:
        assert read_outbox_trips(s.connection(), ["nope"]) == {}
        assert read_outbox_trips(s.connection(), []) == {}


# ------------------------------------------------------------------ the hold before a send
def test_a_hold_extends_only_claims_with_less_than_nine_tenths_of_their_lease_left() -> None:
    now = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    assert not needs_extension(now + LEASE, now, LEASE)  # just claimed
    assert not needs_extension(now + LEASE * 0.95, now, LEASE)
    assert needs_extension(now + LEASE * 0.85, now, LEASE)  # a wait went by: extend
    assert needs_extension(now - timedelta(seconds=1), now, LEASE)  # expired: the write tells
    assert needs_extension(None, now, LEASE)  # not known: extend


def _expiries(store: Tracker) -> list[str]:
    with store.db.read() as s:
        sql = "SELECT lease_expires_at FROM journal WHERE state = 'in_flight' ORDER BY seq"
        return list(s.connection().exec_driver_sql(sql).scalars().all())


@BOTH_BACKENDS
def test_a_fresh_claim_is_checked_without_a_write_and_a_taken_one_is_refused(
    store: Tracker, clock: StepClock
) -> None:
    manual_trips(store, 3)
    mine = claim(store, "worker-a", 2, LEASE)
    seqs, expires = [c.seq for c in mine], mine[0].lease_expires_at
    before = _expiries(store)
    clock.advance(1)
    assert store.outbox.hold("worker-a", seqs, LEASE, expires=expires) == expires
    assert _expiries(store) == before  # only read: nothing written
    assert store.outbox.hold("worker-b", seqs, LEASE, expires=expires) is None
    # Ended early (its owner taken for dead) and claimed by another: no longer held, even
    # with all its lease known left.
    store.outbox.expire_claims("worker-a")
    clock.advance(1)
    taken = claim(store, "worker-b", 2, LEASE)
    assert [c.seq for c in taken] == seqs
    assert store.outbox.hold("worker-a", seqs, LEASE, expires=expires) is None


@BOTH_BACKENDS
def test_a_claim_past_a_tenth_of_its_lease_is_extended(store: Tracker, clock: StepClock) -> None:
    manual_trips(store, 2)
    mine = claim(store, "worker-a", 2, LEASE)
    seqs, expires = [c.seq for c in mine], mine[0].lease_expires_at
    clock.advance(LEASE.total_seconds() / 5)
    extended = store.outbox.hold("worker-a", seqs, LEASE, expires=expires)
    assert extended == clock.value + LEASE
    assert _expiries(store) == [utc_text(extended)] * 2
    clock.advance(LEASE.total_seconds() * 1.5)  # expired since: a write refuses it
    assert store.outbox.hold("worker-a", seqs, LEASE, expires=extended) is None


@BOTH_BACKENDS
def test_a_peek_shows_what_the_claim_then_takes_and_takes_nothing(store: Tracker) -> None:
    ids = manual_trips(store, 9)
    [held] = claim(store, "pusher", 1, LEASE)  # in flight: its trip's next edit waits
    store.trips.edit(held.trip_id, {"notes": "edited in flight"})
    store.trips.edit(ids[4], {"notes": "edited before its push"})  # coalesced
    store.trips.start({})  # recording: never due
    for limit in (1, 3, 100):
        before = store.journal.counts()
        seen = store.outbox.peek(limit)
        assert store.journal.counts() == before  # nothing taken
        # The attempts made so far: the claim counts one more.
        assert [
            (c.seq, c.trip_id, c.op, c.remote_id, c.in_doubt, c.attempts + 1) for c in seen
        ] == [
            (c.seq, c.trip_id, c.op, c.remote_id, c.in_doubt, c.attempts)
            for c in _claim_then_release(store, limit)
        ]
    assert len(store.outbox.peek(100)) == 8  # 9 trips, less the one in flight (and its edit)
    assert held.trip_id not in {c.trip_id for c in store.outbox.peek(100)}


def _claim_then_release(store: Tracker, limit: int) -> list[Any]:
    taken = claim(store, "probe", limit, LEASE)
    store.outbox.release("probe", [c.seq for c in taken], in_doubt=False)
    return taken

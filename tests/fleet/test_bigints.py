"""64-bit integers on both backends (migrations 0022, 0024): the costs API's integers are
validated as 64-bit and a trip's duration in milliseconds passes 2**31 after 25 days;
SQLite's INTEGER holds them, PostgreSQL's INTEGER (32-bit) did not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tracker.costs import CostIn
from tracker.store import Tracker

BIG = 2**40
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_a_costs_64_bit_integers_are_stored(any_store: Tracker) -> None:
    cost = CostIn(
        id=BIG + 1,
        type_id=BIG + 2,
        cost_type=BIG + 3,
        payment_id=BIG + 4,
        payment_status=BIG + 5,
        last_updated=T0,
        amount=Decimal("2.50"),
        currency="EUR",
        raw={"ID": BIG + 1},
    )
    stored = any_store.costs.store_cost(cost, link_tolerance=timedelta(minutes=5))
    assert stored.inserted == 1
    view = any_store.costs.get(BIG + 1)
    assert (view.type_id, view.cost_type, view.payment_id, view.payment_status) == (
        BIG + 2,
        BIG + 3,
        BIG + 4,
        BIG + 5,
    )


def test_a_recording_left_running_for_a_month_stops(any_store: Tracker) -> None:
    trip = any_store.trips.start({"start_time": T0})
    stopped = any_store.trips.stop(trip.id, end_time=T0 + timedelta(days=30))
    assert stopped.duration_ms == 30 * 86_400_000 > 2**31
    assert any_store.trips.get(trip.id).duration_ms == 30 * 86_400_000

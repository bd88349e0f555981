"""A trip's tier position summed in SQL (exact thousandths) and its lean price: the same
figures as the whole-year arithmetic (``tracker.rates.compute``), on a real SQLite file."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tracker.deductions import _positions, deductions
from tracker.enums import DistanceUnit
from tracker.outbox import read_outbox_trips
from tracker.rates import RateTrip, Rounding, compute, load_schedules
from tracker.rates.compute import price
from tracker.rates.taxyear import tax_year_of
from tracker.store import Tracker

UK = load_schedules()["uk-hmrc"]


def test_price_is_compute_for_one_trip_at_every_position() -> None:
    for before, distance, unit in itertools.product(
        ("0", "9999.999", "10000", "12345.678"), ("0", "0.001", "300", "17.5"), ("km", "mile")
    ):
        trip = RateTrip("t", date(2023, 5, 1), Decimal(distance), DistanceUnit(unit))
        counted = {DistanceUnit.MILE: Decimal(before), DistanceUnit.KM: Decimal(before)}
        lean = price(UK, trip, counted, rounding=Rounding.PER_TRIP)
        earlier = [
            RateTrip("a", date(2023, 4, 10), Decimal(before), DistanceUnit.MILE),
            RateTrip("b", date(2023, 4, 11), Decimal(before), DistanceUnit.KM),
        ]
        whole = compute(UK, [*earlier, trip], rounding=Rounding.PER_TRIP).trip("t")
        assert lean == whole, (before, distance, unit)


def _amounts(store: Tracker, ids: list[str]) -> dict[str, int | None]:
    with store.db.read() as s:
        trips = read_outbox_trips(s.connection(), ids, None)
        owed = deductions(s.connection(), UK, trips.values())
    return {i: owed[i].amount for i in ids}


@pytest.mark.tampers  # a 4-decimal distance only a server copy could hold, written with plain SQL
def test_positions_are_exact_and_a_distance_with_four_decimals_is_summed_as_decimals(
    tmp_path: Path,
) -> None:
    with Tracker.open(tmp_path / "tracker.db", timezone="Europe/London") as store:
        days = [f"2023-04-{d:02d}" for d in range(6, 30)]
        ids = [
            store.trips.add(
                {
                    "date": day,
                    "distance": "999.999",
                    "unit": "mile" if n % 3 else "km",
                    "classification": "business",
                }
            ).id
            for n, day in enumerate(days)
        ]
        trips = [
            RateTrip(
                i,
                date.fromisoformat(d),
                Decimal("999.999"),
                DistanceUnit.MILE if n % 3 else DistanceUnit.KM,
            )
            for n, (i, d) in enumerate(zip(ids, days, strict=True))
        ]
        expected = {
            t.key: int((t.amount or 0) * 100)
            for t in compute(UK, trips, rounding=Rounding.PER_TRIP).trips
        }
        assert _amounts(store, ids) == expected

        # A server copy could hold more decimals than a trip entered here: still exact.
        with store.db.write() as s:
            s.connection().exec_driver_sql(
                "UPDATE trip SET distance = '999.9994' WHERE id = ?", (ids[0],)
            )
        trips[0] = RateTrip(ids[0], trips[0].day, Decimal("999.9994"), trips[0].unit)
        expected = {
            t.key: int((t.amount or 0) * 100)
            for t in compute(UK, trips, rounding=Rounding.PER_TRIP).trips
        }
        assert _amounts(store, ids) == expected
        with store.db.read() as s:
            year = tax_year_of(UK.tax_year, trips[0].day)
            mine = [(t, t.date) for t in read_outbox_trips(s.connection(), ids[:3], None).values()]
            counted = _positions(s.connection(), year, mine)
        assert counted[ids[1]] == {DistanceUnit.KM: Decimal("999.9994"), DistanceUnit.MILE: 0}
        assert counted[ids[2]] == {
            DistanceUnit.KM: Decimal("999.9994"),
            DistanceUnit.MILE: Decimal("999.999"),
        }

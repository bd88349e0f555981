"""Odometer readings: the pure rules (order, the readings of a period, the trips check) and the
store (a real SQLite file): validated, replaced on the same day, nothing written on an error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tracker.errors import InvalidInputError, NotFoundError
from tracker.odometer import (
    OdometerOrderError,
    Reading,
    check_order,
    check_period,
    period_readings,
    to_km,
)
from tracker.store import Tracker

D = dt.date


def r(day: str, reading: str, unit: str = "km") -> Reading:
    return Reading(D.fromisoformat(day), Decimal(reading), unit)


# ----------------------------------------------------------------------------- pure rules


def test_miles_convert_to_km_exactly() -> None:
    assert to_km(Decimal("100"), "mile") == Decimal("160.9344")
    assert to_km(Decimal("7.5"), "km") == Decimal("7.5")
    with pytest.raises(InvalidInputError):
        to_km(Decimal(1), "furlong")


def test_readings_must_grow_with_the_date() -> None:
    have = [r("2025-01-01", "10000"), r("2025-06-01", "15000")]
    check_order(have, r("2025-03-01", "12000"))
    check_order(have, r("2025-03-01", "10000"))  # the car did not move: fine
    check_order(have, r("2025-06-01", "14000"))  # replaces that day's reading: only others count
    with pytest.raises(OdometerOrderError) as lower:
        check_order(have, r("2025-03-01", "9000"))
    assert lower.value.other == have[0]
    assert "lower than the earlier reading 10000 km on 2025-01-01" in str(lower.value)
    with pytest.raises(OdometerOrderError) as higher:
        check_order(have, r("2025-03-01", "15001"))
    assert "higher than the later reading 15000 km on 2025-06-01" in str(higher.value)
    # Compared in km: 9,400 miles is 15,128 km, above the June reading.
    with pytest.raises(OdometerOrderError):
        check_order(have, r("2025-03-01", "9400", "mile"))
    assert isinstance(lower.value, InvalidInputError)  # exit 65 in the CLI


def test_the_readings_that_bound_a_period() -> None:
    readings = [r("2024-12-28", "100"), r("2025-03-01", "200"), r("2026-01-03", "900")]
    start, end = D(2025, 1, 1), D(2025, 12, 31)
    assert period_readings(readings, start, end) == (readings[0], readings[2])
    assert period_readings(readings[1:2], start, end) == (readings[1], readings[1])
    assert period_readings(readings[1:], start, end) == (readings[1], readings[2])
    assert period_readings([], start, end) == (None, None)
    assert period_readings(readings[:1], D(2025, 1, 1), D(2025, 2, 1)) == (readings[0], None)


def test_trips_beyond_the_odometer_are_warned_about() -> None:
    start, end = r("2025-01-01", "10000"), r("2025-12-31", "10100")
    trips = [(D(2025, 5, 1), Decimal("60"), "km"), (D(2025, 6, 1), Decimal("25"), "mile")]
    check = check_period(start, end, trips)  # 60 + 40.2336 = 100.2336 km: within one unit
    assert (check.driven, check.trips, check.warning) == (Decimal(100), Decimal("100.2336"), None)

    more = [*trips, (D(2025, 7, 1), Decimal("1"), "km")]
    check = check_period(start, end, more)
    assert check.warning is not None
    assert "add up to 101.2336 km, more than the 100 km the odometer shows" in check.warning


def test_trips_on_a_reading_day_are_left_out_of_the_check() -> None:
    start, end = r("2025-01-01", "10000"), r("2025-12-31", "10100")
    same_days = [(D(2025, 1, 1), Decimal("500"), "km"), (D(2025, 12, 31), Decimal("500"), "km")]
    outside = [(D(2024, 6, 1), Decimal("500"), "km")]
    check = check_period(start, end, same_days + outside)
    assert (check.trips, check.warning) == (Decimal(0), None)


def test_a_period_check_in_miles_speaks_miles() -> None:
    start, end = r("2025-01-01", "1000", "mile"), r("2025-12-31", "1010", "mile")
    check = check_period(start, end, [(D(2025, 5, 1), Decimal("30"), "km")])
    assert (check.unit, check.driven, check.trips) == ("mile", Decimal(10), Decimal("18.641"))
    assert check.warning is not None and "18.641 mile, more than the 10 mile" in check.warning


def test_without_two_readings_there_is_nothing_to_check() -> None:
    one = r("2025-01-01", "10")
    assert check_period(None, None, []).driven is None
    assert check_period(one, one, [(D(2025, 1, 1), Decimal(9), "km")]).warning is None


# ----------------------------------------------------------------------------- the store


def test_readings_are_stored_listed_and_corrected(db_path: Path) -> None:
    with Tracker.open(db_path, timezone="UTC") as store:
        car = store.cars.add({"name": "Van", "odometer_unit": "mile"})
        first = store.cars.record_odometer(car.id[:6], "2025-01-02", "12000")
        assert (first.unit, first.reading) == ("mile", Decimal(12000))  # the car's unit
        store.cars.record_odometer(car.id, D(2025, 6, 1), "13000")
        store.cars.record_odometer(car.id, D(2025, 6, 1), "13005.5")  # a correction
        store.cars.record_odometer(car.id, "2025-02-01", "20000", "km")
    with Tracker.open(db_path, timezone="UTC") as store:
        listed = store.cars.odometer_readings(car.id)
    assert [(x.date.isoformat(), x.reading, x.unit) for x in listed] == [
        ("2025-01-02", Decimal(12000), "mile"),
        ("2025-02-01", Decimal(20000), "km"),
        ("2025-06-01", Decimal("13005.5"), "mile"),
    ]


@pytest.mark.parametrize(
    ("date", "reading", "unit", "field"),
    [
        ("2025-02-30", "1", None, "date"),
        ("yesterday", "1", None, "date"),
        ("2025-03-01", "-1", None, "reading"),
        ("2025-03-01", "NaN", None, "reading"),
        ("2025-03-01", "1e12", None, "reading"),
        ("2025-03-01", "1.0001", None, "reading"),
        ("2025-03-01", "ten", None, "reading"),
        ("2025-03-01", "1", "furlong", "unit"),
        ("2025-03-01", "9999", None, "reading"),  # lower than the reading before
    ],
)
def test_bad_readings_write_nothing(
    db_path: Path, date: str, reading: str, unit: str | None, field: str
) -> None:
    with Tracker.open(db_path, timezone="UTC") as store:
        car = store.cars.add({"name": "Golf"})
        store.cars.record_odometer(car.id, "2025-01-01", "10000")
        with pytest.raises(InvalidInputError) as bad:
            store.cars.record_odometer(car.id, date, reading, unit)
        assert bad.value.field == field
        assert [x.reading for x in store.cars.odometer_readings(car.id)] == [Decimal(10000)]


def test_an_unknown_car_is_not_found(db_path: Path) -> None:
    with Tracker.open(db_path, timezone="UTC") as store, pytest.raises(NotFoundError):
        store.cars.record_odometer("ffffffff", "2025-01-01", "1")


def test_the_period_check_reads_this_cars_live_trips(db_path: Path) -> None:
    with Tracker.open(db_path, timezone="UTC") as store:
        golf = store.cars.add({"name": "Golf"})
        van = store.cars.add({"name": "Van"})
        store.cars.record_odometer(golf.id, "2025-01-01", "10000")
        store.cars.record_odometer(golf.id, "2026-01-02", "10100")
        store.trips.add({"date": "2025-04-01", "distance": "80", "car_id": golf.id})
        store.trips.add({"date": "2025-04-02", "distance": "500", "car_id": van.id})
        store.trips.add({"date": "2025-04-03", "distance": "500"})
        gone = store.trips.add({"date": "2025-04-04", "distance": "500", "car_id": golf.id})
        store.trips.delete(gone.id)
        period = store.cars.odometer_period(golf.id[:5], "2025-01-01", "2025-12-31")
        assert period.start is not None and period.end is not None
        assert (period.start.date, period.end.date) == (D(2025, 1, 1), D(2026, 1, 2))
        assert (period.driven, period.trips, period.warning) == (Decimal(100), Decimal(80), None)

        store.trips.add({"date": "2025-09-01", "distance": "30", "car_id": golf.id})
        period = store.cars.odometer_period(golf.id, "2025-01-01", "2025-12-31")
        assert period.warning is not None and "110 km, more than the 100 km" in period.warning
        with pytest.raises(InvalidInputError):
            store.cars.odometer_period(golf.id, "2025-12-31", "2025-01-01")

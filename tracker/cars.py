"""Cars trips can be attached to (``store.cars``)."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select

from tracker.db import Database
from tracker.enums import Lifecycle
from tracker.errors import InvalidInputError
from tracker.inputs import CarIn, parse
from tracker.lookup import find_car
from tracker.odometer import Reading, check_order, check_period, period_readings
from tracker.tables import Car, OdometerReading, Trip
from tracker.views import CarView, OdometerPeriodView, OdometerReadingView

# A reading above this is a typo (a billion km is 25,000 times round the Earth).
_MAX_READING = Decimal(10) ** 9

__all__ = ["Cars"]


class Cars:
    """The cars of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, data: CarIn | Mapping[str, Any]) -> CarView:
        """Add a car."""
        given = parse(CarIn, data)
        now = self._db.now()
        with self._db.write() as s:
            car = Car(id=str(uuid.uuid4()), created_at=now, updated_at=now, **given.model_dump())
            s.add(car)
            s.flush()
            return CarView.from_row(car)

    def list(self) -> list[CarView]:
        """Every car, by name."""
        with self._db.read() as s:
            return [CarView.from_row(c) for c in s.exec(select(Car).order_by(col(Car.name)))]

    def get(self, car_id: str) -> CarView:
        """One car."""
        with self._db.read() as s:
            return CarView.from_row(find_car(s, car_id))

    # ------------------------------------------------------------------ odometer readings
    # Local records, not journalled: nothing sends readings to Tight (docs/recording.md).

    def record_odometer(
        self,
        car_id: str,
        date: dt.date | str,
        reading: Decimal | str | int,
        unit: str | None = None,
    ) -> OdometerReadingView:
        """Store the odometer ``reading`` of a car (id or unique prefix) on ``date``.

        ``unit`` (km or mile) defaults to the car's odometer unit, else km. A second reading
        for the same day replaces the first (a correction). Raises
        :class:`~tracker.errors.InvalidInputError` for a bad date, reading or unit and
        :class:`~tracker.odometer.OdometerOrderError` when the reading is lower than an
        earlier one or higher than a later one; nothing is written then.
        """
        day = _day(date, "date")
        value = _reading(reading)
        now = self._db.now()
        with self._db.write() as s:
            car = find_car(s, car_id)
            new = Reading(day, value, _unit(unit if unit is not None else car.odometer_unit))
            rows = _rows(s, car.id)
            check_order([_plain(r) for r in rows], new)
            row = next((r for r in rows if r.date == day), None)
            if row is None:
                row = OdometerReading(car_id=car.id, date=day, created_at=now, **_fields(new, now))
            else:
                for key, field_value in _fields(new, now).items():
                    setattr(row, key, field_value)
            s.add(row)
            s.flush()
            return _view(row)

    def odometer_readings(self, car_id: str) -> builtins.list[OdometerReadingView]:
        """A car's readings, oldest first."""
        with self._db.read() as s:
            return [_view(r) for r in _rows(s, find_car(s, car_id).id)]

    def odometer_period(
        self, car_id: str, start: dt.date | str, end: dt.date | str
    ) -> OdometerPeriodView:
        """The readings at the start and end of ``start``..``end`` and the check of the car's
        trips against them (:func:`tracker.odometer.check_period`)."""
        first_day, last_day = _day(start, "start"), _day(end, "end")
        if last_day < first_day:
            raise InvalidInputError("end", f"{last_day} is before the start {first_day}")
        with self._db.read() as s:
            found = find_car(s, car_id).id
            readings = [_plain(r) for r in _rows(s, found)]
            first, last = period_readings(readings, first_day, last_day)
            trips: tuple[tuple[dt.date, Decimal, str], ...] = ()
            if first is not None and last is not None and first.date < last.date:
                query = select(col(Trip.date), col(Trip.distance), col(Trip.distance_unit)).where(
                    col(Trip.car_id) == found,
                    col(Trip.lifecycle) == Lifecycle.ACTIVE,
                    col(Trip.date) > first.date,
                    col(Trip.date) < last.date,
                )
                trips = tuple((d, dist, u) for d, dist, u in s.exec(query).all() if d is not None)
        check = check_period(first, last, trips)
        return OdometerPeriodView(
            car_id=found,
            start=None if first is None else _reading_view(found, first),
            end=None if last is None else _reading_view(found, last),
            unit=check.unit,
            driven=check.driven,
            trips=check.trips,
            warning=check.warning,
        )


def _rows(s: Session, car_id: str) -> list[OdometerReading]:
    query = select(OdometerReading).where(col(OdometerReading.car_id) == car_id)
    return list(s.exec(query.order_by(col(OdometerReading.date))).all())


def _plain(row: OdometerReading) -> Reading:
    return Reading(row.date, row.reading, row.unit)


def _fields(reading: Reading, now: dt.datetime) -> dict[str, Any]:
    return {"reading": reading.reading, "unit": reading.unit, "updated_at": now}


def _view(row: OdometerReading) -> OdometerReadingView:
    return _reading_view(row.car_id, _plain(row))


def _reading_view(car_id: str, reading: Reading) -> OdometerReadingView:
    return OdometerReadingView(
        car_id=car_id, date=reading.date, reading=reading.reading, unit=reading.unit
    )


def _day(value: dt.date | str, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInputError(field, f"{value!r} is not a date: give YYYY-MM-DD") from None


def _reading(value: Decimal | str | int) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInputError("reading", f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0 or number >= _MAX_READING:
        raise InvalidInputError("reading", f"{value!r} must be a number from 0 to 999999999")
    if number.as_tuple().exponent < -3:  # type: ignore[operator]
        raise InvalidInputError("reading", f"{value!r} has more than 3 decimals")
    return number


def _unit(value: str | None) -> str:
    unit = value or "km"
    if unit not in ("km", "mile"):
        raise InvalidInputError("unit", f"{unit!r} is not one of 'km', 'mile'")
    return unit

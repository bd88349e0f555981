"""Odometer readings: the rules, as pure functions (no database, no clock).

A car's readings must grow with their date (:func:`check_order`); a period's readings at its
start and end bound the distance driven, and trips that add up to more than that are warned
about (:func:`check_period`). Readings and trips may be in km or miles: they are compared in
km, converted exactly (1 mile = 1.609344 km).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tracker.errors import InvalidInputError

__all__ = [
    "KM_PER_MILE",
    "OdometerOrderError",
    "PeriodCheck",
    "Reading",
    "check_order",
    "check_period",
    "period_readings",
    "to_km",
]

KM_PER_MILE = Decimal("1.609344")


def to_km(value: Decimal, unit: str) -> Decimal:
    """``value`` in ``unit`` (km or mile) as km, exactly."""
    if unit == "km":
        return value
    if unit == "mile":
        return value * KM_PER_MILE
    raise InvalidInputError("unit", f"{unit!r} is not one of 'km', 'mile'")


def _from_km(value: Decimal, unit: str) -> Decimal:
    return value if unit == "km" else (value / KM_PER_MILE).quantize(Decimal("0.001"))


def _shown(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 100.000 -> 100, 101.233600 -> 101.2336."""
    return format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class Reading:
    """One odometer reading of a car: on ``date``, ``reading`` in ``unit`` (km or mile)."""

    date: dt.date
    reading: Decimal
    unit: str

    @property
    def km(self) -> Decimal:
        """The reading in km (exact)."""
        return to_km(self.reading, self.unit)

    def shown(self) -> str:
        """``12500 km on 2025-01-02``: how an error message names it."""
        return f"{self.reading} {self.unit} on {self.date.isoformat()}"


class OdometerOrderError(InvalidInputError):
    """A reading lower than an earlier one, or higher than a later one, of the same car."""

    def __init__(self, new: Reading, other: Reading) -> None:
        relation = "lower than the earlier" if other.date < new.date else "higher than the later"
        super().__init__(
            "reading",
            f"{new.shown()} is {relation} reading {other.shown()}: an odometer only counts up; "
            "check the reading and the date (see `tracker car odometer CAR`)",
        )
        self.new = new
        self.other = other


def check_order(existing: Iterable[Reading], new: Reading) -> None:
    """Raise :class:`OdometerOrderError` unless ``new`` keeps the car's readings growing with
    the date. A reading on a day that already has one replaces it, so that one is skipped.
    Equal readings on different days are fine (the car did not move)."""
    for other in existing:
        if other.date == new.date:
            continue
        if (other.date < new.date and other.km > new.km) or (
            other.date > new.date and other.km < new.km
        ):
            raise OdometerOrderError(new, other)


def period_readings(
    readings: Sequence[Reading], start: dt.date, end: dt.date
) -> tuple[Reading | None, Reading | None]:
    """The readings that bound the period ``start``..``end`` (inclusive), from date-ordered
    ``readings``: at the start, the last one on or before ``start`` (else the first within the
    period); at the end, the first one on or after ``end`` (else the last within the period).
    None where there is none; the same reading twice when only one falls in reach."""
    before = [r for r in readings if r.date <= start]
    within = [r for r in readings if start <= r.date <= end]
    after = [r for r in readings if r.date >= end]
    first = before[-1] if before else (within[0] if within else None)
    last = after[0] if after else (within[-1] if within else None)
    return first, last


@dataclass(frozen=True, slots=True)
class PeriodCheck:
    """What the odometer says about a period.

    ``driven`` is the difference of the two readings, ``trips`` the distance of the trips
    dated strictly between the readings' days, both in ``unit`` (the start reading's).
    ``warning`` is set when the trips exceed what was driven by more than one unit.
    """

    start: Reading | None
    end: Reading | None
    unit: str
    driven: Decimal | None
    trips: Decimal
    warning: str | None


def check_period(
    start: Reading | None, end: Reading | None, trips: Iterable[tuple[dt.date, Decimal, str]]
) -> PeriodCheck:
    """Compare the trips ``(date, distance, unit)`` with the readings ``start`` and ``end``.

    Only trips dated strictly after the start reading's day and before the end reading's day
    are added: a trip on a reading's own day may have been driven before or after the reading
    was taken, so counting it could raise a false alarm. Readings are usually whole numbers, so
    the difference may be short by almost one unit: the warning needs the trips to exceed it by
    more than one unit (1 km or 1 mile).
    """
    unit = start.unit if start is not None else "km"
    if start is None or end is None or start.date >= end.date:
        return PeriodCheck(start, end, unit, None, Decimal(0), None)
    driven_km = end.km - start.km
    trips_km = sum(
        (to_km(distance, u) for day, distance, u in trips if start.date < day < end.date),
        Decimal(0),
    )
    # Both readings in one unit: their difference, exactly; else through km.
    driven = end.reading - start.reading if end.unit == unit else _from_km(driven_km, unit)
    total = _from_km(trips_km, unit)
    warning = None
    if trips_km > driven_km + to_km(Decimal(1), unit):
        warning = (
            f"the trips between {start.date.isoformat()} and {end.date.isoformat()} add up to "
            f"{_shown(total)} {unit}, more than the {_shown(driven)} {unit} the odometer shows: "
            "check the trips' distances and car, and the readings"
        )
    return PeriodCheck(start, end, unit, driven, total, warning)

"""The amounts a schedule gives a sequence of trips: pure arithmetic, no I/O.

Trips are taken in trip order (by day; trips of one day in the order given). Each paying trip
(a purpose some rate of the schedule pays for) takes the rate in force on its day for its
vehicle kind and purpose; its distance, converted exactly to the rate's unit, is added to the
distance already counted in its tax year for the same vehicle kind and purpose, and split
across the tiers that sum crosses. Everything stays an exact fraction until the schedule's one
rounding (``Rounding``): each trip's amount (``per-trip``) or each tax year's total
(``per-total``). Trips of other purposes (personal, unclassified) earn nothing and count for
no tier. Editing an earlier trip changes what is counted before the later ones: compute
again from the whole sequence, and the later trips' splits follow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from tracker.enums import DistanceUnit
from tracker.errors import InvalidInputError, NoRateError
from tracker.rates.schedule import Rounding, Schedule, Tier, VehicleKind
from tracker.rates.taxyear import TaxYear, tax_year_of
from tracker.rates.units import convert

__all__ = [
    "Amounts",
    "Piece",
    "RateTrip",
    "TripAmount",
    "YearTotal",
    "compute",
    "price",
    "round_to",
]


@dataclass(frozen=True)
class RateTrip:
    """What the arithmetic needs of a trip. ``key`` names it in results and errors."""

    key: str
    day: date
    distance: Decimal
    unit: DistanceUnit
    vehicle: VehicleKind = VehicleKind.CAR
    purpose: str = "business"


@dataclass(frozen=True)
class Piece:
    """The part of a trip paid at one tier's rate (distance in the rate's unit)."""

    distance: Fraction
    rate: Decimal
    amount: Fraction


@dataclass(frozen=True)
class TripAmount:
    """One trip's amount. ``counted_before`` is the distance of its tax year, vehicle kind
    and purpose counted before it; ``amount`` is the rounded amount under the ``per-trip``
    rule and None under ``per-total`` (only the year's total is rounded)."""

    key: str
    tax_year: TaxYear
    purpose: str
    unit: DistanceUnit | None
    counted_before: Fraction
    pieces: tuple[Piece, ...]
    exact: Fraction
    amount: Decimal | None

    @property
    def distance(self) -> Fraction:
        """The distance paid for, in the rate's unit (0 for a trip no rate pays)."""
        return sum((piece.distance for piece in self.pieces), Fraction(0))


@dataclass(frozen=True)
class YearTotal:
    """A tax year's total for one purpose: exact, and rounded once under the schedule's
    rule (purposes are not added together: each is claimed on its own)."""

    tax_year: TaxYear
    purpose: str
    exact: Fraction
    amount: Decimal


@dataclass(frozen=True)
class Amounts:
    """Every trip's amount, in trip order, and the total of each tax year."""

    schedule: str
    currency: str
    rounding: Rounding
    trips: tuple[TripAmount, ...]
    totals: tuple[YearTotal, ...]

    def trip(self, key: str) -> TripAmount:
        """The amount of the trip named ``key``."""
        return next(t for t in self.trips if t.key == key)

    def changed_since(self, earlier: Amounts) -> tuple[str, ...]:
        """The keys of the trips whose amount (or tier split) differs from ``earlier``'s, or
        that ``earlier`` did not have: after an edit, the trips whose amount must be sent
        again, in trip order."""
        before = {trip.key: trip for trip in earlier.trips}
        return tuple(trip.key for trip in self.trips if before.get(trip.key) != trip)

    def total(self, label: str, purpose: str = "business") -> YearTotal:
        """The total of the tax year named ``label`` (``2022``, ``2023-24``) for ``purpose``."""
        return next(t for t in self.totals if (t.tax_year.label, t.purpose) == (label, purpose))


def round_to(value: Fraction, minor_unit: Decimal) -> Decimal:
    """``value`` (not negative) to a whole number of ``minor_unit``, half up: 0.005 becomes
    0.01. Exact: the fraction is compared, not a float or a truncated decimal."""
    units = math.floor(value / Fraction(minor_unit) + Fraction(1, 2))
    return (units * minor_unit).quantize(minor_unit)


def split(tiers: tuple[Tier, ...], before: Fraction, distance: Fraction) -> tuple[Piece, ...]:
    """``distance`` driven after ``before`` was counted, cut where it crosses a tier."""
    pieces = []
    position, left = before, distance
    for tier in tiers:
        top = None if tier.up_to is None else Fraction(tier.up_to)
        if left <= 0:
            break
        if top is not None and position >= top:
            continue
        take = left if top is None else min(left, top - position)
        pieces.append(Piece(take, tier.rate, take * Fraction(tier.rate)))
        position, left = position + take, left - take
    return tuple(pieces)


Counted = dict[tuple[TaxYear, VehicleKind, str], Fraction]
"""Distance already counted, by tax year, vehicle kind and purpose, in the rate's unit."""


def compute(
    schedule: Schedule,
    trips: Iterable[RateTrip],
    *,
    rounding: Rounding | None = None,
    counted: Counted | None = None,
) -> Amounts:
    """The amount of each trip and each tax year's total under ``schedule``; ``rounding``
    overrides the schedule's rule; ``counted``: distance counted before the first of
    ``trips`` (the trips of the year not given). Raises :class:`NoRateError` for a paying
    trip no rate covers, :class:`InvalidInputError` for a negative distance."""
    rule = Rounding(rounding or schedule.rounding)
    per_trip = rule == Rounding.PER_TRIP
    ordered = sorted(trips, key=lambda trip: trip.day)  # stable: a day keeps the given order
    counted = dict(counted or {})
    results = []
    for trip in ordered:
        if trip.distance < 0:
            raise InvalidInputError(f"trip {trip.key} distance", "must not be negative")
        year = tax_year_of(schedule.tax_year, trip.day)
        if trip.purpose not in schedule.purposes:
            nothing = round_to(Fraction(0), schedule.minor_unit) if per_trip else None
            results.append(
                TripAmount(
                    trip.key, year, trip.purpose, None, Fraction(0), (), Fraction(0), nothing
                )
            )
            continue
        rate = schedule.rate_for(trip.vehicle, trip.purpose, trip.day)
        if rate is None:
            raise NoRateError(schedule.id, trip.key, f"{trip.vehicle} {trip.purpose} on {trip.day}")
        distance = convert(trip.distance, trip.unit, rate.distance_unit)
        key = (year, trip.vehicle, trip.purpose)
        before = counted.get(key, Fraction(0))
        counted[key] = before + distance
        pieces = split(rate.tiers, before, distance)
        exact = sum((piece.amount for piece in pieces), Fraction(0))
        amount = round_to(exact, schedule.minor_unit) if per_trip else None
        results.append(
            TripAmount(
                trip.key, year, trip.purpose, rate.distance_unit, before, pieces, exact, amount
            )
        )
    return Amounts(
        schedule.id, schedule.currency, rule, tuple(results), _totals(results, rule, schedule)
    )


def price(
    schedule: Schedule,
    trip: RateTrip,
    before: Mapping[DistanceUnit, Decimal],
    *,
    rounding: Rounding | None = None,
) -> TripAmount:
    """One trip's amount, given the distance of its tax year's trips of the same vehicle
    kind and purpose counted before it, summed by the unit each was recorded in
    (``before``): the same as :func:`compute` over the whole year gives it, without the
    year's trips. The store sums ``before`` in one query per tax year
    (``tracker.deductions``). The steps of :func:`compute` for one trip, without its
    sorting and totals: a push prices every trip it sends (a test compares the two)."""
    if trip.distance < 0:
        raise InvalidInputError(f"trip {trip.key} distance", "must not be negative")
    per_trip = Rounding(rounding or schedule.rounding) == Rounding.PER_TRIP
    year = tax_year_of(schedule.tax_year, trip.day)
    if trip.purpose not in schedule.purposes:
        nothing = round_to(Fraction(0), schedule.minor_unit) if per_trip else None
        return TripAmount(trip.key, year, trip.purpose, None, Fraction(0), (), Fraction(0), nothing)
    rate = schedule.rate_for(trip.vehicle, trip.purpose, trip.day)
    if rate is None:
        raise NoRateError(schedule.id, trip.key, f"{trip.vehicle} {trip.purpose} on {trip.day}")
    unit = rate.distance_unit
    position = sum((convert(total, u, unit) for u, total in before.items() if total), Fraction(0))
    distance = convert(trip.distance, trip.unit, unit)
    pieces = split(rate.tiers, position, distance)
    exact = sum((piece.amount for piece in pieces), Fraction(0))
    amount = round_to(exact, schedule.minor_unit) if per_trip else None
    return TripAmount(trip.key, year, trip.purpose, unit, position, pieces, exact, amount)


def _totals(trips: list[TripAmount], rule: Rounding, schedule: Schedule) -> tuple[YearTotal, ...]:
    groups: dict[tuple[TaxYear, str], list[TripAmount]] = {}
    for trip in trips:
        if trip.unit is not None:  # a trip no rate pays adds nothing to any total
            groups.setdefault((trip.tax_year, trip.purpose), []).append(trip)
    totals = []
    for (year, purpose), mine in sorted(groups.items()):
        exact = sum((trip.exact for trip in mine), Fraction(0))
        if rule == Rounding.PER_TRIP:
            amount = sum((trip.amount or Decimal(0) for trip in mine), Decimal(0))
            amount = amount.quantize(schedule.minor_unit)
        else:
            amount = round_to(exact, schedule.minor_unit)
        totals.append(YearTotal(year, purpose, exact, amount))
    return tuple(totals)

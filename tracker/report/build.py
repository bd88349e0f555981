"""Building the report from trip rows, one at a time: pure, no I/O.

A :class:`ReportBuilder` is fed the tax year's trips in trip order (date, start time, id:
the order the deduction's tier positions use). Every business trip moves the tier position,
whether or not the filters keep it, so an amount in a filtered report is the amount of the
whole year's log and of the wire. Totals are accumulated as rows pass, exactly (fractions),
and rounded once at the end.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tracker.costs.treatment import CostTreatment, TaxCost, cost_treatment, why_not_counted
from tracker.enums import Classification, DistanceUnit
from tracker.rates.compute import RateTrip, price, round_to
from tracker.rates.schedule import Rate, Rounding, Schedule, VehicleKind
from tracker.rates.units import convert
from tracker.report.model import OdometerLine, ReportHead, ReportRow, ReportTotals
from tracker.report.recorded import recorded

__all__ = ["RawCost", "RawTrip", "ReportBuilder", "place_text"]

_MILLI = Decimal("0.001")
_HUNDREDTH = Decimal("0.01")
# Decimal arithmetic that must stay exact: any rounding raises (Inexact), and the trip is then
# priced by ``price`` in fractions instead.
_EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_UP, traps=[decimal.Inexact])


def fast_price(
    rate: Rate, before: Decimal, distance: Decimal, minor: Decimal
) -> tuple[tuple[tuple[Decimal, Decimal], ...], Decimal, Decimal] | None:
    """A trip's (distance, rate) pieces, its amount rounded half up to ``minor`` and its
    exact amount, in exact decimals, when its distance and the ``before`` position are in the
    rate's unit: the same figures :func:`tracker.rates.compute.price` gives in fractions
    (held equal by a test), without them. None when a step would not be exact."""
    try:
        pieces = []
        position, left = before, distance
        for tier in rate.tiers:
            if left <= 0:
                break
            top = tier.up_to
            if top is not None and position >= top:
                continue
            take = left if top is None else min(left, _EXACT.subtract(top, position))
            pieces.append((take, tier.rate))
            position, left = _EXACT.add(position, take), _EXACT.subtract(left, take)
        exact = Decimal(0)
        for take, per in pieces:
            exact = _EXACT.add(exact, _EXACT.multiply(take, per))
    except decimal.Inexact:
        return None
    amount = exact.quantize(minor, rounding=decimal.ROUND_HALF_UP)
    shown = tuple(
        (take.quantize(_MILLI, rounding=decimal.ROUND_HALF_UP), per) for take, per in pieces
    )
    return shown, amount, exact


@dataclass(frozen=True, slots=True)
class RawCost:
    """A cost linked to a trip, as stored."""

    id: int
    type_id: int | None
    labels: Mapping[str, str]
    amount: Decimal
    currency: str


@dataclass(slots=True)  # not frozen: built once a row, a frozen init costs more
class RawTrip:
    """A trip row as the report reads it."""

    id: str
    day: dt.date
    end_time: dt.datetime | None
    timezone: str
    distance: Decimal
    unit: str
    classification: str
    description: str | None
    customer_id: str | None
    car_id: str | None
    start_place: str
    end_place: str
    source: str
    origin: str | None
    created_at: dt.datetime
    import_key: str | None
    costs: Sequence[RawCost] = ()


def place_text(lat: Any, lng: Any, address: Mapping[str, Any] | None) -> str:
    """A place as one line: its address (street, city, state, zip), else its coordinates."""
    if address:
        parts = [
            str(address[k])
            for k in ("address1", "address2", "city", "state", "zip")
            if address.get(k)
        ]
        if parts:
            return ", ".join(parts)
    if lat is not None and lng is not None:
        return f"{lat}, {lng}"
    return ""


class ReportBuilder:
    """Turns trip rows into report rows and totals (see the module docstring)."""

    def __init__(
        self,
        head: ReportHead,
        schedule: Schedule,
        *,
        treatments: Mapping[int, str] | None = None,
    ) -> None:
        self.head = head
        self.schedule = schedule
        self.treatments = treatments
        self._unit = DistanceUnit(head.unit)
        self._counted = {DistanceUnit.KM: Decimal(0), DistanceUnit.MILE: Decimal(0)}
        # Distances by classification and unit as recorded, exact; converted once at the end.
        self._distances: dict[tuple[str, DistanceUnit], Decimal] = {}
        self._exact_decimal = Decimal(0)  # the exact amounts priced in decimals
        self._rates: dict[dt.date, Rate | None] = {}
        self._trips = 0
        self._to_classify = 0
        self._exact = Fraction(0)
        self._rows_sum = Decimal(0)
        self._costs: dict[str, Decimal] = {}
        self._zero = round_to(Fraction(0), schedule.minor_unit)

    def count(self, distance: Decimal, unit: str) -> None:
        """A business trip of the tax year before the period: it moves the tier position
        only."""
        self._counted[DistanceUnit(unit)] += distance

    def _wanted(self, trip: RawTrip) -> bool:
        head = self.head
        return (
            head.period.start <= trip.day <= head.period.end
            and (head.car is None or trip.car_id == head.car)
            and (head.customer is None or trip.customer_id == head.customer)
        )

    def take(self, trip: RawTrip) -> ReportRow | None:
        """The row of ``trip``, or None when the filters leave it out (a business trip still
        moves the tier position). :class:`~tracker.errors.NoRateError` for a business trip no
        rate covers."""
        unit = DistanceUnit(trip.unit)
        kind = trip.classification
        pieces: tuple[tuple[Decimal, Decimal], ...] = ()
        amount: Decimal | None
        if kind == Classification.BUSINESS:
            priced = self._price(trip, unit)
            self._counted[unit] += trip.distance
            if not self._wanted(trip):
                return None
            pieces, amount, exact = priced
            if isinstance(exact, Decimal):
                self._exact_decimal += exact
            else:
                self._exact += exact
            self._rows_sum += amount
        elif not self._wanted(trip):
            return None
        else:
            amount = None if kind == Classification.UNCLASSIFIED else self._zero
        self._trips += kind != Classification.UNCLASSIFIED
        self._to_classify += kind == Classification.UNCLASSIFIED
        key = (kind, unit)
        self._distances[key] = self._distances.get(key, Decimal(0)) + trip.distance
        costs = self._trip_costs(trip)
        when = recorded(
            source=trip.source,
            origin=trip.origin,
            import_key=trip.import_key,
            created_at=trip.created_at,
            day=trip.day,
            end_time=trip.end_time,
            timezone=trip.timezone,
        )
        return ReportRow(
            trip_id=trip.id,
            date=trip.day,
            start_place=trip.start_place,
            end_place=trip.end_place,
            purpose=trip.description or "",
            customer=trip.customer_id or "",
            car=trip.car_id or "",
            classification=kind,
            distance=trip.distance,
            unit=trip.unit,
            rate=pieces,
            amount=amount,
            costs=costs,
            recorded_how=when.how,
            recorded_at=when.at,
            recorded_after=when.after,
            to_classify=kind == Classification.UNCLASSIFIED,
        )

    def _price(
        self, trip: RawTrip, unit: DistanceUnit
    ) -> tuple[tuple[tuple[Decimal, Decimal], ...], Decimal, Decimal | Fraction]:
        """A business trip's pieces, amount (rounded per trip) and exact amount: in decimals
        when every distance is in the rate's unit, else by ``price`` (the wire's)."""
        day = trip.day
        if day not in self._rates:
            self._rates[day] = self.schedule.rate_for(VehicleKind.CAR, "business", day)
        rate = self._rates[day]
        if rate is not None and rate.distance_unit == unit:
            other = DistanceUnit.MILE if unit == DistanceUnit.KM else DistanceUnit.KM
            if self._counted[other] == 0:
                fast = fast_price(
                    rate, self._counted[unit], trip.distance, self.schedule.minor_unit
                )
                if fast is not None:
                    return fast
        priced = price(
            self.schedule,
            RateTrip(trip.id, day, trip.distance, unit, VehicleKind.CAR, Classification.BUSINESS),
            self._counted,
            rounding=Rounding.PER_TRIP,
        )
        assert priced.amount is not None  # per-trip rounding
        pieces = tuple((round_to(p.distance, _MILLI), p.rate) for p in priced.pieces)
        return pieces, priced.amount, priced.exact

    def _distance(self, kind: str) -> Fraction:
        return sum(
            (convert(v, u, self._unit) for (k, u), v in self._distances.items() if k == kind),
            Fraction(0),
        )

    def _trip_costs(self, trip: RawTrip) -> tuple[tuple[str, Decimal], ...]:
        """The trip's deductible costs by currency (the rule of
        :func:`tracker.costs.treatment.tally_costs`: deductible and linked to a business trip),
        added to the totals."""
        sums: dict[str, Decimal] = {}
        for cost in trip.costs:
            treatment, _ = cost_treatment(cost.type_id, cost.labels, self.treatments)
            if treatment is not CostTreatment.DEDUCTIBLE:
                continue
            tax = TaxCost(
                cost.id, cost.amount, cost.currency, treatment, trip.id, trip.classification
            )
            if why_not_counted(tax) is None:
                sums[cost.currency] = sums.get(cost.currency, Decimal(0)) + cost.amount
        for currency, value in sums.items():
            self._costs[currency] = self._costs.get(currency, Decimal(0)) + value
        return tuple(sorted(sums.items()))

    def totals(self, odometer: tuple[OdometerLine, ...] = ()) -> ReportTotals:
        """The totals of every row taken so far."""
        minor = self.schedule.minor_unit
        business = self._distance(Classification.BUSINESS)
        personal = self._distance(Classification.PERSONAL)
        apart = self._distance(Classification.UNCLASSIFIED)
        total = business + personal + apart
        if self.schedule.rounding == Rounding.PER_TOTAL:
            deduction = round_to(self._exact + Fraction(self._exact_decimal), minor)
        else:
            deduction = self._rows_sum.quantize(minor)
        mine = self._costs.get(self.head.currency, self._zero)
        return ReportTotals(
            trips=self._trips,
            to_classify=self._to_classify,
            business_distance=round_to(business, _MILLI),
            personal_distance=round_to(personal, _MILLI),
            to_classify_distance=round_to(apart, _MILLI),
            total_distance=round_to(total, _MILLI),
            business_share=None if total == 0 else round_to(business / total * 100, _HUNDREDTH),
            deduction=deduction,
            deduction_rows=self._rows_sum.quantize(minor),
            deductible_costs=mine,
            other_costs=tuple(
                sorted((c, v) for c, v in self._costs.items() if c != self.head.currency)
            ),
            grand_total=deduction + mine,
            odometer=odometer,
        )

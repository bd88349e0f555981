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
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from tracker.coltypes import from_utc_text
from tracker.costs.treatment import CostTreatment, TaxCost, cost_treatment, why_not_counted
from tracker.enums import Classification, DistanceUnit
from tracker.provenance import how_recorded, merge_fields
from tracker.rates.compute import RateTrip, price, round_to
from tracker.rates.schedule import Rate, Rounding, Schedule, VehicleKind
from tracker.rates.units import convert
from tracker.report.model import OdometerLine, ReportHead, ReportRow, ReportTotals
from tracker.report.recorded import after_text

__all__ = ["RawCost", "RawTrip", "ReportBuilder", "costs_of", "edits_of", "place_text"]

_UNITS = {unit.value: unit for unit in DistanceUnit}
_BUSINESS = Classification.BUSINESS.value
_UNCLASSIFIED = Classification.UNCLASSIFIED.value
_DZERO = Decimal(0)

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
    tiers = rate.tiers
    if len(tiers) == 1 and tiers[0].up_to is None and distance > 0:
        # One rate for any distance (most schedules): one piece, one product.
        per = tiers[0].rate
        try:
            exact = _EXACT.multiply(distance, per)
        except decimal.Inexact:
            return None
        one = ((distance.quantize(_MILLI, rounding=decimal.ROUND_HALF_UP), per),)
        return one, exact.quantize(minor, rounding=decimal.ROUND_HALF_UP), exact
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


class RawTrip(NamedTuple):
    """A trip row as the report reads it: the columns of its query, as SQLite stores them
    (dates and instants ISO text, the distance decimal text, addresses and costs JSON), so a
    row is built straight from the query's tuple (``RawTrip._make``), nothing parsed twice.

    ``said``: the detail of the trip's first history link when it is ``recorded``;
    ``edits``: its later changes that changed a field (:data:`tracker.provenance.
    CHANGE_LINKS_SQL`) as a JSON array of ``[link id, at, {field: [old, new]}]``."""

    id: str
    day: str
    end_time: str | None
    timezone: str
    distance: str
    unit: str
    classification: str
    description: str | None
    customer_id: str | None
    car_id: str | None
    start_lat: Any
    start_lng: Any
    start_address: str | None
    end_lat: Any
    end_lng: Any
    end_address: str | None
    source: str
    origin: str | None
    created_at: str
    import_key: str | None
    costs: str | None = None
    said: str | None = None
    edits: str | None = None


def costs_of(text: str | None) -> tuple[RawCost, ...]:
    """The costs of a trip from the JSON its query aggregates."""
    if not text or text == "[]":
        return ()
    return tuple(
        RawCost(cost_id, type_id, labels or {}, Decimal(str(amount)), currency)
        for cost_id, type_id, labels, amount, currency in json.loads(text)
    )


def edits_of(text: str | None) -> tuple[bool, dt.datetime | None, tuple[tuple[str, Any, Any], ...]]:
    """``(edited, last edited, ((field, first old, latest new), ...))`` from the JSON of a
    trip's field-changing links (:attr:`RawTrip.edits`), by provenance's rule
    (:func:`tracker.provenance.merge_fields`)."""
    if not text or text == "[]":
        return _NOT_EDITED
    links = sorted(json.loads(text), key=lambda link: link[0])  # id order, whatever SQL gave
    merged = merge_fields(link[2] for link in links)
    if not merged:
        return _NOT_EDITED
    last = from_utc_text(links[-1][1])
    return True, last, tuple((name, old, new) for name, (old, new) in merged.items())


_NOT_EDITED: tuple[bool, None, tuple[()]] = (False, None, ())


def _json(text: str | None) -> Any:
    # A JSON column holding None is stored as the text 'null': no parse needed.
    return None if text is None or text == "null" else json.loads(text)


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
        self._days: dict[str, dt.date] = {}
        # The period as ISO text: a stored date compares as text, unparsed.
        self._first = head.period.start.isoformat()
        self._last = head.period.end.isoformat()

    def count(self, distance: Decimal, unit: str) -> None:
        """A business trip of the tax year before the period: it moves the tier position
        only."""
        self._counted[DistanceUnit(unit)] += distance

    def take(self, trip: RawTrip) -> ReportRow | None:
        """The row of ``trip``, or None when the filters leave it out (a business trip still
        moves the tier position). :class:`~tracker.errors.NoRateError` for a business trip no
        rate covers."""
        unit = _UNITS[trip.unit]
        kind = trip.classification
        distance = Decimal(trip.distance)
        day = self._day(trip.day)
        pieces: tuple[tuple[Decimal, Decimal], ...] = ()
        amount: Decimal | None
        if kind == _BUSINESS:
            priced = self._price(trip.id, day, distance, unit)
            self._counted[unit] += distance
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
            amount = None if kind == _UNCLASSIFIED else self._zero
        apart = kind == _UNCLASSIFIED
        self._trips += not apart
        self._to_classify += apart
        key = (kind, unit)
        self._distances[key] = self._distances.get(key, _DZERO) + distance
        linked = trip.costs
        costs = () if not linked or linked == "[]" else self._trip_costs(trip.id, kind, linked)
        created = from_utc_text(trip.created_at)
        assert created is not None  # NOT NULL
        edited, last, changed = edits_of(trip.edits)
        return ReportRow(
            trip.id,
            day,
            place_text(trip.start_lat, trip.start_lng, _json(trip.start_address)),
            place_text(trip.end_lat, trip.end_lng, _json(trip.end_address)),
            trip.description or "",
            trip.customer_id or "",
            trip.car_id or "",
            kind,
            distance,
            trip.unit,
            pieces,
            amount,
            costs,
            how_recorded(trip.said, trip.source, trip.origin, trip.import_key),
            created,
            after_text(created, day, from_utc_text(trip.end_time), trip.timezone),
            edited,
            last,
            changed,
            apart,
        )

    def _day(self, text: str) -> dt.date:
        # A year has at most 366 days: each parsed once.
        day = self._days.get(text)
        if day is None:
            day = self._days[text] = dt.date.fromisoformat(text)
        return day

    def _wanted(self, trip: RawTrip) -> bool:
        head = self.head
        return (
            self._first <= trip.day <= self._last
            and (head.car is None or trip.car_id == head.car)
            and (head.customer is None or trip.customer_id == head.customer)
        )

    def _price(
        self, trip_id: str, day: dt.date, distance: Decimal, unit: DistanceUnit
    ) -> tuple[tuple[tuple[Decimal, Decimal], ...], Decimal, Decimal | Fraction]:
        """A business trip's pieces, amount (rounded per trip) and exact amount: in decimals
        when every distance is in the rate's unit, else by ``price`` (the wire's)."""
        if day not in self._rates:
            self._rates[day] = self.schedule.rate_for(VehicleKind.CAR, "business", day)
        rate = self._rates[day]
        if rate is not None and rate.distance_unit == unit:
            other = DistanceUnit.MILE if unit == DistanceUnit.KM else DistanceUnit.KM
            if self._counted[other] == 0:
                fast = fast_price(rate, self._counted[unit], distance, self.schedule.minor_unit)
                if fast is not None:
                    return fast
        priced = price(
            self.schedule,
            RateTrip(trip_id, day, distance, unit, VehicleKind.CAR, Classification.BUSINESS),
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

    def _trip_costs(self, trip_id: str, kind: str, linked: str) -> tuple[tuple[str, Decimal], ...]:
        """The trip's deductible costs by currency (the rule of
        :func:`tracker.costs.treatment.tally_costs`: deductible and linked to a business trip),
        added to the totals."""
        sums: dict[str, Decimal] = {}
        for cost in costs_of(linked):
            treatment, _ = cost_treatment(cost.type_id, cost.labels, self.treatments)
            if treatment is not CostTreatment.DEDUCTIBLE:
                continue
            tax = TaxCost(cost.id, cost.amount, cost.currency, treatment, trip_id, kind)
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

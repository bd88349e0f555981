"""The deduction of each trip as sent to Tight: its amount under a rate schedule, read from
the store with the earlier business trips of its tax year (its tier position).

Only business trips earn a deduction (``Classification.BUSINESS`` is the purpose
``business`` of a schedule); personal and unclassified trips earn 0. A trip's tier position
is the distance of the complete, active business trips before it in its tax year, in trip
order (date, start time, id: the order of ``trip list``). It is summed in one query per tax
year a batch touches, and only for years whose rates have tiers: a flat rate needs no
position. The arithmetic is :func:`tracker.rates.compute.price`, rounded once per trip (each
trip carries its own amount on the wire), in the schedule's minor unit (cents by default).

:func:`stale_deductions` finds the trips whose amount on the server (their last server copy)
is no longer theirs: a tier shift after an earlier trip was edited, a reclassification
pulled from the server. The engine queues a save for each (``Journal.requeue``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from tracker.enums import Classification, DistanceUnit
from tracker.errors import NoRateError
from tracker.rates.compute import RateTrip, compute, price
from tracker.rates.schedule import Rounding, Schedule, VehicleKind
from tracker.rates.taxyear import TaxYear, tax_year_of
from tracker.respell import by_dialect

__all__ = [
    "Deduction",
    "PricedTrip",
    "deductions",
    "minor_units",
    "stale_deductions",
    "tiered",
    "touched_years",
]

# The complete, active business trips of one tax year up to a day, in trip order. The order
# is the list order's (migration 0011), so its index serves it.
_YEAR_SQL = (
    "SELECT id, distance, distance_unit FROM trip "
    "WHERE lifecycle = 'active' AND status = 'complete' AND classification = 'business' "
    "AND date >= ? AND date <= ? "
    "ORDER BY coalesce(date, ''), coalesce(start_time, ''), id"
)
# The same trips with, for each of the wanted ones (a JSON list of ids), the distance before
# it by unit in thousandths (exact integers: a distance has at most 3 decimals), and whether
# any distance up to it has more (then its sums would not be exact). Stored distances are
# fixed-point text (``decimal_text``), never an exponent. One text for both dialects: the
# distance is cast to a number (PostgreSQL does no arithmetic on text), "more than three
# decimals" is a LIKE (no instr() there) and an integer (no max() of booleans there).
_POSITIONS_SQL = """
SELECT id, km, mile, inexact FROM (
  SELECT id,
    sum(km) OVER w - km AS km,
    sum(mile) OVER w - mile AS mile,
    max(inexact) OVER w AS inexact
  FROM (
    SELECT id, date, start_time,
      CASE WHEN distance_unit = 'km' THEN CAST(round(CAST(distance AS NUMERIC) * 1000) AS BIGINT)
        ELSE 0 END AS km,
      CASE WHEN distance_unit = 'mile'
        THEN CAST(round(CAST(distance AS NUMERIC) * 1000) AS BIGINT) ELSE 0 END AS mile,
      CASE WHEN distance LIKE '%.____%' THEN 1 ELSE 0 END AS inexact
    FROM trip
    WHERE lifecycle = 'active' AND status = 'complete' AND classification = 'business'
      AND date >= ? AND date <= ?
  ) AS business
  WINDOW w AS (ORDER BY coalesce(date, ''), coalesce(start_time, ''), id
               ROWS UNBOUNDED PRECEDING)
) AS counted WHERE id IN (SELECT value FROM json_each(?))
"""
# PostgreSQL's spelling of the JSON paths read from the server copy (``remote_record``):
# ``->`` gives a JSON value that psycopg reads as the Python value SQLite's json_extract
# gives (a number, a string, None); the date is text (``->>``: DISTINCT needs a type with
# equality, which json lacks).
_SERVER_AMOUNT = {
    "json_extract(t.remote_record, '$.deduction.amount')": (
        "(t.remote_record -> 'deduction' -> 'amount')"
    ),
}
_SERVER_DATE = {"json_extract(t.remote_record, '$.date')": "(t.remote_record ->> 'date')"}
# Every trip of one tax year the server has, in trip order, with the deduction of
# its last server copy and whether a change of it is still open (that change carries the
# amount of its own: nothing to queue).
_STALE_SQL = by_dialect(
    "SELECT t.id, t.date, t.distance, t.distance_unit, t.classification, t.lifecycle, "
    "t.status, json_extract(t.remote_record, '$.deduction.amount'), "
    "EXISTS (SELECT 1 FROM journal AS j WHERE j.trip_id = t.id "
    "AND j.state IN ('pending', 'in_flight', 'parked')) "
    "FROM trip AS t WHERE t.remote_id IS NOT NULL AND t.date >= ? AND t.date <= ? "
    "ORDER BY coalesce(t.date, ''), coalesce(t.start_time, ''), t.id",
    _SERVER_AMOUNT,
)


class PricedTrip(Protocol):
    """What a deduction needs of a trip (``tracker.outbox.OutboxTrip`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def distance(self) -> Decimal: ...
    @property
    def unit(self) -> str: ...
    @property
    def classification(self) -> str: ...


@dataclass(frozen=True)
class Deduction:
    """A trip's deduction in the schedule's minor unit (``amount``), or why there is none
    (``error``: no rate covers the trip)."""

    amount: int | None
    error: str | None = None


def minor_units(amount: Decimal, schedule: Schedule) -> int:
    """``amount`` (already rounded to the schedule's minor unit) as a whole number of it."""
    return int(amount / schedule.minor_unit)


def tiered(schedule: Schedule, year: TaxYear) -> bool:
    """Whether a business rate of ``schedule`` in force during ``year`` has tiers: only
    then does a trip's amount depend on the trips before it."""
    return any(
        len(rate.tiers) > 1
        for rate in schedule.rates
        if rate.purpose == Classification.BUSINESS
        and rate.valid_from <= year.end
        and year.start <= rate.valid_to
    )


def _rate_trip(trip: PricedTrip, day: dt.date) -> RateTrip:
    return RateTrip(
        trip.id, day, trip.distance, DistanceUnit(trip.unit), VehicleKind.CAR, trip.classification
    )


def deductions(conn: Any, schedule: Schedule, trips: Iterable[PricedTrip]) -> dict[str, Deduction]:
    """The deduction of each of ``trips`` (with a date) by id, read on ``conn`` (a
    SQLAlchemy Connection, inside the caller's transaction): business trips by their
    position in their tax year, others 0."""
    out: dict[str, Deduction] = {}
    years: dict[TaxYear, list[tuple[PricedTrip, dt.date]]] = {}
    for trip in trips:
        if trip.date is None:
            continue
        if trip.classification != Classification.BUSINESS:
            out[trip.id] = Deduction(0)
            continue
        year = tax_year_of(schedule.tax_year, trip.date)
        years.setdefault(year, []).append((trip, trip.date))
    for year, mine in years.items():
        before = _positions(conn, year, mine) if tiered(schedule, year) else {}
        for trip, day in mine:
            try:
                amount = price(
                    schedule,
                    _rate_trip(trip, day),
                    before.get(trip.id, {}),
                    rounding=Rounding.PER_TRIP,
                ).amount
            except NoRateError as err:
                out[trip.id] = Deduction(None, str(err))
                continue
            assert amount is not None  # per-trip rounding
            out[trip.id] = Deduction(minor_units(amount, schedule))
    return out


def _positions(
    conn: Any, year: TaxYear, mine: Sequence[tuple[PricedTrip, dt.date]]
) -> dict[str, dict[DistanceUnit, Decimal]]:
    """By trip id, the business distance counted before each of ``mine`` in ``year``, by
    the unit it was recorded in, summed exactly up to the last of them. A trip of ``mine``
    not counted itself (not complete yet) gets none.

    One query: SQLite sums in thousandths as integers, with a window in trip order, and
    returns only the rows of ``mine`` (the year is read in C, not turned into Python
    objects: that was most of a tiered push's time). A distance with more than three
    decimals (none is entered so, but a server copy could hold one) would not be a whole
    number of thousandths: then the year is summed in Python, as Decimals."""
    wanted = json.dumps([trip.id for trip, _ in mine])
    last = max(day for _, day in mine)
    span = (year.start.isoformat(), last.isoformat())
    rows = conn.exec_driver_sql(_POSITIONS_SQL, (*span, wanted)).all()
    if any(inexact for *_, inexact in rows):
        return _positions_decimal(conn, span, {trip.id for trip, _ in mine})
    return {
        trip_id: {
            DistanceUnit.KM: Decimal(km).scaleb(-3),
            DistanceUnit.MILE: Decimal(mile).scaleb(-3),
        }
        for trip_id, km, mile, _ in rows
    }


def _positions_decimal(
    conn: Any, span: tuple[str, str], wanted: set[str]
) -> dict[str, dict[DistanceUnit, Decimal]]:
    """:func:`_positions` read row by row in Python (any number of decimals)."""
    sums = {DistanceUnit.KM: Decimal(0), DistanceUnit.MILE: Decimal(0)}
    out: dict[str, dict[DistanceUnit, Decimal]] = {}
    for trip_id, distance, unit in conn.exec_driver_sql(_YEAR_SQL, span).all():
        if trip_id in wanted:
            out[trip_id] = dict(sums)
        sums[DistanceUnit(unit)] += Decimal(distance)
    return out


def stale_deductions(
    conn: Any, schedule: Schedule, years: Iterable[TaxYear]
) -> dict[str, tuple[int | None, int]]:
    """The trips of ``years`` the server has a deduction for that is not theirs now (by id:
    the server's amount, the right one), with no open change: their amount changed since it
    was sent (an earlier trip edited or deleted, a reclassification pulled). One query and
    one :func:`compute` per year. A trip no rate covers is left alone (its own save parks)."""
    stale: dict[str, tuple[int | None, int]] = {}
    for year in sorted(set(years)):
        span = (year.start.isoformat(), year.end.isoformat())
        rows = conn.exec_driver_sql(_STALE_SQL[conn.dialect.name], span).all()
        paying = [
            RateTrip(
                trip_id,
                _as_date(day),
                Decimal(distance),
                DistanceUnit(unit),
                VehicleKind.CAR,
                Classification.BUSINESS,
            )
            for trip_id, day, distance, unit, classification, lifecycle, status, *_ in rows
            if classification == Classification.BUSINESS
            and lifecycle == "active"
            and status == "complete"
        ]
        try:
            amounts = compute(schedule, paying, rounding=Rounding.PER_TRIP)
        except NoRateError:
            amounts = None
        owed: Mapping[str, Decimal | None] = (
            {t.key: t.amount for t in amounts.trips} if amounts is not None else {}
        )
        for trip_id, _day, _d, _u, classification, lifecycle, _s, server, is_open in rows:
            if is_open or lifecycle != "active":
                continue  # an open change sends its own amount; a tombstone none
            if classification != Classification.BUSINESS:
                right = 0
            elif (amount := owed.get(trip_id)) is not None:
                right = minor_units(amount, schedule)
            else:
                continue  # not complete, or no rate covers its year (its own save parks)
            if (0 if server is None and right == 0 else server) != right:
                stale[trip_id] = (server, right)
    return stale


# The days whose tax years a change touches: a trip's date now and the date the server has
# (an edit that moved the trip leaves a gap in its old year too).
_OPEN_DAYS_SQL = by_dialect(
    "SELECT DISTINCT t.date, json_extract(t.remote_record, '$.date') FROM trip AS t "
    "WHERE t.id IN (SELECT trip_id FROM journal WHERE state IN ('pending', 'in_flight', 'parked'))",
    _SERVER_DATE,
)
_TRIP_DAYS_SQL = by_dialect(
    "SELECT t.date, json_extract(t.remote_record, '$.date') FROM trip AS t "
    "WHERE t.id IN (SELECT value FROM json_each(?))",
    _SERVER_DATE,
)


def _as_date(value: dt.date | str) -> dt.date:
    """A date as raw SQL returns it: SQLite's ISO text (ValueError if it is none), or a date
    (PostgreSQL's date column)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def touched_years(
    conn: Any, schedule: Schedule, trip_ids: Sequence[str] | None = None
) -> set[TaxYear]:
    """The tax years of the trips with an open change (``trip_ids`` None) or of
    ``trip_ids``: by their date here and the date of their last server copy."""
    dialect = conn.dialect.name
    if trip_ids is None:
        rows = conn.exec_driver_sql(_OPEN_DAYS_SQL[dialect]).all()
    else:
        ids = json.dumps(list(trip_ids))
        rows = conn.exec_driver_sql(_TRIP_DAYS_SQL[dialect], (ids,)).all()
    years: set[TaxYear] = set()
    for row in rows:
        for day in row:
            if isinstance(day, str | dt.date):  # PostgreSQL's own dates come typed
                try:
                    years.add(tax_year_of(schedule.tax_year, _as_date(day)))
                except ValueError:
                    continue  # a server date we cannot read touches no year
    return years

"""Reading a report's rows from the store: SQL at the edge, the building in
:mod:`tracker.report.build`.

Rows stream from one read transaction in trip order (the order of the list index,
migration 0011): nothing holds the year in memory. Before the first byte is written, the
period is checked: a year no rate covers, or a business trip on a day no rate covers, is an
error (nothing half-written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.chain import file_head
from tracker.db import for_postgres
from tracker.errors import NoRateError
from tracker.lookup import find_car
from tracker.rates.loader import load_schedules
from tracker.rates.schedule import Schedule
from tracker.report.build import RawTrip, ReportBuilder
from tracker.report.model import OdometerLine, Period, Report, ReportHead, ReportRow, ReportTotals
from tracker.report.period import (
    rate_gaps,
    rates_in_period,
    report_period,
    report_unit,
    resolve_schedule,
)
from tracker.respell import respelled

if TYPE_CHECKING:
    from tracker.store import Tracker

__all__ = ["build_report"]

# Written out whole (no SQL spliced from strings). ``coalesce(t.date, '')`` and the ORDER BY
# are the expressions of the list-order index (migration 0011), so SQLite walks it in order.
# The business trips of the tax year before the period: their distance is the tier position.
_BEFORE_SQL = (
    "SELECT t.distance, t.distance_unit FROM trip AS t "
    "WHERE coalesce(t.date, '') >= ? AND coalesce(t.date, '') < ? "
    "AND t.lifecycle = 'active' AND t.status = 'complete' AND t.classification = 'business' "
    "ORDER BY coalesce(t.date, ''), coalesce(t.start_time, ''), t.id"
)
# The period's trips, classified (``?`` false) or to classify (``?`` true), in trip order.
_ROWS_SQL = (
    "SELECT t.id, t.date, t.end_time, t.timezone, t.distance, t.distance_unit, "
    "t.classification, t.description, t.customer_id, t.car_id, t.start_lat, t.start_lng, "
    "t.start_address, t.end_lat, t.end_lng, t.end_address, t.source, t.origin, t.created_at, "
    "(SELECT k.key FROM trip_import AS k WHERE k.trip_id = t.id LIMIT 1), "
    "(SELECT json_group_array(json_array(c.id, c.type_id, json(c.labels), c.amount, "
    "c.currency)) FROM cost AS c WHERE c.trip_id = t.id), "
    # How it was recorded, as its first history link said (tracker.provenance.how_recorded).
    "(SELECT CASE WHEN e.event = 'recorded' THEN e.detail END FROM journal_event AS e "
    "WHERE e.trip_id = t.id AND e.hash IS NOT NULL ORDER BY e.id LIMIT 1), "
    # Its later changes that changed a field: provenance's rule, aggregated here (no query
    # per trip); the index (trip_id, id) finds a trip's few links.
    "(SELECT json_group_array(json_array(e.id, e.at, json(e.changes))) "
    # Written out (no SQL spliced from strings): tracker.provenance.CHANGE_LINKS_SQL, word
    # for word; a test holds the two equal.
    "FROM journal_event AS e WHERE e.trip_id = t.id AND e.hash IS NOT NULL AND e.changes IS "
    "NOT NULL AND e.changes <> '{}' AND e.event NOT IN ('chain started', 'pulled', "
    "'recorded', 'stopped')) "
    "FROM trip AS t WHERE coalesce(t.date, '') >= ? AND coalesce(t.date, '') <= ? "
    "AND t.lifecycle = 'active' AND t.status = 'complete' "
    "AND (t.classification = 'unclassified') = ? "
    "ORDER BY coalesce(t.date, ''), coalesce(t.start_time, ''), t.id"
)
# PostgreSQL's spelling of _ROWS_SQL's expressions, so that its rows are SQLite's (RawTrip:
# dates and JSON as text; psycopg would return a date and parsed JSON): its JSON aggregate
# (NULL over no rows, which reads as no costs or edits, as '[]' does), its typed date and
# JSON columns read as their text. The date sort key is ``tracker.sqldates``'.
_ROWS_PG = {
    "SELECT t.id, t.date,": "SELECT t.id, CAST(t.date AS TEXT),",
    "t.start_address,": "CAST(t.start_address AS TEXT),",
    "t.end_address,": "CAST(t.end_address AS TEXT),",
    "(SELECT json_group_array(json_array(c.id, c.type_id, json(c.labels), c.amount, "
    "c.currency))": "(SELECT CAST(json_agg(json_build_array(c.id, c.type_id, c.labels, "
    "c.amount, c.currency)) AS TEXT)",
    "(SELECT json_group_array(json_array(e.id, e.at, json(e.changes)))": (
        "(SELECT CAST(json_agg(json_build_array(e.id, e.at, CAST(e.changes AS json))) AS TEXT)"
    ),
}
# The rows' statement as each dialect's driver reads it: the report reads them through the
# driver's own cursor, past the engine's rewriting, so PostgreSQL's is rewritten here.
_ROWS_BY_DIALECT = {
    "sqlite": _ROWS_SQL,
    "postgresql": for_postgres(respelled(_ROWS_SQL, _ROWS_PG)),
}
_IN_GAP_SQL = (
    "SELECT t.id, t.date FROM trip AS t "
    "WHERE coalesce(t.date, '') >= ? AND coalesce(t.date, '') <= ? "
    "AND t.lifecycle = 'active' AND t.status = 'complete' AND t.classification = 'business' "
    "ORDER BY coalesce(t.date, ''), coalesce(t.start_time, ''), t.id LIMIT 1"
)
_ODOMETER_CARS_SQL = "SELECT DISTINCT car_id FROM odometer_reading ORDER BY car_id"
# Every trip's latest history link, in id order: the file's chain head (tracker verify's).
_HEADS_SQL = "SELECT id, chain_head FROM trip ORDER BY id"


def build_report(
    store: Tracker,
    *,
    jurisdiction: str,
    year: int | None = None,
    car: str | None = None,
    customer: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    schedules: Mapping[str, Schedule] | None = None,
    rate_file: Path | None = None,
    treatments: Mapping[int, str] | None = None,
) -> Report:
    """The report of ``store`` for the tax year beginning in ``year`` under the schedule
    ``jurisdiction`` names (``us-irs``, ``uk-hmrc``, ``ca-cra``, or a schedule id of
    ``rate_file``, TRACKER_RATE_SCHEDULES), narrowed to a car, a customer, ``start`` to
    ``end``. ``treatments``: configured cost treatments by type id.

    Raises :class:`~tracker.errors.UnknownScheduleError`, :class:`~tracker.errors.NoRateError`
    (a business trip, or the whole period, no rate covers) or
    :class:`~tracker.errors.InvalidInputError` before any row is read."""
    loaded = schedules if schedules is not None else load_schedules(rate_file)
    schedule = resolve_schedule(loaded, jurisdiction)
    period = report_period(schedule, year, start, end)
    with store.db.read() as s:
        _check_rates(s.connection(), schedule, period)
        car_id = None if car is None else find_car(s, car).id
        cars = (
            [car_id]
            if car_id
            else [r[0] for r in s.connection().exec_driver_sql(_ODOMETER_CARS_SQL)]
        )
        chain_head = file_head(s.connection().exec_driver_sql(_HEADS_SQL))
    odometer = tuple(_odometer(store, c, period) for c in cars)
    head = ReportHead(
        schedule=schedule.id,
        schedule_name=schedule.name,
        jurisdiction=schedule.jurisdiction,
        currency=schedule.currency,
        unit=report_unit(schedule, period),
        rounding=str(schedule.rounding),
        period=period,
        car=car_id,
        customer=customer,
        rates=rates_in_period(schedule, period),
        chain_head=chain_head,
    )

    def source() -> Iterator[ReportRow | ReportTotals]:
        builder = ReportBuilder(head, schedule, treatments=treatments)
        with store.db.read() as s:
            conn = s.connection()
            year_start = period.tax_year.start.isoformat()
            for distance, unit in conn.exec_driver_sql(
                _BEFORE_SQL, (year_start, period.start.isoformat())
            ):
                builder.count(Decimal(distance), unit)
            days = (period.start.isoformat(), period.end.isoformat())
            # The driver's cursor, in the session's transaction: rows come as plain tuples,
            # each made a RawTrip as is (the report's hot loop).
            raw_conn = conn.connection.driver_connection
            assert raw_conn is not None  # a live session's connection
            make, take = RawTrip._make, builder.take
            rows_sql = _ROWS_BY_DIALECT[conn.dialect.name]
            for apart in (False, True):
                cursor = raw_conn.execute(rows_sql, (*days, apart))
                try:
                    while batch := cursor.fetchmany(500):
                        for raw in batch:
                            row = take(make(raw))
                            if row is not None:
                                yield row
                finally:
                    cursor.close()
        yield builder.totals(odometer)

    return Report(head, source)


def _check_rates(conn: Any, schedule: Schedule, period: Period) -> None:
    """A business trip on a day no rate covers is refused before anything is written."""
    for first, last in rate_gaps(schedule, period):
        found = conn.exec_driver_sql(_IN_GAP_SQL, (first.isoformat(), last.isoformat())).first()
        if found is not None:
            raise NoRateError(schedule.id, found[0], f"car business on {found[1]}")


def _odometer(store: Tracker, car_id: str, period: Period) -> OdometerLine:
    view = store.cars.odometer_period(car_id, period.start, period.end)
    ends = [None if r is None else (r.date, r.reading, r.unit) for r in (view.start, view.end)]
    return OdometerLine(car_id, ends[0], ends[1], view.driven, view.unit, view.warning)

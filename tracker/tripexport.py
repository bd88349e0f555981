"""Trips written out as the import formats: CSV (``tracker trip import FILE.csv`` reads it)
and GPX 1.1 (``tracker import`` / ``trip import FILE.gpx`` reads it), so an export imports
back as the same trips (docs/recording.md, "Export").

Streamed: trips are read in SQL order (date, start, id: the list index, ascending) a few
hundred rows at a time (on PostgreSQL through a server-side cursor), a trip's fixes alike,
and written as they come; memory does not grow with the store. One read transaction: the
file is one consistent snapshot. The statements are SQLAlchemy's, the same on SQLite and
PostgreSQL; each value is written as SQLite stores it (:func:`stored_text`), so the same
trips export to the same bytes from either.

What is exported: finished trips that are not deleted (a trip still recording has no end).
Each carries its id (CSV ``id`` column, GPX ``<trip_id>`` extension) so the file imported
into a store that holds the trip, or imported it before, adds nothing
(:mod:`tracker.importkeys`). A trip that was itself imported from an export keeps the id
it was exported with: export, import elsewhere, export again gives the same file.

CSV cells of free text are spreadsheet-safe: a cell a spreadsheet would read as a formula
gets a leading ``'`` (:func:`tracker.csvtrips.guard`), which the import takes off again.
GPX holds only trips with fixes (a ``<trk>`` needs points); the report counts the others.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Select, String, cast, func, literal_column, select

from tracker.coltypes import decimal_text, utc_text
from tracker.csvtrips import _PARTS, FIELDS, TEXT_FIELDS, guard
from tracker.enums import ExportFormat, Lifecycle, TripStatus
from tracker.tables import TRACK, TRIP_IMPORT, Trip, Waypoint

__all__ = [
    "CSV_COLUMNS",
    "GPX_NAMESPACE",
    "ExportFormat",
    "ExportReport",
    "csv_cells",
    "decimal_e7",
    "fixes_query",
    "gpx_point",
    "gpx_track_head",
    "stored_text",
    "trips_query",
    "write_csv",
    "write_gpx",
]

#: The CSV header: the trip's id, then the columns ``trip import`` reads, in its order.
CSV_COLUMNS: tuple[str, ...] = ("id", *FIELDS)
#: The namespace of the trip id and the speed in a GPX export's ``<extensions>``.
GPX_NAMESPACE = "urn:trip-tracker:gpx:1"


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote: ``trips`` written, ``fixes`` (GPX points) and
    ``without_fixes``: trips left out of a GPX file because they have no fix."""

    trips: int = 0
    fixes: int = 0
    without_fixes: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"trips": self.trips, "fixes": self.fixes, "without_fixes": self.without_fixes}


# ----------------------------------------------------------------------------- SQL
_TRIP = Trip.__table__  # type: ignore[attr-defined]
_WAYPOINT = Waypoint.__table__  # type: ignore[attr-defined]


def _text_key(column: Any, dialect: str) -> ColumnElement[str]:
    """A sort key as stored text, a missing value '' (first in this ascending order). On
    SQLite the list index's own expression, ``coalesce(date, '')``: a literal '', not a
    bound one, or the index is not taken and every trip is sorted first. PostgreSQL keeps
    the date typed and reads it as its ISO text (the engine sets DateStyle ISO)."""
    if dialect == "postgresql" and column is _TRIP.c.date:
        column = cast(column, String)
    return func.coalesce(column, literal_column("''"), type_=String)


def _in_order(key: ColumnElement[str], dialect: str) -> ColumnElement[str]:
    """``key`` ordered by its bytes, as SQLite orders text: PostgreSQL would use the
    database's collation (a locale's may order punctuation and case otherwise), and the
    same trips must export in the same order from both."""
    return key.collate("C") if dialect == "postgresql" else key


def trips_query(
    dialect: str,
    start: date | None,
    end: date | None,
    account: ColumnElement[bool] | None = None,
) -> Select[Any]:
    """The trips to export, in export order: finished, not deleted, dated ``start``..``end``
    (inclusive; None: open; a trip without a date is before every start, as in a list),
    of the account ``account`` selects (:func:`tracker.accounts.of_account`; None: every
    account's). A row is the trip's id, its origin (the id it was exported with, when it
    was imported from an export), then the columns :func:`csv_cells` reads."""
    t, k = _TRIP.c, TRIP_IMPORT.c
    origin = (
        select(func.substr(k.key, 6))
        .where(k.trip_id == t.id, func.substr(k.key, 1, 5) == "trip:")
        .limit(1)
        .scalar_subquery()
    )
    day = _text_key(t.date, dialect)
    query = select(
        t.id,
        origin,
        t.date,
        t.distance,
        t.distance_unit,
        t.classification,
        t.description,
        t.notes,
        t.car_id,
        t.customer_id,
        t.class_segment_ids,
        t.custom_data,
        t.start_time,
        t.end_time,
        t.start_lat,
        t.start_lng,
        t.end_lat,
        t.end_lng,
        t.start_address,
        t.end_address,
    ).where(t.lifecycle == Lifecycle.ACTIVE, t.status == TripStatus.COMPLETE)
    if start is not None:
        query = query.where(day >= start.isoformat())
    if end is not None:
        query = query.where(day <= end.isoformat())
    if account is not None:
        query = query.where(account)
    keys = (day, _text_key(t.start_time, dialect), t.id)
    return query.order_by(*(_in_order(key, dialect) for key in keys))


def fixes_query(trip_id: str) -> Select[Any]:
    """A trip's fixes in order, as stored: (time in UTC epoch microseconds, latitude and
    longitude in 1e-7 degree, accuracy in cm, speed in cm/s): :func:`gpx_point`'s args."""
    w, k = _WAYPOINT.c, TRACK.c
    return (
        select(k.t0_us + w.dt_us, w.lat_e7, w.lng_e7, w.acc_cm, w.speed_cms)
        .join(TRACK, k.key == w.trip_key)
        .where(k.trip_id == trip_id)
        .order_by(w.seq)
    )


# ----------------------------------------------------------------------------- CSV
def stored_text(value: Any) -> str:
    """A column's value as SQLite stores it (None: ''), whichever backend it was read
    from: a date as ISO text, an instant as fixed-width UTC text (``coltypes.utc_text``),
    a decimal as its canonical text (``12.500`` stays so); so the same trip is the same
    cell on both, and the import reads back what was stored."""
    if value is None:
        return ""
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def csv_cells(row: Sequence[Any]) -> list[str]:
    """One trip row of :func:`trips_query` as the cells of :data:`CSV_COLUMNS`: stored
    values as their stored text (so the import stores the same), JSON columns as JSON
    (empty when empty), places dotted, free text guarded."""
    (trip_id, origin, day, distance, unit, kind, description, notes, car, customer) = row[:10]
    segments, custom, start_time, end_time = row[10:14]
    start_lat, start_lng, end_lat, end_lng, start_address, end_address = row[14:20]
    values: dict[str, Any] = {
        "date": day,
        "distance": distance,
        "unit": unit,
        "classification": kind,
        "description": description,
        "notes": notes,
        "car_id": car,
        "customer_id": customer,
        "class_segment_ids": _json_cell(segments),
        "custom_data": _json_cell(custom),
        "start_time": start_time,
        "end_time": end_time,
        "start.lat": start_lat,
        "start.lng": start_lng,
        "end.lat": end_lat,
        "end.lng": end_lng,
    }
    for end, stored in (("start", start_address), ("end", end_address)):
        address = _json(stored) or {}
        for part in _PARTS:
            values[f"{end}.address.{part}"] = address.get(part)
    cells = [origin or trip_id]
    for name in FIELDS:
        text = stored_text(values[name])
        cells.append(guard(text) if name in TEXT_FIELDS else text)
    return cells


def _json(stored: Any) -> Any:
    # Parsed by the column's type on either backend; stored text only from raw SQL.
    if stored is None or isinstance(stored, dict | list):
        return stored
    return json.loads(stored)


def _json_cell(stored: Any) -> str:
    value = _json(stored)
    return json.dumps(value) if value else ""


def write_csv(rows: Iterable[Sequence[Any]], out: TextIO) -> ExportReport:
    """Write the header and one line per trip row to ``out`` (opened with ``newline=""``)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(csv_cells(row))
        count += 1
    return ExportReport(trips=count)


# ----------------------------------------------------------------------------- GPX
_GPX_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="trip-tracker" xmlns="http://www.topografix.com/GPX/1/1"'
    f' xmlns:tt="{GPX_NAMESPACE}">\n'
)
_GPX_TAIL = "</gpx>\n"
# XML character data: the three markup characters escaped, and a CR written as a reference
# (an XML parser reads a bare CR back as a line feed), so the text comes back exactly.
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def xml_text(value: str) -> str:
    """``value`` as XML character data that an XML parser reads back unchanged."""
    return value.translate(_XML_TEXT)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decimal_e7(stored: int) -> str:
    """A stored coordinate (1e-7 degree) as exact decimal text, trailing zeros dropped
    (read back as a float, it encodes to the same integer: tracker.fixcodec)."""
    return _fixed(stored, 7)


def _fixed(value: int, places: int) -> str:
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(value), 10**places)
    digits = f"{part:0{places}d}".rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def gpx_time(t_us: int) -> str:
    """A stored fix time (UTC epoch microseconds) as GPX ``<time>`` text (UTC, ``Z``)."""
    moment = _EPOCH + timedelta(microseconds=t_us)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def gpx_track_head(trip_id: str, description: str | None, classification: str) -> str:
    """A ``<trk>`` up to its first point: the description as ``<name>`` (what the import
    reads as the description), the classification as ``<type>``, the id as extension."""
    name = "" if not description else f"<name>{xml_text(description)}</name>"
    return (
        f"<trk>{name}<type>{xml_text(classification)}</type>"
        f"<extensions><tt:trip_id>{xml_text(trip_id)}</tt:trip_id></extensions>"
        "<trkseg>\n"
    )


def gpx_point(
    t_us: int, lat_e7: int, lng_e7: int, acc_cm: int | None, speed_cms: int | None
) -> str:
    """One stored fix as a ``<trkpt>``: exact coordinates and time; the accuracy as
    ``<hdop>`` (accuracy / 5 m, what the import multiplies back: tracker.gpx) and the speed
    (m/s) as an extension."""
    hdop = "" if acc_cm is None else f"<hdop>{_fixed(acc_cm * 2, 3)}</hdop>"
    speed = (
        ""
        if speed_cms is None
        else f"<extensions><tt:speed>{_fixed(speed_cms, 2)}</tt:speed></extensions>"
    )
    return (
        f'<trkpt lat="{decimal_e7(lat_e7)}" lon="{decimal_e7(lng_e7)}">'
        f"<time>{gpx_time(t_us)}</time>{hdop}{speed}</trkpt>\n"
    )


def write_gpx(
    rows: Iterable[Sequence[Any]],
    fixes_of: Callable[[str], Iterable[Sequence[Any]]],
    out: TextIO,
) -> ExportReport:
    """Write one ``<trk>`` per trip row that has fixes (``fixes_of(trip_id)``: the trip's
    fixes in order, as :func:`fixes_query` reads them, a trip at a time); trips without
    fixes are counted, not written."""
    out.write(_GPX_HEAD)
    trips = fixes = empty = 0
    for row in rows:
        trip_id, origin, description, classification = row[0], row[1], row[6], row[5]
        written = 0
        for point in fixes_of(trip_id):
            if not written:  # the track's head once it is known to have a point
                out.write(gpx_track_head(origin or trip_id, description, classification))
            out.write(gpx_point(*point))
            written += 1
        if not written:
            empty += 1
            continue
        out.write("</trkseg></trk>\n")
        fixes += written
        trips += 1
    out.write(_GPX_TAIL)
    return ExportReport(trips=trips, fixes=fixes, without_fixes=empty)

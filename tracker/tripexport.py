"""Trips written out as the import formats: CSV (``tracker trip import FILE.csv`` reads it)
and GPX 1.1 (``tracker import`` / ``trip import FILE.gpx`` reads it), so an export imports
back as the same trips (docs/recording.md, "Export").

Streamed: trips are read in SQL order (date, start, id: the list index, ascending) one row
at a time, a trip's fixes one row at a time, and written as they come; memory does not grow
with the store. One read transaction: the file is one consistent snapshot.

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from tracker.csvtrips import _PARTS, FIELDS, TEXT_FIELDS, guard
from tracker.enums import ExportFormat

__all__ = [
    "CSV_COLUMNS",
    "GPX_NAMESPACE",
    "ExportFormat",
    "ExportReport",
    "csv_cells",
    "decimal_e7",
    "gpx_point",
    "gpx_track_head",
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
# The trip's origin: the id it was exported with, when it was imported from an export.
_TRIPS_SQL = """
SELECT t.id,
  (SELECT substr(k.key, 6) FROM trip_import AS k
   WHERE k.trip_id = t.id AND substr(k.key, 1, 5) = 'trip:' LIMIT 1),
  t.date, t.distance, t.distance_unit, t.classification, t.description, t.notes,
  t.car_id, t.customer_id, t.class_segment_ids, t.custom_data, t.start_time, t.end_time,
  t.start_lat, t.start_lng, t.end_lat, t.end_lng, t.start_address, t.end_address
FROM trip AS t
WHERE t.lifecycle = 'active' AND t.status = 'complete'
  AND (? IS NULL OR coalesce(t.date, '') >= ?)
  AND (? IS NULL OR coalesce(t.date, '') <= ?)
ORDER BY coalesce(t.date, ''), coalesce(t.start_time, ''), t.id
"""
_FIXES_SQL = """
SELECT k.t0_us + w.dt_us, w.lat_e7, w.lng_e7, w.acc_cm, w.speed_cms
FROM track AS k JOIN waypoint AS w ON w.trip_key = k.key
WHERE k.trip_id = ? ORDER BY w.seq
"""


def trips_query(start: date | None, end: date | None) -> tuple[str, tuple[Any, ...]]:
    """The SQL of the trips to export (``start``..``end`` inclusive) and its parameters."""
    a = None if start is None else start.isoformat()
    b = None if end is None else end.isoformat()
    return _TRIPS_SQL, (a, a, b, b)


# ----------------------------------------------------------------------------- CSV
def csv_cells(row: Sequence[Any]) -> list[str]:
    """One stored trip row (the columns of the trips query) as the cells of
    :data:`CSV_COLUMNS`: stored text kept as is (so the import stores the same), JSON
    columns as JSON (empty when empty), places dotted, free text guarded."""
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
        value = values[name]
        text = "" if value is None else str(value)
        cells.append(guard(text) if name in TEXT_FIELDS else text)
    return cells


def _json(stored: Any) -> Any:
    if stored is None or isinstance(stored, dict | list):
        return stored
    return json.loads(stored)


def _json_cell(stored: Any) -> str:
    value = _json(stored)
    return json.dumps(value) if value else ""


def write_csv(rows: Iterator[Sequence[Any]], out: TextIO) -> ExportReport:
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


def write_gpx(conn: Any, rows: Iterator[Sequence[Any]], out: TextIO) -> ExportReport:
    """Write one ``<trk>`` per trip row that has fixes (read from ``conn``, a DB-API
    connection, a trip at a time); trips without fixes are counted, not written."""
    out.write(_GPX_HEAD)
    trips = fixes = empty = 0
    for row in rows:
        trip_id, origin, description, classification = row[0], row[1], row[6], row[5]
        points = conn.execute(_FIXES_SQL, (trip_id,))
        first = points.fetchone()
        if first is None:
            empty += 1
            continue
        out.write(gpx_track_head(origin or trip_id, description, classification))
        out.write(gpx_point(*first))
        fixes += 1
        for point in points:
            out.write(gpx_point(*point))
            fixes += 1
        out.write("</trkseg></trk>\n")
        trips += 1
    out.write(_GPX_TAIL)
    return ExportReport(trips=trips, fixes=fixes, without_fixes=empty)

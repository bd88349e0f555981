"""Trips from a CSV file, read as a stream: a header row naming the fields as
``tracker trip list --json`` names them, then one trip a row (docs/cli.md, "Moving from
another app").

The header is checked first (a missing or unknown column is an error naming it, before any
row is read); each row becomes the data of one manual trip (``ManualTripIn``) or, when a
cell cannot be read, a :class:`~tracker.bulkrows.RowError` naming its column. Rows are
numbered as a spreadsheet shows them: the header is row 1. Reading is streamed (the csv
module, one row at a time): memory does not grow with the file.

No other app's export is read by name: no column list of MileIQ, Everlance, Driversnote or
TripLog CSV exports was found documented (MileIQ's reports are XLS, their columns not
listed: https://support.mileiq.com/hc/en-us/articles/115000885843-How-to-run-a-Tiered-Report-CAN);
``--map`` names such a file's columns.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from tracker.bulkrows import RowError, TripRow
from tracker.errors import InvalidInputError
from tracker.importkeys import origin_key

_PARTS = ("address1", "address2", "city", "state", "zip", "phone_work")
#: The columns an import reads, by the names of ``trip list --json`` (places dotted).
FIELDS: tuple[str, ...] = (
    "date",
    "distance",
    "unit",
    "classification",
    "description",
    "notes",
    "car_id",
    "customer_id",
    "class_segment_ids",
    "custom_data",
    "start_time",
    "end_time",
    *(f"{end}.{c}" for end in ("start", "end") for c in ("lat", "lng")),
    *(f"{end}.address.{p}" for end in ("start", "end") for p in _PARTS),
)
#: Columns of ``trip list --json`` that an import leaves alone (the store sets them).
IGNORED: frozenset[str] = frozenset(
    {
        "id",
        "remote_id",
        "sync_state",
        "status",
        "lifecycle",
        "source",
        "timezone",
        "duration_ms",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
        "synced_at",
        "origin",
        "deleted_by",
        "account",  # whose trip: `trip import --account` gives it, not a column
    }
)
#: Other names accepted for a column (compared after :func:`normal_name`).
ALIASES: Mapping[str, str] = {
    "distance_unit": "unit",
    "category": "classification",
    "purpose": "description",
    "note": "notes",
    "car": "car_id",
    "customer": "customer_id",
    "start_lat": "start.lat",
    "start_lng": "start.lng",
    "end_lat": "end.lat",
    "end_lng": "end.lng",
}
_UNITS = {
    "km": "km",
    "kms": "km",
    "kilometer": "km",
    "kilometers": "km",
    "kilometre": "km",
    "kilometres": "km",
    "mi": "mile",
    "mile": "mile",
    "miles": "mile",
}


#: Fields whose cells are free text from the user (what a spreadsheet could run as a formula).
TEXT_FIELDS: frozenset[str] = frozenset(
    {
        "description",
        "notes",
        "car_id",
        "customer_id",
        *(f"{end}.address.{p}" for end in ("start", "end") for p in _PARTS),
    }
)
#: A cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(text: str) -> str:
    """A text cell as written: a leading ``'`` when a spreadsheet would read it as a formula.

    A cell that already starts with ``'`` before such a character gets one more, so
    :func:`unguard` can tell the two apart: ``unguard(guard(t)) == t`` for every text.
    """
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def unguard(cell: str) -> str:
    """A text cell as read: the ``'`` that :func:`guard` (or a spreadsheet user) put before a
    formula character taken off; any other cell is kept as written."""
    if cell.startswith("'") and cell[1:].lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def normal_name(name: str) -> str:
    """A header cell as compared: trimmed, lower case, spaces and hyphens as ``_``."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def field_of(name: str) -> str | None:
    """The field a header names, ``""`` for a column to leave alone, None if unknown."""
    key = normal_name(name)
    if key in IGNORED:
        return ""
    key = ALIASES.get(key, key)
    return key if key in FIELDS else None


@dataclass(frozen=True)
class Columns:
    """What each column of a file holds: a field, or None (left alone)."""

    names: tuple[str, ...]
    fields: tuple[str | None, ...]

    @property
    def ignored(self) -> tuple[str, ...]:
        """The columns read as nothing (``trip list --json``'s own, or mapped to nothing)."""
        return tuple(n for n, f in zip(self.names, self.fields, strict=True) if f is None)

    @property
    def id_index(self) -> int | None:
        """The position of the ``id`` column (a trip's id, as exported), if the file has one."""
        for n, name in enumerate(self.names):
            if normal_name(name) == "id":
                return n
        return None

    def column_of(self, field: str) -> str:
        """The header cell of ``field`` (an error names the column as the file does)."""
        for name, mine in zip(self.names, self.fields, strict=True):
            if mine == field:
                return name
        return field


def read_header(cells: list[str], rename: Mapping[str, str] | None = None) -> Columns:
    """Check a header row; ``rename``: header cell -> field (``""``: leave it alone).

    InvalidInputError (field ``header``) for an unknown, repeated or missing column.
    """
    mapping = {normal_name(k): v for k, v in (rename or {}).items()}
    fields: list[str | None] = []
    for cell in cells:
        key = normal_name(cell)
        if key in mapping:
            target = mapping[key]
            field = "" if target == "" else field_of(target)
            if field is None:
                raise InvalidInputError("--map", f"{target!r} is not a field; one of {_known()}")
        else:
            field = field_of(cell)
        if field is None:
            raise InvalidInputError(
                "header",
                f"unknown column {cell!r}: name one of {_known()}, or map it "
                f"(--map '{cell}=description') or leave it out (--map '{cell}=')",
            )
        if field and field in fields:
            raise InvalidInputError("header", f"two columns hold {field!r}; keep one")
        fields.append(field or None)
    if "distance" not in fields:
        raise InvalidInputError("header", "no 'distance' column: every trip needs one")
    if "date" not in fields and "start_time" not in fields:
        raise InvalidInputError("header", "no 'date' (or 'start_time') column")
    return Columns(tuple(cells), tuple(fields))


def _known() -> str:
    return ", ".join(FIELDS[:12]) + ", start.lat ... (docs/cli.md)"


def trip_data(
    cells: list[str], columns: Columns, zone: ZoneInfo, defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """One row as the data of a manual trip; an empty cell is an absent value (``defaults``
    fill it). InvalidInputError names the field of a cell that cannot be read."""
    if len(cells) > len(columns.fields):
        raise InvalidInputError(
            "row", f"has {len(cells)} cells; the header names {len(columns.fields)} columns"
        )
    data: dict[str, Any] = {}
    for field, cell in zip(columns.fields, cells, strict=False):
        if field is None or cell == "":
            continue
        value = _read(field, unguard(cell) if field in TEXT_FIELDS else cell, zone)
        head, _, rest = field.partition(".")
        if not rest:
            data[field] = value
        else:
            place = data.setdefault(head, {})
            part, _, sub = rest.partition(".")
            if sub:
                place.setdefault(part, {})[sub] = value
            else:
                place[part] = value
    for name, value in defaults.items():
        data.setdefault(name, value)
    return data


def _read(field: str, cell: str, zone: ZoneInfo) -> Any:
    text = cell.strip()
    if field == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(field, f"{cell!r} is not a date as YYYY-MM-DD") from None
    if field in ("start_time", "end_time"):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(field, f"{cell!r} is not an ISO-8601 time") from None
        # As `trip add` reads it: a time without an offset is in the configured zone.
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if field == "distance" or field.endswith((".lat", ".lng")):
        try:
            return Decimal(text)
        except InvalidOperation:
            hint = " (a dot for decimals: 12.5)" if "," in text else ""
            raise InvalidInputError(field, f"{cell!r} is not a number{hint}") from None
    if field == "unit":
        return _UNITS.get(text.lower(), text)
    if field == "classification":
        return text.lower()
    if field in ("class_segment_ids", "custom_data"):
        try:
            return json.loads(text)
        except ValueError:
            shape = '["seg_1"]' if field == "class_segment_ids" else '{"key": "value"}'
            raise InvalidInputError(field, f"is not JSON (as {shape})") from None
    if field in ("car_id", "customer_id"):
        return text
    # Text is kept as written (a leading '=' included: never evaluated), less the quote a
    # spreadsheet-safe export put before it (``unguard``, done by the caller).
    return cell


class CsvTrips:
    """One CSV file of trips, read as a stream (each call of :meth:`rows` reads it anew).

    ``zone``: the zone of times without an offset; ``rename``: header cell -> field (the
    ``--map`` option); ``defaults``: values for cells a row leaves empty.
    """

    def __init__(
        self,
        path: Path,
        zone: ZoneInfo,
        *,
        rename: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self._zone = zone
        self._rename = dict(rename or {})
        self._defaults = dict(defaults or {})

    def digest(self) -> str:
        """The file's SHA-256 (hex): the import keys' first part."""
        digest = hashlib.sha256()
        with self._open() as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()

    def header(self) -> Columns:
        """The checked header (InvalidInputError for an empty file or a bad header)."""
        with self._open() as handle:
            for _number, cells in _records(csv.reader(_lines(handle))):
                return read_header(cells, self._rename)
        raise InvalidInputError("file", f"{self.path} is empty: its first row must name columns")

    def rows(self, key_prefix: str | None = None) -> Iterator[TripRow | RowError]:
        """Each row as a :class:`TripRow` or the :class:`RowError` of a cell that cannot be
        read. Import key (when ``key_prefix`` is given): ``trip:<id>`` for a row whose ``id``
        cell names a trip (an export's), so the same trip is not added twice to a store that
        has it or imported it before (:func:`~tracker.importkeys.origin_key`); else
        ``key_prefix`` + the row's number."""
        with self._open() as handle:
            records = _records(csv.reader(_lines(handle)))
            columns: Columns | None = None
            for number, cells in records:
                if columns is None:
                    columns = read_header(cells, self._rename)
                    continue
                if not any(cells):
                    continue  # a blank row (spreadsheets leave some at the end)
                try:
                    data = trip_data(cells, columns, self._zone, self._defaults)
                except InvalidInputError as err:
                    yield RowError(number, err.field, err.reason)
                    continue
                key = None
                if key_prefix is not None:
                    at = columns.id_index
                    origin = origin_key(cells[at]) if at is not None and at < len(cells) else None
                    key = origin or f"{key_prefix}{number}"
                yield TripRow(data, number=number, import_key=key)

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except OSError as err:
            raise InvalidInputError("file", f"cannot read {self.path}: {err.strerror}") from None


def _lines(handle: BinaryIO) -> Iterator[str]:
    """The file's lines as text, decoded one by one: a byte that is not UTF-8 is reported
    at its own row, not at the start of a read-ahead buffer."""
    first = True
    for raw in handle:
        # utf-8-sig once: a byte order mark (Excel's "CSV UTF-8") is not part of the header.
        yield raw.decode("utf-8-sig" if first else "utf-8")
        first = False


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """``(spreadsheet row number, cells)``; a file that is not UTF-8 text or not CSV is an
    InvalidInputError naming the row."""
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise InvalidInputError(
                "file",
                f"row {number} is not UTF-8 text: save the file as UTF-8 (Excel: CSV UTF-8)",
            ) from None
        except csv.Error as err:
            raise InvalidInputError("file", f"row {number} is not CSV ({err})") from None
        yield number, cells

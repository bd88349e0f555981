"""Many trips at once, the pure half: what a caller gives, what it gets back, and the row
each valid trip becomes (``tracker.bulk`` writes them).

A row is validated exactly as one trip (:class:`~tracker.inputs.ManualTripIn`, the model of
``store.trips.add``) and becomes the same stored row that ``add`` writes (a test compares
the two byte for byte).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tracker.coltypes import decimal_text, utc_text
from tracker.enums import Lifecycle, TripSource, TripStatus
from tracker.errors import InvalidInputError
from tracker.geo import local_date
from tracker.inputs import ManualTripIn, Place, WaypointIn, clean_text, parse
from tracker.triprows import millis

#: Errors a report keeps in full; the rest are counted (a file of bad rows stays small).
KEPT_ERRORS = 1000
MAX_KEY = 200


Fixes = Iterable[WaypointIn | Mapping[str, Any] | Sequence[Any]]


@dataclass(frozen=True)
class TripRow:
    """One trip for :meth:`~tracker.store.Tracker.add_trips` with what a mapping cannot say.

    ``number``: how the caller counts its rows (a spreadsheet row), used in the report
    (default: the position in the iterable, from 1). ``import_key``: a row whose key is
    already in the store is skipped (at most 200 characters). ``waypoints``: the trip's
    fixes, as :meth:`~tracker.trips.Trips.add_points` takes them.
    """

    data: ManualTripIn | Mapping[str, Any]
    number: int | None = None
    import_key: str | None = None
    waypoints: Fixes | None = None


@dataclass(frozen=True)
class RowError:
    """Why a row was not added: its number, the field (as ``ManualTripIn`` names it:
    ``distance``, ``start.lat``, ``input`` for the row as a whole) and the reason."""

    row: int
    field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class BulkReport:
    """What :meth:`~tracker.store.Tracker.add_trips` did (or, in a dry run, would do).

    ``rows`` read, ``added`` (each with its pending journal entry), ``skipped`` (import key
    already in the store), ``invalid`` (rejected; the first :data:`KEPT_ERRORS` of them in
    ``errors``). ``stopped_at``: the row that stopped an import not skipping invalid rows
    (its chunk and everything after it were not written); None when every row was read.
    """

    rows: int = 0
    added: int = 0
    skipped: int = 0
    invalid: int = 0
    errors: tuple[RowError, ...] = ()
    stopped_at: int | None = None
    dry_run: bool = False

    @property
    def complete(self) -> bool:
        """Every row was read (none stopped the import)."""
        return self.stopped_at is None

    def raise_for_errors(self) -> None:
        """Raise InvalidInputError naming the first rejected row, if any was."""
        if self.errors:
            first = self.errors[0]
            more = self.invalid - 1
            tail = f" (and {more} more invalid row{'s' if more > 1 else ''})" if more else ""
            raise InvalidInputError(f"row {first.row}: {first.field}", first.message + tail)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rows": self.rows,
            "added": self.added,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "errors": [e.to_json() for e in self.errors],
            "errors_not_shown": self.invalid - len(self.errors),
            "stopped_at": self.stopped_at,
            "dry_run": self.dry_run,
        }


@dataclass
class Tally:
    """The running counts of one call (snapshots become :class:`BulkReport`)."""

    dry_run: bool = False
    rows: int = 0
    added: int = 0
    skipped: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    stopped_at: int | None = None

    def reject(self, error: RowError) -> None:
        """Count a rejected row (kept in full while there are few)."""
        self.invalid += 1
        if len(self.errors) < KEPT_ERRORS:
            self.errors.append(error)

    def report(self) -> BulkReport:
        """The counts so far."""
        return BulkReport(
            rows=self.rows,
            added=self.added,
            skipped=self.skipped,
            invalid=self.invalid,
            errors=tuple(self.errors),
            stopped_at=self.stopped_at,
            dry_run=self.dry_run,
        )


@dataclass(frozen=True)
class Checked:
    """A row that passed validation, waiting for its chunk."""

    number: int
    given: ManualTripIn
    key: str | None
    waypoints: list[Any] | None


def check(item: Any, position: int) -> Checked | RowError:
    """Validate one item (a mapping, a ManualTripIn, a :class:`TripRow`, or the
    :class:`RowError` of a row its reader could not read) as ``trips.add`` would."""
    if isinstance(item, RowError):
        return item
    data, key, fixes, number = item, None, None, position
    if isinstance(item, TripRow):
        data, key, fixes = item.data, item.import_key, item.waypoints
        number = position if item.number is None else item.number
    try:
        given = parse(ManualTripIn, data)
        if key is not None:
            _check_key(key)
    except InvalidInputError as err:
        return RowError(number, err.field, err.reason)
    # A list: a chunk written again (without a row found bad while writing) reads it twice.
    return Checked(number, given, key, None if fixes is None else list(fixes))


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
        raise InvalidInputError("import_key", f"must be text of 1 to {MAX_KEY} characters")
    try:
        clean_text(key)
    except ValueError as err:
        raise InvalidInputError("import_key", str(err)) from None


# ----------------------------------------------------------------------------- rows
#: The trip columns a new manual trip sets, in the order of :func:`trip_values`; the others
#: are NULL. In the model's column order (the compiled INSERT is checked against it); JSON
#: columns hold ``null`` for None, as the ORM writes them (``NULL_JSON``).
TRIP_COLUMNS = (
    "id",
    "status",
    "lifecycle",
    "source",
    "date",
    "timezone",
    "start_time",
    "end_time",
    "start_lat",
    "start_lng",
    "end_lat",
    "end_lng",
    "start_address",
    "end_address",
    "distance",
    "distance_unit",
    "duration_ms",
    "classification",
    "description",
    "notes",
    "car_id",
    "customer_id",
    "class_segment_ids",
    "custom_data",
    "remote_record",
    "sent_record",
    "version",
    "created_at",
    "updated_at",
)
NULL_JSON = "null"  # what SQLAlchemy's JSON type stores for None (the ORM path does)


def trip_values(trip_id: str, given: ManualTripIn, zone: ZoneInfo, now: str) -> tuple[Any, ...]:
    """The stored values of a new manual trip, in :data:`TRIP_COLUMNS` order (``now``: the
    stored text of the instant), as ``trips.add`` stores the same input."""
    start, end = given.start_time, given.end_time
    day = given.date
    if day is None:
        assert start is not None  # ManualTripIn guarantees a date or a start time
        day = local_date(start, zone)
    sp, ep = given.start, given.end
    return (
        trip_id,
        TripStatus.COMPLETE.value,
        Lifecycle.ACTIVE.value,
        TripSource.MANUAL.value,
        day.isoformat(),
        zone.key,
        None if start is None else utc_text(start),
        None if end is None else utc_text(end),
        None if sp is None else decimal_text(sp.lat),
        None if sp is None else decimal_text(sp.lng),
        None if ep is None else decimal_text(ep.lat),
        None if ep is None else decimal_text(ep.lng),
        _address(sp),
        _address(ep),
        decimal_text(given.distance),
        given.unit.value,
        millis(end - start) if start is not None and end is not None else None,
        given.classification.value,
        given.description,
        given.notes,
        given.car_id,
        given.customer_id,
        json.dumps(given.class_segment_ids) if given.class_segment_ids else "[]",
        json.dumps(given.custom_data) if given.custom_data else "{}",
        NULL_JSON,
        NULL_JSON,
        1,
        now,
        now,
    )


def _address(place: Place | None) -> str:
    if place is None or place.address is None:
        return NULL_JSON
    return json.dumps(place.address.model_dump(exclude_none=True))

"""How and when a trip was recorded, and every later change to its record (a log row's
"contemporaneous record" columns), from the trip and the links of its history
(``tracker.chain``).

The rules are pure functions (:func:`trip_end`, :func:`recorded_after`, :func:`build`);
:func:`read` gathers their input in the caller's session.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tracker.chain import recorded_how
from tracker.coltypes import from_utc_text

__all__ = [
    "CHANGE_LINKS_SQL",
    "FIRST_EVENTS",
    "Change",
    "Provenance",
    "build",
    "how_recorded",
    "merge_fields",
    "read",
    "recorded_after",
    "trip_end",
]

#: Links that record the trip itself, not a later change to it: its recording (``stopped``
#: ends a live one), its arrival from the server, the start of its chain at migration 0018.
FIRST_EVENTS = frozenset({"recorded", "stopped", "pulled", "chain started"})

#: The SQL condition (on ``journal_event AS e``) of a trip's later changes that changed a
#: field: the links :attr:`Provenance.edited` and :attr:`Provenance.last_changed_at` count,
#: for a query that aggregates them in SQL (the report's). Built from constants only.
CHANGE_LINKS_SQL = (
    "e.hash IS NOT NULL AND e.changes IS NOT NULL AND e.changes <> '{}' AND e.event NOT IN ("
    + ", ".join(f"'{name}'" for name in sorted(FIRST_EVENTS))
    + ")"
)


@dataclass(frozen=True)
class Change:
    """One later change of a trip's record: when, what kind (``edited``, ``deleted``,
    ``changed on the server`` ...), and each covered field that changed, as
    ``{field: (old, new)}`` in stored form."""

    at: datetime
    event: str
    detail: str | None
    fields: dict[str, tuple[Any, Any]]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "at": _iso(self.at),
            "event": self.event,
            "detail": self.detail,
            "fields": {k: {"old": o, "new": n} for k, (o, n) in self.fields.items()},
        }


@dataclass(frozen=True)
class Provenance:
    """How a trip was recorded and changed since.

    ``how``: ``live GPS``, ``GPX import``, ``CSV import``, ``bulk import``, ``entered by
    hand`` or ``pulled from the server``. ``recorded_at``: when it was first stored here;
    ``trip_ended_at``: when the trip ended (its end time, else its start plus duration, else
    its start, else the end of its date); ``recorded_after``: the time between the two (0
    for a trip recorded while it happened; None when the trip has no date). ``changes``:
    each later change of its record, oldest first (with the fields it changed: none for,
    say, a conflict resolved by keeping this side). ``chain_head``: the hash of its latest
    history link.
    """

    trip_id: str
    how: str
    recorded_at: datetime
    trip_ended_at: datetime | None
    recorded_after: timedelta | None
    changes: tuple[Change, ...]
    chain_head: str | None

    @property
    def edited(self) -> bool:
        """Whether a field of the record was changed after it was first recorded (a change
        that changed no field, such as a conflict resolved by keeping this side, does not
        count)."""
        return any(c.fields for c in self.changes)

    @property
    def last_changed_at(self) -> datetime | None:
        """When a field of it was last changed (None: never)."""
        return next((c.at for c in reversed(self.changes) if c.fields), None)

    @property
    def changed_fields(self) -> dict[str, tuple[Any, Any]]:
        """Each field changed since it was recorded: ``{field: (first old, latest new)}``
        (:func:`merge_fields` of its changes)."""
        return merge_fields(c.fields for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (``recorded_after_s``: whole seconds)."""
        after, last = self.recorded_after, self.last_changed_at
        return {
            "how": self.how,
            "recorded_at": _iso(self.recorded_at),
            "trip_ended_at": None if self.trip_ended_at is None else _iso(self.trip_ended_at),
            "recorded_after_s": None if after is None else int(after.total_seconds()),
            "edited": self.edited,
            "last_changed_at": None if last is None else _iso(last),
            "changes": [c.to_json() for c in self.changes],
            "chain_head": self.chain_head,
        }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def trip_end(
    day: date | None,
    zone: str,
    start: datetime | None,
    end: datetime | None,
    duration_ms: int | None,
) -> datetime | None:
    """When a trip ended, from what it says (see :class:`Provenance`)."""
    if end is not None:
        return end
    if start is not None:
        return start + timedelta(milliseconds=duration_ms or 0)
    if day is None:
        return None
    # Only a date: the trip ended by the end of that day where it was made.
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(zone))


def recorded_after(recorded: datetime, ended: datetime | None) -> timedelta | None:
    """How long after the trip's end it was recorded (never negative: a trip recorded
    while it happened took 0)."""
    if ended is None:
        return None
    return max(timedelta(0), recorded - ended)


def how_recorded(said: str | None, source: str, origin: str | None, import_key: str | None) -> str:
    """How a trip was first recorded: what its first link said (``said``: the detail of a
    first link ``recorded``, covered by the chain), else what its row says
    (:func:`tracker.chain.recorded_how`)."""
    return said or recorded_how(source, origin, import_key)


def merge_fields(changes: Iterable[Mapping[str, Sequence[Any]]]) -> dict[str, tuple[Any, Any]]:
    """The fields changed over ``changes`` (each ``{field: (old, new)}``, oldest first), as
    ``{field: (its old value before the first change, its latest new value)}``, in the order
    fields first changed. A field changed and changed back is still listed (it was edited)."""
    merged: dict[str, tuple[Any, Any]] = {}
    for fields in changes:
        for name, (old, new) in fields.items():
            merged[name] = (merged[name][0] if name in merged else old, new)
    return merged


LinkRow = tuple[str, str, str | None, str | None]
"""A link as :func:`build` reads it: instant (stored text), event, detail, changes (JSON)."""


def build(trip: Any, import_key: str | None, links: Sequence[LinkRow]) -> Provenance:
    """The provenance of ``trip`` (a trip row) from its import key and its links (id order)."""
    first = links[0] if links else None
    said = first[2] if first is not None and first[1] == "recorded" else None
    how = how_recorded(said, trip.source, trip.origin, import_key)
    changes = tuple(
        Change(
            at=_at(at),
            event=event,
            detail=detail,
            fields={k: (v[0], v[1]) for k, v in json.loads(text or "{}").items()},
        )
        for at, event, detail, text in links
        if event not in FIRST_EVENTS
    )
    ended = trip_end(trip.date, trip.timezone, trip.start_time, trip.end_time, trip.duration_ms)
    return Provenance(
        trip_id=trip.id,
        how=how,
        recorded_at=trip.created_at,
        trip_ended_at=ended,
        recorded_after=recorded_after(trip.created_at, ended),
        changes=changes,
        chain_head=trip.chain_head,
    )


def _at(text: str) -> datetime:
    value = from_utc_text(text)
    assert value is not None
    return value


_KEY_SQL = "SELECT key FROM trip_import WHERE trip_id = ? LIMIT 1"
_LINKS_SQL = (
    "SELECT at, event, detail, changes FROM journal_event "
    "WHERE trip_id = ? AND hash IS NOT NULL ORDER BY id"
)


def read(s: Session, trip: Any) -> Provenance:
    """The provenance of ``trip`` (its row), read in ``s``."""
    conn = s.connection()
    key = conn.exec_driver_sql(_KEY_SQL, (trip.id,)).scalar()
    links = [tuple(r) for r in conn.exec_driver_sql(_LINKS_SQL, (trip.id,))]
    return build(trip, key, links)

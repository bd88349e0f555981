"""Conflicts held for the user (``store.conflicts``): a trip changed here and on the server in
different ways, or deleted there and edited here.

The trip's change is held (not pushed, not lost) until it is resolved: per field, keep the
value here (``local``) or take the server's (``remote``). Resolving re-queues the merged
trip; its base becomes the server's copy the conflict was found with. docs/sync-guarantees.md
("Two-way sync") has the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from tracker import journal
from tracker.db import Database
from tracker.enums import EntryOp, EntryState, Lifecycle
from tracker.errors import InvalidInputError, NotFoundError
from tracker.inbox import write_values
from tracker.inputs import RemoteTripIn, parse
from tracker.links import covered_row, link
from tracker.lookup import find_trip
from tracker.tables import Conflict, JournalEntry, Trip

__all__ = ["ConflictField", "ConflictView", "Conflicts", "Side"]

Side = Literal["local", "remote"]


class ConflictField(BaseModel):
    """One field that differs: its value in the base (the last server copy seen), here, and
    on the server (as the server spells it)."""

    model_config = ConfigDict(frozen=True)

    name: str
    base: Any
    local: Any
    server: Any


class ConflictView(BaseModel):
    """A held conflict (``kind``: ``edit``, or ``deleted`` on the server, edited here)."""

    model_config = ConfigDict(frozen=True)

    trip_id: str
    kind: str
    fields: list[ConflictField]
    found_at: datetime
    description: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return self.model_dump(mode="json")


class Conflicts:
    """The conflicts of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[ConflictView]:
        """Every held conflict, oldest first."""
        with self._db.read() as s:
            rows = s.exec(select(Conflict).order_by(col(Conflict.found_at))).all()
            return [_view(s, row) for row in rows]

    def count(self) -> int:
        """How many trips are held in a conflict."""
        with self._db.read() as s:
            return len(s.exec(select(Conflict.trip_id)).all())

    def get(self, trip_id: str) -> ConflictView:
        """The conflict of a trip (id or unique prefix)."""
        with self._db.read() as s:
            return _view(s, _row(s, trip_id))

    def resolve(
        self,
        trip_id: str,
        take: Side | None = None,
        fields: Mapping[str, Side] | None = None,
    ) -> ConflictView:
        """Resolve a trip's conflict: ``take`` one side for every field, or choose per field
        (``fields``, e.g. ``{"description": "local"}``; fields not named take ``take``).
        Re-queues the merged trip (or, for a trip deleted on the server, re-creates it there
        when ``local`` is kept, deletes it here when ``remote`` is taken)."""
        choices = dict(fields or {})
        if take not in (None, "local", "remote"):
            raise InvalidInputError("take", "must be local or remote")
        for name, side in choices.items():
            if side not in ("local", "remote"):
                raise InvalidInputError(f"fields.{name}", "must be local or remote")
        now = self._db.now()
        with self._db.write() as s:
            row = _row(s, trip_id)
            view = _view(s, row)
            names = [f["name"] for f in row.fields]
            unknown = sorted(set(choices) - set(names))
            if unknown:
                raise InvalidInputError(
                    "fields", f"{', '.join(unknown)} not in conflict (conflicting: {names})"
                )
            undecided = [n for n in names if n not in choices and take is None]
            if undecided or (row.kind == "deleted" and take is None and not choices):
                raise InvalidInputError(
                    "take", f"choose local or remote for {', '.join(undecided) or 'the trip'}"
                )
            trip = s.get(Trip, row.trip_id)
            entry = s.get(JournalEntry, row.entry_seq)
            assert trip is not None
            assert entry is not None
            if row.kind == "deleted":
                _resolve_deleted(s, trip, entry, take or "local", now)
            else:
                _resolve_edit(s, trip, entry, row, {n: choices.get(n, take) for n in names}, now)
            s.delete(row)
            return view


def _row(s: Session, trip_id: str) -> Conflict:
    trip = find_trip(s, trip_id)
    row = s.get(Conflict, trip.id)
    if row is None:
        raise NotFoundError("conflict", trip_id)
    return row


def _view(s: Session, row: Conflict) -> ConflictView:
    trip = s.get(Trip, row.trip_id)
    return ConflictView(
        trip_id=row.trip_id,
        kind=row.kind,
        fields=[
            ConflictField(**{k: f.get(k) for k in ("name", "base", "local", "server")})
            for f in row.fields
        ],
        found_at=row.found_at,
        description=None if trip is None else trip.description,
    )


def _resolve_edit(
    s: Session,
    trip: Trip,
    entry: JournalEntry,
    row: Conflict,
    sides: Mapping[str, Side | None],
    now: datetime,
) -> None:
    before = covered_row(s, trip.id)
    for conflict in row.fields:
        if sides[conflict["name"]] == "remote":
            write_values(s, trip, parse(RemoteTripIn, conflict["values"]), now)
    trip.remote_record = row.server_record
    trip.updated_at = now
    trip.version += 1
    s.add(trip)
    _requeue(s, entry, now)
    said = ", ".join(
        f"{name} from {'the server' if side == 'remote' else 'here'}"
        for name, side in sides.items()
    )
    link(s, trip.id, now, "conflict resolved", said, before=before)


def _resolve_deleted(
    s: Session, trip: Trip, entry: JournalEntry, side: Side, now: datetime
) -> None:
    before = covered_row(s, trip.id)
    if side == "local":
        # Kept here: sent again as a new record (the server's is gone).
        trip.remote_id = None
        trip.remote_record = None
        s.add(trip)
        entry.op = EntryOp.SAVE
        _requeue(s, entry, now)
        said = "kept here; it is created on the server again"
    else:
        trip.lifecycle = Lifecycle.DELETED
        trip.deleted_by = "server"
        trip.deleted_at = now
        trip.updated_at = now
        s.add(trip)
        entry.state = EntryState.DROPPED
        entry.updated_at = now
        s.add(entry)
        said = "deleted here too, as on the server; the edit made here is dropped"
    link(s, trip.id, now, "conflict resolved", said, before=before)


def _requeue(s: Session, entry: JournalEntry, now: datetime) -> None:
    entry.state = EntryState.PENDING
    journal.restart_streak(entry)
    entry.in_doubt = False
    entry.updated_at = now
    s.add(entry)

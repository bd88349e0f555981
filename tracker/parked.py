"""Changes the server rejected, waiting for the user (``store.parked``).

A parked change keeps the server's error type, message and param. Editing the trip
re-queues it; :meth:`ParkedChanges.retry` queues it again as it is;
:meth:`ParkedChanges.drop` gives up on it (the trip stays as it is locally).
"""

from __future__ import annotations

from tracker import journal
from tracker.db import Database
from tracker.enums import EntryState
from tracker.errors import ParkedNotFoundError
from tracker.lookup import find_parked
from tracker.views import EntryView

__all__ = ["ParkedChanges"]


class ParkedChanges:
    """The parked changes of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[EntryView]:
        """Changes the server rejected, oldest first."""
        with self._db.read() as s:
            return [EntryView.from_row(e) for e in journal.parked(s)]

    def get(self, ref: int | str) -> EntryView:
        """One parked change: by its number, or by its trip's id (or a unique prefix)."""
        with self._db.read() as s:
            return EntryView.from_row(find_parked(s, ref))

    def retry(self, ref: int | str) -> EntryView:
        """Queue a parked change again as it is (after fixing something server-side)."""
        return self._move(ref, EntryState.PENDING, "retry requested")

    def drop(self, ref: int | str) -> EntryView:
        """Give up on a parked change. The trip stays as it is locally."""
        return self._move(ref, EntryState.DROPPED, "dropped by user")

    def _move(self, ref: int | str, state: EntryState, event: str) -> EntryView:
        with self._db.write() as s:
            seq = find_parked(s, ref).seq
            assert seq is not None  # a stored entry has its number
            entry = journal.set_parked_state(s, seq, state, self._db.now(), event)
            if entry is None:
                raise ParkedNotFoundError(str(ref))
            return EntryView.from_row(entry)

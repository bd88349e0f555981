"""Changes the server rejected, waiting for the user (``store.parked``).

A parked change keeps the server's error type, message and param. Editing the trip
re-queues it; :meth:`ParkedChanges.retry` queues it again as it is;
:meth:`ParkedChanges.drop` gives up on it (the trip stays as it is locally).
"""

from __future__ import annotations

from tracker import journal
from tracker.db import Database
from tracker.enums import EntryState
from tracker.errors import NotFoundError
from tracker.tables import JournalEntry
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

    def get(self, seq: int) -> EntryView:
        """One parked change."""
        with self._db.read() as s:
            entry = s.get(JournalEntry, seq)
            if entry is None or entry.state != EntryState.PARKED:
                raise NotFoundError("parked", str(seq))
            return EntryView.from_row(entry)

    def retry(self, seq: int) -> EntryView:
        """Queue a parked change again as it is (after fixing something server-side)."""
        return self._move(seq, EntryState.PENDING, "retry requested")

    def drop(self, seq: int) -> EntryView:
        """Give up on a parked change. The trip stays as it is locally."""
        return self._move(seq, EntryState.DROPPED, "dropped by user")

    def _move(self, seq: int, state: EntryState, event: str) -> EntryView:
        with self._db.write() as s:
            entry = journal.set_parked_state(s, seq, state, self._db.now(), event)
            if entry is None:
                raise NotFoundError("parked", str(seq))
            return EntryView.from_row(entry)

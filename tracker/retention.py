"""What the sync history keeps, and for how long: the rules, pure (no I/O).

The history (``journal_event``) is the trip's audit trail: what was queued, sent, stored,
rejected, pulled, held in a conflict and decided. It grows with the edits people make and
what the servers do, never with the sync's attempts: a failed attempt updates its entry (the
attempt count, the streak's first and last failure, the last error) and adds a row only
when it changes the entry's state (:func:`failure_event`). ``tracker gc`` removes a synced
entry once it is older than the retention, with its attempt-level events; the trip's other
events stay (docs/sync-guarantees.md, "History and retention").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tracker.errors import InvalidInputError

__all__ = ["ATTEMPT_EVENTS", "GcReport", "cutoff", "failure_event"]

ATTEMPT_EVENTS = frozenset({"claimed", "retry", "released", "lease expired"})
"""Events about one attempt, not about the trip: removed with their entry (and ``claimed``,
no longer written, wherever it is older than the retention). Every other event is kept."""


def failure_event(first_of_streak: bool, *, newly_in_doubt: bool) -> bool:
    """Whether a failed or abandoned attempt adds a history row: only when it starts a
    failure streak or makes the entry in doubt (a state change). Later failures of the
    same streak only update the entry, so an outage adds no rows however long it lasts."""
    return first_of_streak or newly_in_doubt


def cutoff(now: datetime, retention: timedelta) -> datetime:
    """Entries synced at or before this instant are past retention."""
    if retention < timedelta(0):
        raise InvalidInputError("retention", "cannot be negative; 0 keeps no synced entry")
    return now - retention


@dataclass(frozen=True)
class GcReport:
    """What a garbage collection removed, or would remove (``dry_run``).

    ``entries``: synced journal entries past retention; ``events``: history rows removed
    with them (attempt-level only) and old ``claimed`` rows; ``pages_freed``: database pages
    that became free (reused by later writes; ``vacuum`` returns them to the file system);
    ``bytes_before`` / ``bytes_after``: the database file and its WAL, before and after.
    """

    dry_run: bool
    cutoff: datetime
    entries: int
    events: int
    pages_freed: int
    page_size: int
    bytes_before: int
    bytes_after: int
    vacuumed: bool = False

    @property
    def bytes_freed(self) -> int:
        """Bytes returned to the file system (0 without ``vacuum``), or freed inside the file
        (``pages_freed``) in a dry run."""
        if self.dry_run:
            return self.pages_freed * self.page_size
        return max(0, self.bytes_before - self.bytes_after)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dry_run": self.dry_run,
            "cutoff": self.cutoff.isoformat(),
            "entries": self.entries,
            "events": self.events,
            "pages_freed": self.pages_freed,
            "page_size": self.page_size,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "bytes_freed": self.bytes_freed,
            "vacuumed": self.vacuumed,
        }

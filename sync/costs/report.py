"""What a costs pull (or the refresh of one cost) did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.costs import CostView, QuarantineIn, StoredPage

__all__ = ["MAX_LISTED", "PullReport", "RefreshReport"]

MAX_LISTED = 50
"""Ambiguous links and quarantine reasons listed in a report (the counts are complete)."""


@dataclass
class PullReport:
    """What one pull run did. Counts cover this run (a resumed run: since it resumed)."""

    pages: int = 0
    items: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    quarantined: int = 0
    resolved: int = 0
    linked_by_guid: int = 0
    linked_by_time: int = 0
    unlinked: int = 0
    ambiguous: int = 0
    ambiguous_costs: list[dict[str, Any]] = field(default_factory=list)
    quarantine_reasons: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    resumed_at: dict[str, Any] | None = None
    """The request parameters the run resumed at, when it resumed an interrupted walk."""
    complete: bool = False
    stop_reason: str | None = None
    warning: str | None = None
    marked_not_seen: int = 0
    quarantine_cleared: int = 0
    stopped: str | None = None
    """Why the run stopped before the end of the list (stop requested, lease lost)."""

    def add(self, stored: StoredPage, rejects: Sequence[QuarantineIn], items: int) -> None:
        """Count one stored page."""
        self.pages += 1
        self.items += items
        self.inserted += stored.inserted
        self.updated += stored.updated
        self.unchanged += stored.unchanged
        self.stale += stored.stale
        self.quarantined += stored.quarantined
        self.resolved += stored.resolved
        self.linked_by_guid += stored.linked_by_guid
        self.linked_by_time += stored.linked_by_time
        self.unlinked += stored.unlinked
        self.ambiguous += len(stored.ambiguous)
        for link in stored.ambiguous[: MAX_LISTED - len(self.ambiguous_costs)]:
            self.ambiguous_costs.append({"cost_id": link.cost_id, "trip_ids": list(link.trip_ids)})
        for reject in rejects[: MAX_LISTED - len(self.quarantine_reasons)]:
            self.quarantine_reasons.append({"cost_id": reject.cost_id, "reason": reject.reason})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "pages": self.pages,
            "items": self.items,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "quarantined": self.quarantined,
            "resolved": self.resolved,
            "linked_by_guid": self.linked_by_guid,
            "linked_by_time": self.linked_by_time,
            "unlinked": self.unlinked,
            "ambiguous": self.ambiguous,
            "ambiguous_costs": list(self.ambiguous_costs),
            "quarantine_reasons": list(self.quarantine_reasons),
            "requests": self.requests,
            "retries": self.retries,
            "resumed_at": self.resumed_at,
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "warning": self.warning,
            "marked_not_seen": self.marked_not_seen,
            "quarantine_cleared": self.quarantine_cleared,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class RefreshReport:
    """What refreshing one cost did: ``outcome`` is inserted, updated, unchanged, stale,
    quarantined or gone (the platform no longer has it; kept locally, marked not seen)."""

    cost_id: int
    outcome: str
    reason: str | None
    cost: CostView | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "cost_id": self.cost_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "cost": None if self.cost is None else self.cost.to_json(),
        }

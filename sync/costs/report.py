"""What a costs pull (or the refresh of one cost) did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tracker.costs import CostView, QuarantineIn, StoredCounts, StoredPage

__all__ = ["MAX_LISTED", "PullReport", "RefreshReport"]

MAX_LISTED = 50
"""Ambiguous links and quarantine reasons listed in a report (the counts are complete)."""


@dataclass
class PullReport(StoredCounts):
    """What one pull run did. Counts cover this run (a resumed run: since it resumed)."""

    pages: int = 0
    items: int = 0
    ambiguous: int = 0
    ambiguous_costs: list[dict[str, Any]] = field(default_factory=list)
    quarantine_reasons: list[dict[str, Any]] = field(default_factory=list)
    repeated_ids: list[str] = field(default_factory=list)
    """IDs that came more than once on one page (the first ``MAX_LISTED``)."""
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
        """Count one stored page: ``items`` = inserted + updated + unchanged + stale +
        duplicates + quarantined + others (another account's costs, left alone)."""
        rejects = [*rejects, *stored.refused]
        self.pages += 1
        self.items += items
        self.count(stored)
        self.ambiguous += len(stored.ambiguous)
        for link in stored.ambiguous[: MAX_LISTED - len(self.ambiguous_costs)]:
            self.ambiguous_costs.append({"cost_id": link.cost_id, "trip_ids": list(link.trip_ids)})
        for reject in rejects[: MAX_LISTED - len(self.quarantine_reasons)]:
            self.quarantine_reasons.append({"cost_id": reject.cost_id, "reason": reject.reason})
        self.repeated_ids.extend(stored.repeated[: MAX_LISTED - len(self.repeated_ids)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class RefreshReport:
    """What refreshing one cost did: ``outcome`` is inserted, updated, unchanged, stale,
    quarantined, gone (the platform no longer has it; kept locally, marked not seen) or
    others (another account's cost: left alone; refresh it as that account)."""

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

"""What one push run did (counts, and the changes the server parked with its words)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ParkedItem", "PushReport"]


@dataclass(frozen=True)
class ParkedItem:
    """A change the server rejected, with its words."""

    trip_id: str
    error_type: str
    message: str
    param: str | None


@dataclass
class PushReport:
    """What one push run did. ``stopped`` says why it ended early (stop asked, time budget
    spent, lease lost, a refusal), None when it pushed everything that was due."""

    batches: int = 0
    requests: int = 0
    synced: int = 0
    deleted: int = 0
    """Deletes Tight has done (the trip was there, or might have been)."""
    deleted_locally: int = 0
    """Deletes of trips that never reached Tight: recorded with no request sent."""
    parked: list[ParkedItem] = field(default_factory=list)
    retried: int = 0
    in_doubt: int = 0
    reconciled_found: int = 0
    reconciled_absent: int = 0
    fenced: int = 0
    updates_held: int = 0
    """Updates not sent because their server copies could not be read first (they wait)."""
    stopped: str | None = None
    retry_reason: str | None = None
    """Why the last change left for later was kept (the network's or the server's words)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

"""What ``tracker status`` shows of the costs, read without loading the costs pull.

The counts come from the tally (kept by triggers, ``tracker.tally``) and the pull's
bookkeeping row from plain SQL, so a status builds neither the cost tables' SQLModel classes
nor the cost read models (issue 15, start-up). :class:`CostCounts` and :class:`PullStateView`
are also ``tracker.costs.views``' (and ``tracker.costs``') names.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from tracker.coltypes import from_utc_text, stored_json
from tracker.tally import read_tally

if TYPE_CHECKING:
    from sqlalchemy import Connection, Row

    from tracker.sidetables import PullState

__all__ = ["CostCounts", "PullStateView", "cost_counts", "pull_state"]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        """JSON-ready dict: decimals as strings (exact), instants as ISO-8601 UTC."""
        return self.model_dump(mode="json", exclude=exclude)


class PullStateView(_View):
    """The pull's bookkeeping: the last run, and whether one is waiting to be resumed."""

    name: str
    run_id: str | None
    in_progress: bool
    pages: int
    items: int
    complete: bool
    stop_reason: str | None
    started_at: datetime | None
    finished_at: datetime | None
    last_complete_at: datetime | None

    @classmethod
    def from_row(cls, row: PullState | Row[Any]) -> PullStateView:
        """Build from a table row."""
        return cls(
            name=row.name,
            run_id=row.run_id,
            in_progress=row.finished_at is None and row.checkpoint is not None,
            pages=row.pages,
            items=row.items,
            complete=row.complete,
            stop_reason=row.stop_reason,
            started_at=row.started_at,
            finished_at=row.finished_at,
            last_complete_at=row.last_complete_at,
        )


class CostCounts(_View):
    """Figures for ``tracker status``: costs by link, not seen, quarantined, last pull."""

    total: int
    linked_by_guid: int
    linked_by_time: int
    ambiguous: int
    unlinked: int
    not_seen: int
    quarantined: int
    pull: PullStateView | None


# The pull_state row with each column as the table model reads it (UTCDateTime: from_utc_text;
# JSON: stored_json, so a stored JSON null is None): a test holds it equal to the model's row.
_PULL_STATE_SQL = (
    "SELECT name, run_id, checkpoint, pages, items, complete, stop_reason, started_at, "
    "finished_at, last_complete_at FROM pull_state WHERE name = ?"
)


def pull_state(conn: Connection, name: str) -> PullStateView | None:
    """The pull's bookkeeping row, or None before the first pull."""
    row = conn.exec_driver_sql(_PULL_STATE_SQL, (name,)).first()
    if row is None:
        return None
    checkpoint = stored_json(row.checkpoint)
    return PullStateView(
        name=row.name,
        run_id=row.run_id,
        in_progress=from_utc_text(row.finished_at) is None and checkpoint is not None,
        pages=row.pages,
        items=row.items,
        complete=bool(row.complete),
        stop_reason=row.stop_reason,
        started_at=from_utc_text(row.started_at),
        finished_at=from_utc_text(row.finished_at),
        last_complete_at=from_utc_text(row.last_complete_at),
    )


# One account's counts (fleet mode), counted: the tally is the whole store's.
_ACCOUNT_LINKS_SQL = "SELECT link, count(*) FROM cost WHERE account = ? GROUP BY link"
_ACCOUNT_UNSEEN_SQL = "SELECT count(*) FROM cost WHERE account = ? AND seen_in_last_pull = FALSE"
_QUARANTINED_SQL = "SELECT count(*) FROM cost_quarantine"
_ACCOUNT_QUARANTINED_SQL = "SELECT count(*) FROM cost_quarantine WHERE account = ?"


def cost_counts(conn: Connection, name: str, *, account: str | None = None) -> CostCounts:
    """Counts for ``tracker status``: by link, not seen, quarantined, and the pull's row.
    ``account``: that account's costs only, counted (None: every cost, from the tally)."""
    if account is None:
        kept = read_tally(conn)  # kept by triggers: no scan of the costs (tracker.tally)
        by_link = {
            key.removeprefix("cost:"): n for key, n in kept.items() if key.startswith("cost:")
        }
        not_seen = by_link.pop("unseen")
        quarantined = conn.exec_driver_sql(_QUARANTINED_SQL).scalar_one()
    else:
        rows = conn.exec_driver_sql(_ACCOUNT_LINKS_SQL, (account,))
        by_link = {link: int(n) for link, n in rows}
        not_seen = conn.exec_driver_sql(_ACCOUNT_UNSEEN_SQL, (account,)).scalar_one()
        quarantined = conn.exec_driver_sql(_ACCOUNT_QUARANTINED_SQL, (account,)).scalar_one()
    return CostCounts(
        total=sum(by_link.values()),
        linked_by_guid=by_link.get("trip_guid", 0),
        linked_by_time=by_link.get("time", 0),
        ambiguous=by_link.get("ambiguous", 0),
        unlinked=by_link.get("none", 0),
        not_seen=int(not_seen),
        quarantined=int(quarantined),
        pull=pull_state(conn, name),
    )

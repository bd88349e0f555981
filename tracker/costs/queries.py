"""Reading stored costs, the quarantine and the pull's state (in the caller's transaction)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, col, select

from tracker.costs.unseen import PULL_NAME
from tracker.costs.views import CostCounts, CostView, PullStateView, QuarantineView
from tracker.errors import NotFoundError
from tracker.lookup import find_trip
from tracker.tables import Cost, CostQuarantine, PullState
from tracker.tally import read_tally

__all__ = [
    "CostNotFoundError",
    "cost_counts",
    "get_cost",
    "list_costs",
    "list_quarantine",
    "pull_status",
]


class CostNotFoundError(NotFoundError):
    """No cost with this ID is stored."""

    def __init__(self, cost_id: object) -> None:
        super().__init__("cost", str(cost_id))
        self.args = (f"no cost with id {cost_id}: check the id with `tracker costs list`",)


def list_costs(s: Session, *, trip_id: str | None = None) -> list[CostView]:
    """Stored costs, latest start first (costs without times last).

    ``trip_id`` (a trip id or a unique prefix of 4+ characters) keeps the costs linked to it.
    """
    query = select(Cost)
    if trip_id is not None:
        query = query.where(col(Cost.trip_id) == find_trip(s, trip_id).id)
    query = query.order_by(
        col(Cost.start_time).is_(None), col(Cost.start_time).desc(), col(Cost.id).desc()
    )
    return [CostView.from_row(row) for row in s.exec(query).all()]


def get_cost(s: Session, cost_id: int) -> CostView:
    """One stored cost; CostNotFoundError if there is none."""
    row = s.get(Cost, cost_id)
    if row is None:
        raise CostNotFoundError(cost_id)
    return CostView.from_row(row)


def list_quarantine(s: Session) -> list[QuarantineView]:
    """Quarantined items, most recently seen first."""
    rows = s.exec(
        select(CostQuarantine).order_by(
            col(CostQuarantine.last_seen_at).desc(), col(CostQuarantine.id).desc()
        )
    ).all()
    return [QuarantineView.from_row(row) for row in rows]


def pull_status(s: Session, *, name: str = PULL_NAME) -> PullStateView | None:
    """The pull's bookkeeping row, or None before the first pull."""
    row = s.get(PullState, name)
    return None if row is None else PullStateView.from_row(row)


def cost_counts(s: Session, *, name: str = PULL_NAME) -> CostCounts:
    """Counts for ``tracker status``."""
    conn = s.connection()
    kept = read_tally(conn)  # kept by triggers: no scan of the costs (tracker.tally)
    by_link = {key.removeprefix("cost:"): n for key, n in kept.items() if key.startswith("cost:")}
    not_seen = by_link.pop("unseen")
    quarantined = conn.execute(text("SELECT count(*) FROM cost_quarantine")).scalar_one()
    row = s.get(PullState, name)
    return CostCounts(
        total=sum(by_link.values()),
        linked_by_guid=by_link.get("trip_guid", 0),
        linked_by_time=by_link.get("time", 0),
        ambiguous=by_link.get("ambiguous", 0),
        unlinked=by_link.get("none", 0),
        not_seen=int(not_seen),
        quarantined=int(quarantined),
        pull=None if row is None else PullStateView.from_row(row),
    )

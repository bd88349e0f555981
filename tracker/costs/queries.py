"""Reading stored costs, the quarantine and the pull's state (in the caller's transaction)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, col, select

from tracker.costs import counts
from tracker.costs.treatment import CostTally, tally_costs
from tracker.costs.unseen import PULL_NAME
from tracker.costs.views import CostCounts, CostView, PullStateView, QuarantineView
from tracker.enums import Lifecycle
from tracker.errors import AmbiguousIdError, IdTooShortError, NotFoundError
from tracker.lookup import find_cost, find_trip
from tracker.tables import Cost, CostQuarantine, PullState, Trip

__all__ = [
    "CostNotFoundError",
    "cost_counts",
    "cost_tally",
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


def _classification(classification: str | None, lifecycle: str | None) -> str | None:
    """The linked trip's classification as the tax rules see it (``deleted`` when it is)."""
    return "deleted" if lifecycle == Lifecycle.DELETED else classification


def list_costs(
    s: Session,
    *,
    trip_id: str | None = None,
    treatments: Mapping[int, str] | None = None,
    account: str | None = None,
) -> list[CostView]:
    """Stored costs, latest start first (costs without times last).

    ``trip_id`` (a trip id or a unique prefix of 4+ characters) keeps the costs linked to it.
    ``treatments``: configured tax treatments by cost type id (docs/costs.md). ``account``:
    that account's costs only (None: every cost).
    """
    query = select(Cost, Trip.classification, Trip.lifecycle).outerjoin(
        Trip, col(Trip.id) == col(Cost.trip_id)
    )
    if account is not None:
        query = query.where(col(Cost.account) == account)
    if trip_id is not None:
        query = query.where(col(Cost.trip_id) == find_trip(s, trip_id).id)
    query = query.order_by(
        col(Cost.start_time).is_(None), col(Cost.start_time).desc(), col(Cost.id).desc()
    )
    return [
        CostView.from_row(
            row, trip_classification=_classification(kind, lifecycle), treatments=treatments
        )
        for row, kind, lifecycle in s.exec(query).all()
    ]


def get_cost(
    s: Session,
    cost_id: int | str,
    *,
    treatments: Mapping[int, str] | None = None,
    account: str | None = None,
) -> CostView:
    """One stored cost, by its ID or a unique prefix of its digits (4+); CostNotFoundError
    if there is none (IdTooShortError, AmbiguousIdError for a prefix), or if it is not
    ``account``'s (None: any account's)."""
    try:
        row = find_cost(s, cost_id)
    except (IdTooShortError, AmbiguousIdError):
        raise
    except NotFoundError:
        raise CostNotFoundError(cost_id) from None
    if account is not None and row.account != account:
        raise CostNotFoundError(cost_id)
    trip = None if row.trip_id is None else s.get(Trip, row.trip_id)
    kind = None if trip is None else _classification(trip.classification, trip.lifecycle)
    return CostView.from_row(row, trip_classification=kind, treatments=treatments)


def cost_tally(
    s: Session, *, treatments: Mapping[int, str] | None = None, account: str | None = None
) -> CostTally:
    """The deductible total of the stored costs (``account``'s; None: all), and every cost
    counted or not with why."""
    views = list_costs(s, treatments=treatments, account=account)
    return tally_costs(view.tax_cost() for view in views)


def list_quarantine(s: Session, *, account: str | None = None) -> list[QuarantineView]:
    """Quarantined items (``account``'s; None: all), most recently seen first."""
    query = select(CostQuarantine)
    if account is not None:
        query = query.where(col(CostQuarantine.account) == account)
    rows = s.exec(
        query.order_by(col(CostQuarantine.last_seen_at).desc(), col(CostQuarantine.id).desc())
    ).all()
    return [QuarantineView.from_row(row) for row in rows]


def pull_status(s: Session, *, name: str = PULL_NAME) -> PullStateView | None:
    """The pull's bookkeeping row, or None before the first pull."""
    row = s.get(PullState, name)
    return None if row is None else PullStateView.from_row(row)


def cost_counts(s: Session, *, name: str = PULL_NAME, account: str | None = None) -> CostCounts:
    """Counts for ``tracker status`` (:func:`tracker.costs.counts.cost_counts`)."""
    return counts.cost_counts(s.connection(), name, account=account)

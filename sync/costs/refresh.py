"""Refreshing one cost: ``GET /v1/additional-costs/{id}``, stored by the pull's rules.

A 404 carrying the platform's ``err_InvalidElement`` means the cost is gone: it is kept
locally and marked not seen. When no such cost is stored here either, the id is simply
unknown: CostNotFoundError (exit 65), not a success. Any other 404 is EndpointMissingError.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from sync.costs.api import (
    ITEM_PATH,
    CostsApi,
    exact_body,
    refuse_other_4xx,
    server_code,
    server_words,
)
from sync.costs.mapping import read_item
from sync.costs.report import RefreshReport
from sync.costs.wire import ReadContext
from sync.errors import EndpointMissingError, ProtocolError
from tracker.costs import CostNotFoundError, CostStore, CostView, QuarantineIn

__all__ = ["refresh_cost"]

_OUTCOMES = ("inserted", "updated", "stale", "unchanged", "others")


def refresh_cost(
    costs: CostStore,
    api: CostsApi,
    cost_id: int,
    *,
    context: ReadContext,
    tolerance: timedelta,
    treatments: Mapping[int, str] | None = None,
) -> RefreshReport:
    """Fetch one cost and store it (same upsert, quarantine and link rules as a pull).

    ``treatments`` (configured tax treatments by cost type id) only shape the cost shown."""
    path = ITEM_PATH.format(cost_id=cost_id)
    reply = api.get(path)
    if reply.status == 404:
        if server_code(reply) == "err_InvalidElement":
            if not costs.mark_gone(cost_id):
                raise CostNotFoundError(cost_id)  # unknown there and here: a wrong id
            return RefreshReport(
                cost_id, "gone", server_words(reply), _stored(costs, cost_id, treatments)
            )
        raise EndpointMissingError(
            f"GET {path} answered 404 ({server_words(reply)}); check TRACKER_COSTS_URL"
        )
    refuse_other_4xx(reply, path)
    if reply.status != 200:
        raise ProtocolError(f"GET {path}: HTTP {reply.status}, not 200")
    read = read_item(exact_body(reply, path), context)
    if isinstance(read, QuarantineIn):
        costs.store_rejects([read])
        return RefreshReport(
            cost_id, "quarantined", read.reason, _stored(costs, cost_id, treatments)
        )
    if read.id != cost_id:
        raise ProtocolError(f"GET {path} answered the cost with ID {read.id}")
    stored = costs.store_cost(read, link_tolerance=tolerance)
    if stored.refused:
        reason = stored.refused[0].reason
        return RefreshReport(cost_id, "quarantined", reason, _stored(costs, cost_id, treatments))
    outcome = next(name for name in _OUTCOMES if getattr(stored, name))
    return RefreshReport(cost_id, outcome, None, _stored(costs, cost_id, treatments))


def _stored(
    costs: CostStore, cost_id: int, treatments: Mapping[int, str] | None
) -> CostView | None:
    try:
        return costs.get(cost_id, treatments=treatments)
    except CostNotFoundError:
        return None

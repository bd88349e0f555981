"""``LastUpdated`` from the future: refused, so one bad date cannot freeze a cost.

The upsert keeps the newer ``LastUpdated``. A stamp years ahead (2099) would win against
every later, real update, which would all look stale: the cost would never change again. So
a stamp more than :data:`FUTURE_SLACK` ahead of this computer's clock is not trusted: the
item is quarantined with the reason, and a stored stamp that far ahead (kept before this
rule) never makes a new version stale (docs/costs.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from tracker.coltypes import utc_text
from tracker.costs.inputs import MAX_RAW, CostIn, QuarantineIn

__all__ = ["FUTURE_SLACK", "latest_trusted", "latest_trusted_text", "split_future"]

FUTURE_SLACK = timedelta(days=1)
"""How far ahead of our clock a ``LastUpdated`` may be: clock skew, a wrong platform zone
(at most 14 hours), not more."""


def latest_trusted(now: datetime) -> datetime:
    """The latest ``LastUpdated`` trusted at ``now``."""
    return now + FUTURE_SLACK


def latest_trusted_text(now: datetime) -> str:
    """:func:`latest_trusted` in storage form (UTC text, compared as text by the upsert)."""
    return utc_text(latest_trusted(now))


def split_future(costs: Sequence[CostIn], now: datetime) -> tuple[list[CostIn], list[QuarantineIn]]:
    """``costs`` as (kept, refused): those whose ``LastUpdated`` is beyond the trusted limit
    are refused, as quarantine entries saying why."""
    limit = latest_trusted(now)
    kept: list[CostIn] = []
    refused: list[QuarantineIn] = []
    for cost in costs:
        if cost.last_updated <= limit:
            kept.append(cost)
        else:
            refused.append(_refuse(cost, limit))
    return kept, refused


def _refuse(cost: CostIn, limit: datetime) -> QuarantineIn:
    raw = json.dumps(cost.raw, ensure_ascii=True, sort_keys=True, default=str)
    if len(raw) > MAX_RAW:
        raw = raw[: MAX_RAW - 40] + f"... [{len(raw)} characters, cut]"
    return QuarantineIn(
        cost_id=str(cost.id),
        raw=raw,
        reason=(
            f"LastUpdated: {cost.last_updated:%Y-%m-%d %H:%M:%S} UTC is after "
            f"{limit:%Y-%m-%d %H:%M:%S} UTC (this computer's clock plus "
            f"{FUTURE_SLACK.days} day): a date from the future would make every later "
            "update look stale. Retried every pull; check the platform's data, or this "
            "computer's clock and TRACKER_COSTS_PLATFORM_TIMEZONE"
        ),
    )

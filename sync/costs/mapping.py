"""The platform's cost items as the store takes them: one item at a time, never a page.

An item that validates becomes a :class:`~tracker.costs.CostIn` (not validated a second
time); one that does not becomes a :class:`~tracker.costs.QuarantineIn` with the reason:
one bad item never fails its page (docs/costs.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from sync.costs.wire import MAX_RAW, AdditionalCost, ReadContext, label_of
from sync.errors import ConfigError
from sync.http.jsonlimits import BadItem
from sync.settings import CostsSettings
from tracker.costs import CostIn, QuarantineIn, link_tolerance
from tracker.errors import InvalidInputError

__all__ = ["link_tolerance_of", "read_context", "read_item", "to_cost_in"]


def read_context(cfg: CostsSettings) -> ReadContext:
    """How items are read under ``cfg`` (platform time zone, currency, label language)."""
    try:
        zone = ZoneInfo(cfg.platform_timezone)
    except (ValueError, KeyError, OSError):
        raise ConfigError(
            f"TRACKER_COSTS_PLATFORM_TIMEZONE {cfg.platform_timezone!r} is not an IANA zone "
            "(e.g. Europe/Rome)"
        ) from None
    return ReadContext(zone=zone, currency=cfg.currency, language=cfg.language)


def link_tolerance_of(cfg: CostsSettings) -> timedelta:
    """The slack allowed when linking costs to trips by time."""
    try:
        return link_tolerance(cfg.link_tolerance)
    except InvalidInputError:
        raise ConfigError(
            "TRACKER_COSTS_LINK_TOLERANCE must be a finite number of seconds >= 0"
        ) from None


def to_cost_in(cost: AdditionalCost, raw: dict[str, Any], context: ReadContext) -> CostIn:
    """The store's input value for ``cost`` (``raw``: the item as parsed).

    Not validated a second time (``CostIn.checked``): every rule of CostIn holds here
    already. Texts have its length and NUL rules (and are valid Unicode), integers its
    range, instants are aware, the amount finite; labels (and so the label picked) pass the
    text rules of the wire model; ReadContext checked the currency.
    """
    return CostIn.checked(
        {
            "id": cost.id,
            "last_updated": cost.last_updated,
            "amount": cost.amount,
            "currency": context.currency,
            "notes": cost.notes,
            "trip_guid": cost.trip_guid,
            "start_location": cost.start_location,
            "end_location": cost.end_location,
            "start_time": cost.start,
            "end_time": cost.end,
            "type_id": cost.type_id,
            "cost_type": cost.cost_type,
            "label": label_of(cost.labels, context.language),
            "labels": dict(cost.labels),
            "ext_user_guid": cost.ext_user_guid,
            "payment_id": cost.payment_id,
            "payment_status": cost.payment_status,
            "payment_attempt": cost.payment_attempt,
            "payment_user": cost.payment_user,
            "payment_notes": cost.payment_notes,
            "raw": raw,
        }
    )


def read_item(item: Any, context: ReadContext) -> CostIn | QuarantineIn:
    """Validate one raw list item: a :class:`CostIn`, or a :class:`QuarantineIn` saying why not.

    ``item`` is as :func:`loads_exact` parsed it; the CostIn keeps it as ``raw`` (decimals
    included: the store writes them as their exact text).
    """
    if isinstance(item, BadItem):
        return _reject(None, f"{item.head} ... [{item.size} bytes]", f"not readable: {item.reason}")
    if not isinstance(item, dict):
        return _reject(None, item, f"an item must be a JSON object, not {_json_type(item)}")
    try:
        cost = AdditionalCost.model_validate(item, context=context)
        return to_cost_in(cost, item, context)
    except ValidationError as err:
        return _reject(_guess_id(item), item, _reason(err))


def _reject(cost_id: str | None, raw: Any, reason: str) -> QuarantineIn:
    # ensure_ascii: lone surrogates from \ud800 escapes stay escaped, so SQLite can store it;
    # default=str writes a Decimal as its exact text.
    text = json.dumps(raw, ensure_ascii=True, sort_keys=True, default=str)
    if len(text) > MAX_RAW:
        text = text[: MAX_RAW - 40] + f"... [{len(text)} characters, cut]"
    return QuarantineIn(cost_id=cost_id, raw=text, reason=reason[:2000])


def _guess_id(item: Mapping[str, Any]) -> str | None:
    value = item.get("ID")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return json.dumps(value.strip()[:80], ensure_ascii=True)[1:-1]
    return None


def _reason(err: ValidationError) -> str:
    parts = []
    for problem in err.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in problem["loc"]) or "item"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "string_pattern_mismatch":
            message = "contains a NUL byte"  # NO_NUL is the only pattern of a text field
        parts.append(f"{where}: {message}")
    more = err.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number"

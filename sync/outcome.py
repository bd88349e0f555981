"""Pure classification of Tight's answers: per item, and for a whole batch. No I/O.

What each answer means (synced, parked, retried, in doubt, split, auth, endpoint missing) is
in docs/sync-guarantees.md, "Per item" and "Whole request".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sync.wire.tight import ErrorResponse, ItemResult, SaveResponse, WireError

PERMANENT_TYPES = frozenset(
    {"REQUIRED", "INVALID_VALUE", "INVALID_FORMAT", "BAD_REQUEST", "NOT_MODIFIABLE", "JSON_ERROR"}
)
AUTH_TYPES = frozenset({"EXPIRED_TOKEN", "INVALID_TOKEN"})


@dataclass(frozen=True)
class Sent:
    """What one request item was: the entry, the local trip id, and create or update."""

    seq: int
    local_id: str
    is_create: bool


# ---------------------------------------------------------------- per-item verdicts
@dataclass(frozen=True)
class ItemSynced:
    """The server stored the item."""

    remote_id: str | None
    record: dict[str, Any] | None


@dataclass(frozen=True)
class ItemParked:
    """The server rejected the item for a reason only the user can fix."""

    error_type: str
    message: str
    param: str | None


@dataclass(frozen=True)
class ItemRetry:
    """A retryable failure. ``in_doubt``: the server may have stored it anyway."""

    error_type: str
    message: str
    in_doubt: bool = False


@dataclass(frozen=True)
class ItemDuplicate:
    """The server says it already has this record (``remote_id`` when it names it)."""

    remote_id: str | None
    message: str


ItemVerdict = ItemSynced | ItemParked | ItemRetry | ItemDuplicate


# ---------------------------------------------------------------- batch verdicts
@dataclass(frozen=True)
class PerItem:
    """Each request item has its own verdict, in request order."""

    verdicts: list[ItemVerdict]


@dataclass(frozen=True)
class Split:
    """The whole batch was rejected without per-item results: isolate the poison items."""

    error_type: str
    message: str
    param: str | None


@dataclass(frozen=True)
class Halve:
    """The server found the batch too large."""

    message: str


@dataclass(frozen=True)
class AuthFailure:
    """401 or 403. ``kind``: expired, invalid or forbidden."""

    kind: str
    message: str


@dataclass(frozen=True)
class EndpointMissing:
    """404 on the endpoint itself."""

    message: str


@dataclass(frozen=True)
class NotProcessed:
    """429/503: the server did not process the request; safe to send again later."""

    status: int
    message: str
    retry_after: float | None


@dataclass(frozen=True)
class Unknown:
    """The outcome cannot be known (5xx, timeout, drop, malformed or mismatched body)."""

    message: str


BatchVerdict = PerItem | Split | Halve | AuthFailure | EndpointMissing | NotProcessed | Unknown


def _first_error(errors: Sequence[WireError] | None) -> WireError:
    return errors[0] if errors else WireError(type="UNKNOWN_ERROR", message="no error given")


def classify_item(item: ItemResult, sent: Sent) -> ItemVerdict:
    """The verdict for one per-item result."""
    status = item.status_code or 0
    if item.result == "SUCCESS" and (status == 0 or 200 <= status < 300):
        remote_id = item.data.get("id") if item.data else None
        if sent.is_create and not isinstance(remote_id, str):
            # Stored, but we cannot learn under which id: reconcile before sending again.
            return ItemRetry("PROTOCOL", "success without an id", in_doubt=True)
        return ItemSynced(remote_id if isinstance(remote_id, str) else None, item.data)
    error = _first_error(item.error)
    message = error.message or error.type
    if error.type == "DUPLICATE":
        remote_id = item.data.get("id") if item.data else None
        return ItemDuplicate(remote_id if isinstance(remote_id, str) else None, message)
    if error.type in PERMANENT_TYPES and not status >= 500:
        return ItemParked(error.type, message, error.param)
    return ItemRetry(error.type, message)


def correlate(
    sent: Sequence[Sent], items: Sequence[ItemResult], key: str
) -> list[ItemResult | None]:
    """Match response items to request items.

    By the echoed local id (``data.customData[key]``) first; the rest by position when the
    counts match and no echo contradicts the position. ``None`` marks an item we could not
    match (its outcome is unknown).
    """
    by_local: dict[str, ItemResult] = {}
    for item in items:
        local = _echo(item, key)
        if local is not None:
            by_local.setdefault(local, item)
    same_length = len(items) == len(sent)
    matched: list[ItemResult | None] = []
    for index, request in enumerate(sent):
        echoed = by_local.get(request.local_id)
        if echoed is not None:
            matched.append(echoed)
            continue
        if same_length:
            candidate = items[index]
            echo = _echo(candidate, key)
            matched.append(candidate if echo is None else None)
        else:
            matched.append(None)
    return matched


def _echo(item: ItemResult, key: str) -> str | None:
    data = item.data
    if not isinstance(data, Mapping):
        return None
    custom = data.get("customData")
    if not isinstance(custom, Mapping):
        return None
    value = custom.get(key)
    return value if isinstance(value, str) else None


def classify_response(
    status: int, body: Any, sent: Sequence[Sent], key: str, retry_after: float | None = None
) -> BatchVerdict:
    """The verdict for a whole ``POST /v6/mileage`` answer (``body``: parsed JSON or None)."""
    if status in (200, 207):
        try:
            parsed = SaveResponse.model_validate(body)
        except ValidationError:
            return Unknown(f"HTTP {status} with a body that is not a save response")
        if parsed.data is None:
            if status == 200 and parsed.result == "FAILURE" and parsed.error:
                error = _first_error(parsed.error)
                return Split(error.type, error.message, error.param)
            return Unknown(f"HTTP {status} without per-item results")
        matched = correlate(sent, parsed.data, key)
        verdicts: list[ItemVerdict] = []
        for request, item in zip(sent, matched, strict=True):
            if item is None:
                verdicts.append(ItemRetry("PROTOCOL", "no matching result item", in_doubt=True))
            else:
                verdicts.append(classify_item(item, request))
        return PerItem(verdicts)
    error = _error_of(body)
    message = error.message or error.type or f"HTTP {status}"
    if status == 413 or (status == 400 and "too large" in message.lower()):
        return Halve(message)
    if status == 400:
        return Split(error.type, message, error.param)
    if status == 401:
        kind = "expired" if error.type == "EXPIRED_TOKEN" else "invalid"
        return AuthFailure(kind, message)
    if status == 403:
        return AuthFailure("forbidden", message)
    if status == 404:
        return EndpointMissing(message)
    if status in (429, 503):
        return NotProcessed(status, message, retry_after)
    return Unknown(f"HTTP {status}: {message}")


def _error_of(body: Any) -> WireError:
    try:
        parsed = ErrorResponse.model_validate(body)
    except ValidationError:
        return WireError(type="UNKNOWN_ERROR", message="")
    return _first_error(parsed.error)

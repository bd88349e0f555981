"""Pure classification of Tight's answers: per item, and for a whole batch. No I/O.

What each answer means (synced, parked, retried, in doubt, split, auth, endpoint missing) is
in docs/sync-guarantees.md, "Per item" and "Whole request".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sync.tight.canonical import Canon, UnreadableRecordError, canonical
from sync.tight.wire import ErrorResponse, ItemResult, SaveResponse, WireError
from tracker.outcomes import Parked, Retry, Synced, Verdict

REMOTE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
"""What a Tight id may look like (``mlg_...``); nothing else is stored or put in a path."""

PERMANENT_TYPES = frozenset(
    {"REQUIRED", "INVALID_VALUE", "INVALID_FORMAT", "BAD_REQUEST", "NOT_MODIFIABLE", "JSON_ERROR"}
)
AUTH_TYPES = frozenset({"EXPIRED_TOKEN", "INVALID_TOKEN"})


@dataclass(frozen=True)
class Sent:
    """What one request item was: the entry, the local trip id, create or update, and the
    save item itself (None when not known)."""

    seq: int
    local_id: str
    is_create: bool
    body: Mapping[str, Any] | None = None
    canon: Canon | None = None
    """``canonical(body)``, when the sender built it with the body (off the answer's path)."""


# ---------------------------------------------------------------- batch verdicts
@dataclass(frozen=True)
class PerItem:
    """Each request item has its own verdict, in request order."""

    verdicts: list[Verdict]


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


def last_copy(
    sent: Mapping[str, Any] | None,
    echoed: Mapping[str, Any] | None,
    sent_canon: Canon | None = None,
) -> dict[str, Any] | None:
    """The server's copy to keep after a successful save: the merge base of the next pull.

    A success means the server stored what we sent. Its echo is kept when it says the same
    (canonically: in the server's own spelling); an echo that says otherwise (a garbled
    answer, a proxy's rewrite) or none at all is not evidence of what is stored, and taking it
    as the base would make the next pull see edits nobody made (false conflicts). The sent
    item is kept then.
    """
    if sent is None:
        return dict(echoed) if echoed is not None else None
    if echoed is not None:
        try:
            if canonical(echoed) == (sent_canon or canonical(sent)):
                return dict(echoed)
        except UnreadableRecordError:
            pass
    return dict(sent)


def _first_error(errors: Sequence[WireError] | None) -> WireError:
    return errors[0] if errors else WireError(type="UNKNOWN_ERROR", message="no error given")


def classify_item(item: ItemResult, sent: Sent) -> Verdict:
    """The verdict for one per-item result (the retry time is the pusher's to set)."""
    status = item.status_code or 0
    remote_id = item.data.get("id") if item.data else None
    # An id that does not look like Tight's is not trusted: a create then stays in doubt.
    remote_id = remote_id if isinstance(remote_id, str) and REMOTE_ID.fullmatch(remote_id) else None
    if item.result == "SUCCESS" and (status == 0 or 200 <= status < 300):
        if sent.is_create and remote_id is None:
            # Stored, but we cannot learn under which id: reconcile before sending again.
            return Retry("PROTOCOL", "success without an id", in_doubt=True)
        return Synced(remote_id, last_copy(sent.body, item.data, sent.canon))
    error = _first_error(item.error)
    message = error.message or error.type
    if error.type == "DUPLICATE":
        # The server already has it: adopt the id it names, else look it up at once.
        if remote_id is not None:
            return Synced(remote_id, None, detail="server already had it")
        return Retry("DUPLICATE", message, in_doubt=True, retry_after=0.0)
    if error.type in PERMANENT_TYPES and not status >= 500:
        return Parked(error.type, message, error.param)
    return Retry(error.type, message, item_error=True)


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
    status: int,
    body: Any,
    sent: Sequence[Sent],
    key: str,
    retry_after: float | None = None,
    words: str | None = None,
) -> BatchVerdict:
    """The verdict for a whole ``POST /v6/mileage`` answer (``body``: parsed JSON or None;
    ``words``: the body's text, shown when it is not Tight's error shape, e.g. a proxy's
    page)."""
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
        verdicts: list[Verdict] = []
        for request, item in zip(sent, matched, strict=True):
            if item is None:
                verdicts.append(Retry("PROTOCOL", "no matching result item", in_doubt=True))
            else:
                verdicts.append(classify_item(item, request))
        return PerItem(verdicts)
    error = _error_of(body)
    if not error.message and error.type == "UNKNOWN_ERROR":
        message = f"HTTP {status}" + (f": {words}" if words else " with no explanation")
    else:
        message = error.message or error.type
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
        return NotProcessed(status, _not_processed(status, message, retry_after), retry_after)
    return Unknown(f"HTTP {status}: {message}")


def _not_processed(status: int, message: str, retry_after: float | None) -> str:
    """A 429/503's reason in words: the status, the server's words, when it asked us back."""
    meaning = "too many requests" if status == 429 else "service unavailable"
    words = message if message.startswith("HTTP ") else f"HTTP {status}: {message}"
    asked = "" if retry_after is None else f"; it asked to wait {retry_after:.0f} s"
    return f"the server did not process it ({meaning}, {words}){asked}; will retry"


def _error_of(body: Any) -> WireError:
    try:
        parsed = ErrorResponse.model_validate(body)
    except ValidationError:
        return WireError(type="UNKNOWN_ERROR", message="")
    return _first_error(parsed.error)

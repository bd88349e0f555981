"""Faults as small data objects, armed on a Sandbox with ``sandbox.add_fault(fault)``.

Every fault matches requests by ``method`` and ``path`` (``fnmatch`` patterns; ``"*"`` matches
all) and applies ``times`` times (``None``: sticky, until ``clear_faults``). Among armed faults
of the same stage the first armed one that matches wins, so arming ``Status(503)`` then
``Status(500)`` scripts the sequence 503, 500.

Stages, in the order a request meets them:

1. :class:`Latency` — sleep, then carry on (combines with any outcome below).
2. Outcomes decided *before* the endpoint runs: :class:`Status`, :class:`Drop`.
3. Outcomes applied to the endpoint's real response (state has changed by then):
   :class:`StoreThenDrop`, :class:`Drip`, :class:`Truncate`, :class:`Rewrite`.
4. Consulted by the endpoints themselves: :class:`ItemRule` (one item of a mileage save),
   :class:`IgnorePaging` (the costs list).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.sandbox.jsonbody import dumps


@dataclass(kw_only=True)
class Fault:
    """Base of all faults: which requests it hits and how many times."""

    path: str = "*"
    method: str = "*"
    times: int | None = 1

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path is hit."""
        return fnmatch.fnmatchcase(method.upper(), self.method.upper()) and fnmatch.fnmatchcase(
            path, self.path
        )


@dataclass(kw_only=True)
class Latency(Fault):
    """Wait ``seconds`` before handling the request (the client's read timeout can fire)."""

    seconds: float


@dataclass(kw_only=True)
class Status(Fault):
    """Answer ``status`` without running the endpoint (nothing is stored).

    ``retry_after`` becomes a ``Retry-After`` header verbatim (seconds, an HTTP-date or garbage).
    ``body`` is JSON (dict/list), raw bytes (e.g. an HTML proxy page) or ``None`` for a
    Tight-style ``{result: FAILURE, error: [...]}`` body.
    """

    status: int
    retry_after: str | None = None
    body: Any = None
    content_type: str = "application/json"

    def render(self) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """Body and headers of the canned response."""
        if isinstance(self.body, bytes):
            body = self.body
        elif self.body is None:
            body = dumps(
                {
                    "result": "FAILURE",
                    "data": None,
                    "error": [
                        {
                            "type": "UNKNOWN_ERROR",
                            "message": f"sandbox fault: HTTP {self.status}",
                            "param": None,
                        }
                    ],
                }
            )
        else:
            body = dumps(self.body)
        headers = [(b"content-type", self.content_type.encode("latin-1"))]
        if self.retry_after is not None:
            headers.append((b"retry-after", self.retry_after.encode("latin-1")))
        return body, headers


@dataclass(kw_only=True)
class Drop(Fault):
    """Close the connection before the endpoint runs: no response, nothing stored.

    Over loopback the client sees ``httpx.RemoteProtocolError`` ("Server disconnected without
    sending a response."); with ``reset=True`` the socket is closed with an RST instead of a FIN
    (also ``RemoteProtocolError`` or ``httpx.ReadError``, depending on timing). In-process the app
    raises ``httpx.RemoteProtocolError`` itself, which TestClient/ASGITransport re-raise.
    """

    reset: bool = False


@dataclass(kw_only=True)
class StoreThenDrop(Drop):
    """Run the endpoint (the batch *is* stored), then drop the connection instead of answering.

    The hardest case for a client: the outcome is unknowable, a blind retry creates duplicates.
    The delivery log shows the items as stored.
    """


@dataclass(kw_only=True)
class Drip(Fault):
    """Send the real response ``chunk`` bytes at a time, ``interval`` seconds apart.

    Only meaningful over loopback (in-process the client just waits for the whole body). A
    client with only per-read timeouts never times out; it needs a total deadline.
    """

    chunk: int = 1
    interval: float = 0.5


@dataclass(kw_only=True)
class Truncate(Fault):
    """Announce the full ``Content-Length``, send only part of the body, then close.

    ``keep`` is a byte count (int) or a fraction of the body (float). The client sees
    ``httpx.RemoteProtocolError`` (incomplete body) over loopback and in-process alike.
    """

    keep: int | float = 0.5

    def cut(self, body: bytes) -> bytes:
        """The part of ``body`` that is sent."""
        count = int(len(body) * self.keep) if isinstance(self.keep, float) else self.keep
        return body[: max(0, min(count, len(body) - 1))]


@dataclass(kw_only=True)
class Rewrite(Fault):
    """Replace the real response body by ``transform(parsed JSON)``: a well-formed HTTP
    response whose *content* is wrong. ``transform`` returns a JSON value, or ``bytes`` to send
    verbatim (e.g. truncated JSON text). ``status`` overrides the status code when set.
    See the factories below for the common malformations.
    """

    transform: Callable[[Any], Any]
    status: int | None = None
    content_type: str | None = None


@dataclass(kw_only=True)
class IgnorePaging(Fault):
    """The costs list ignores the page/offset parameter and always returns the first page.

    Defaults to sticky: a client's pager must stop on its own (repeated page detection).
    """

    path: str = "*/additional-costs/list"
    method: str = "GET"
    times: int | None = None


@dataclass(kw_only=True)
class ItemRule(Fault):
    """Fail the mileage items for which ``predicate(item)`` is true (``times`` counts items).

    The item is not stored and gets ``{result: FAILURE, statusCode, error: [{type, message,
    param}]}``. Rules apply only to items that pass validation.
    """

    predicate: Callable[[Mapping[str, Any]], bool]
    error_type: str = "INVALID_VALUE"
    param: str | None = None
    message: str = "rejected by a sandbox rule"
    status_code: int = 400
    path: str = "/v6/mileage"
    method: str = "POST"
    times: int | None = None

    @classmethod
    def description_contains(
        cls,
        text: str,
        *,
        error_type: str = "INVALID_VALUE",
        status_code: int = 400,
        times: int | None = None,
    ) -> ItemRule:
        """Items whose ``description`` contains ``text`` fail on param ``description``."""

        def has_text(item: Mapping[str, Any]) -> bool:
            description = item.get("description")
            return isinstance(description, str) and text in description

        return cls(
            predicate=has_text,
            error_type=error_type,
            param="description",
            message=f"description must not contain {text!r}",
            status_code=status_code,
            times=times,
        )


# -------------------------------------------------------------- malformed-response factories


def _items(payload: Any) -> list[Any] | None:
    """The list of items in a response: a bare array, ``data``, or the first list in an object."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        if isinstance(payload.get("data"), list):
            return payload["data"]  # type: ignore[no-any-return]
        for value in payload.values():
            if isinstance(value, list):
                return value
    return None


def truncated_json(
    *, keep: float = 0.5, path: str = "*", method: str = "*", times: int | None = 1
) -> Rewrite:
    """A complete HTTP response whose JSON text stops halfway (``.json()`` raises)."""

    def cut(payload: Any) -> bytes:
        text = dumps(payload)
        return text[: max(1, int(len(text) * keep))]

    return Rewrite(transform=cut, path=path, method=method, times=times)


def replace_body(
    payload: Any,
    *,
    status: int | None = None,
    content_type: str | None = None,
    path: str = "*",
    method: str = "*",
    times: int | None = 1,
) -> Rewrite:
    """Answer ``payload`` (JSON value or bytes) instead of the real body, after the real work."""
    return Rewrite(
        transform=lambda _: payload,
        status=status,
        content_type=content_type,
        path=path,
        method=method,
        times=times,
    )


def fewer_items(*, path: str = "*", method: str = "*", times: int | None = 1) -> Rewrite:
    """Drop the last element of the item list (per-item ``data`` count ≠ request count)."""

    def drop_last(payload: Any) -> Any:
        items = _items(payload)
        if items:
            items.pop()
        return payload

    return Rewrite(transform=drop_last, path=path, method=method, times=times)


def more_items(*, path: str = "*", method: str = "*", times: int | None = 1) -> Rewrite:
    """Repeat the last element of the item list (one result more than items sent)."""

    def repeat_last(payload: Any) -> Any:
        items = _items(payload)
        if items:
            items.append(items[-1])
        return payload

    return Rewrite(transform=repeat_last, path=path, method=method, times=times)


def without_field(
    name: str, *, top: bool = False, path: str = "*", method: str = "*", times: int | None = 1
) -> Rewrite:
    """Remove ``name`` from every item (or from the top-level object with ``top=True``)."""

    def strip(payload: Any) -> Any:
        targets = [payload] if top else (_items(payload) or [])
        for target in targets:
            if isinstance(target, dict):
                target.pop(name, None)
        return payload

    return Rewrite(transform=strip, path=path, method=method, times=times)


def retype_field(
    name: str,
    value: Any,
    *,
    top: bool = False,
    path: str = "*",
    method: str = "*",
    times: int | None = 1,
) -> Rewrite:
    """Set ``name`` to ``value`` (a wrong type, e.g. ``"200"`` for ``statusCode``) in every
    item (or at the top level with ``top=True``)."""

    def retype(payload: Any) -> Any:
        targets = [payload] if top else (_items(payload) or [])
        for target in targets:
            if isinstance(target, dict) and name in target:
                target[name] = value
        return payload

    return Rewrite(transform=retype, path=path, method=method, times=times)


# ------------------------------------------------------------------------------ the book


@dataclass
class Armed:
    """A fault as armed on a sandbox: how often it still applies and how often it did."""

    fault: Fault
    remaining: int | None
    hits: int = 0

    @property
    def spent(self) -> bool:
        """Whether it will not apply again."""
        return self.remaining is not None and self.remaining <= 0


@dataclass
class FaultBook:
    """The armed faults, in arming order. Not thread-safe by itself: the Sandbox lock guards it."""

    armed: list[Armed] = field(default_factory=list)

    def add(self, fault: Fault) -> Armed:
        """Arm ``fault``; returns its handle (``handle.hits`` counts applications)."""
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or None for a sticky fault)")
        handle = Armed(fault, fault.times)
        self.armed.append(handle)
        return handle

    def take(
        self,
        kinds: tuple[type[Fault], ...],
        method: str,
        path: str,
        accept: Callable[[Fault], bool] | None = None,
    ) -> Fault | None:
        """The first matching armed fault of one of ``kinds`` (exact classes), consumed once."""
        for handle in self.armed:
            fault = handle.fault
            if handle.spent or type(fault) not in kinds or not fault.matches(method, path):
                continue
            if accept is not None and not accept(fault):
                continue
            handle.hits += 1
            if handle.remaining is not None:
                handle.remaining -= 1
            return fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        self.armed.clear()

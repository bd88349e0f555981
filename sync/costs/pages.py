"""Reading one page of a paged list: the items (still raw) and the end-of-list hints.

The platform's paging contract is undocumented: a page may be a bare JSON array or an
envelope whose keys, total count and has-next flag are settings (docs/costs.md). Pure: no
I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.errors import ProtocolError

__all__ = ["PageResult", "decode_page", "page_fingerprint"]


@dataclass(frozen=True)
class PageResult:
    """One decoded page: raw items (validated later, one by one) and the end-of-list hints."""

    items: list[Any]
    total: int | None = None
    has_next: bool | None = None


def _lookup(mapping: Mapping[str, Any], key: str, what: str) -> tuple[bool, Any]:
    """Find ``key`` exactly, else case-insensitively; (found, value). Ambiguity is an error."""
    if key in mapping:
        return True, mapping[key]
    folded = key.casefold()
    matches = [k for k in mapping if isinstance(k, str) and k.casefold() == folded]
    if len(matches) > 1:
        raise ProtocolError(
            f"the page envelope has several keys matching the {what} key {key!r}: "
            f"{sorted(matches)}; configure the exact key"
        )
    if matches:
        return True, mapping[matches[0]]
    return False, None


def _as_count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ProtocolError(f"the total count in {where} is a boolean ({value!r}), not a number")
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        count = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        count = int(value)
    else:
        raise ProtocolError(f"the total count in {where} is not a whole number: {value!r:.80}")
    if count < 0:
        raise ProtocolError(f"the total count in {where} is negative: {count}")
    return count


def _as_flag(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ProtocolError(f"the has-next flag in {where} is not a boolean: {value!r:.80}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # httpx.Headers is case-insensitive, a plain dict is not: look both ways.
    if name in headers:
        return headers[name]
    folded = name.casefold()
    for key, value in headers.items():
        if key.casefold() == folded:
            return value
    return None


def decode_page(
    status: int,
    headers: Mapping[str, str],
    body_json: Any,
    *,
    items_key: str,
    total_key: str | None = None,
    has_next_key: str | None = None,
    total_header: str | None = None,
) -> PageResult:
    """Decode one list response into a :class:`PageResult`; items are returned raw.

    Accepted bodies:

    - a bare JSON array: the items;
    - an object (envelope) with the items under ``items_key``, an optional total under
      ``total_key`` and an optional has-next flag under ``has_next_key``. Keys match exactly
      first, then case-insensitively (``Items`` finds ``items``), since the platform's casing
      is undocumented; two keys differing only in case are refused as ambiguous. ``null``
      items mean an empty page; a ``null`` or absent total / flag means "not given".

    A 204 response is an empty page. The total may also come from the ``total_header`` response
    header (the envelope's total wins when both are present). Counts given as numeric strings
    and flags given as ``"true"``/``"false"`` are tolerated.

    Raises :class:`~sync.errors.ProtocolError` (a transient error: the pull stops, keeps its
    checkpoint and is retried later) when the status is not 2xx or the body is neither shape.
    """
    if status == 204:
        body_json = [] if body_json is None else body_json
    if not 200 <= status < 300:
        raise ProtocolError(f"a page request answered HTTP {status}, not a 2xx success")
    header_total = None
    if total_header is not None:
        raw = _header(headers, total_header)
        if raw is not None:
            header_total = _as_count(raw, f"header {total_header}")

    if isinstance(body_json, list):
        return PageResult(items=body_json, total=header_total)
    if not isinstance(body_json, dict):
        raise ProtocolError(
            f"a page must be a JSON array or an object with the items under {items_key!r}; "
            f"got {type(body_json).__name__}"
        )
    found, items = _lookup(body_json, items_key, "items")
    if not found:
        keys = ", ".join(sorted(str(k) for k in body_json)[:20]) or "none"
        raise ProtocolError(
            f"the page envelope has no {items_key!r} key (keys: {keys}); "
            "set TRACKER_COSTS_ITEMS_KEY to the key that holds the items"
        )
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ProtocolError(
            f"the envelope's {items_key!r} is a {type(items).__name__}, not an array of items"
        )
    total = None
    if total_key is not None:
        total = _as_count(_lookup(body_json, total_key, "total")[1], f"key {total_key!r}")
    has_next = None
    if has_next_key is not None:
        has_next = _as_flag(_lookup(body_json, has_next_key, "has-next")[1], repr(has_next_key))
    return PageResult(
        items=items, total=total if total is not None else header_total, has_next=has_next
    )


def page_fingerprint(items: list[Any]) -> str:
    """A short hash of what ``items`` are: each item's ``ID`` and ``LastUpdated`` (the same
    version of the same cost), or, for an item without both, its canonical JSON (key order
    does not matter).

    Reading the whole page as canonical JSON cost a tenth of the pull's time
    (``bench/pull.py``); a page read again is the same item versions in the same order.
    """
    keys = [_item_key(item) for item in items]
    text = json.dumps(keys, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _item_key(item: Any) -> Any:
    if isinstance(item, dict):
        ident, stamp = item.get("ID"), item.get("LastUpdated")
        if isinstance(ident, int | str) and not isinstance(ident, bool) and isinstance(stamp, str):
            return ["version", ident, stamp]
    return ["item", item]

"""Reconciliation: find out whether in-doubt creates reached the server.

Tight has no idempotency key and cannot filter on ``customData`` server-side ("coming
soon"), so we page through ``POST /v6/mileage/query`` (narrowed by date when configured)
and match the local id we put in every record's ``customData`` ourselves. A record found is
adopted (its ``mlg_...`` id stored locally); a record not found after the *complete* walk is
proven absent and only then sent again. An incomplete walk proves nothing: the entries stay
in doubt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from sync.errors import ProtocolError
from sync.settings import MileageSettings
from sync.tight.verdicts import REMOTE_ID
from sync.tight.wire import QueryResponse

MAX_QUERY_PAGES = 100_000


def query_body(
    cfg: MileageSettings, cursor: str | None, dates: tuple[date, date] | None
) -> dict[str, Any]:
    """One page request of the reconcile walk (pure)."""
    body: dict[str, Any] = {
        "cursor": cursor,
        "limit": cfg.query_page_size,
        "sort": {"orderBy": "DATE", "direction": "ASC"},
    }
    if dates is not None and cfg.reconcile_date_filter:
        first, last = dates
        # One day of slack each side: the server may compute dates in another zone.
        body["filter"] = {
            "date": {
                "greaterThanEqual": (first - timedelta(days=1)).isoformat(),
                "lessThanEqual": (last + timedelta(days=1)).isoformat(),
            }
        }
    return body


def match_page(records: Iterable[Any], key: str, wanted: set[str]) -> tuple[dict[str, str], int]:
    """Local id -> remote id for the wanted ids found in one page (pure), and how many
    records could not be read (they might be ours: such a walk proves no absence). When the
    server holds two copies (a duplicate from before), the first one seen is adopted."""
    found: dict[str, str] = {}
    unreadable = 0
    for record in records:
        if not isinstance(record, dict):
            unreadable += 1
            continue
        custom = record.get("customData")
        if custom is None:
            continue  # someone else's record, without custom data
        remote_id = record.get("id")
        local = custom.get(key) if isinstance(custom, dict) else None
        # An id not shaped like Tight's is never adopted (it would go into a path).
        usable = isinstance(remote_id, str) and REMOTE_ID.fullmatch(remote_id) is not None
        if not isinstance(custom, dict) or (local is not None and not usable):
            unreadable += 1
            continue
        if isinstance(local, str) and local in wanted and local not in found:
            found[local] = remote_id  # type: ignore[assignment]  # checked above
    return found, unreadable


def find_remote_ids(
    post_query: Callable[[dict[str, Any]], Any],
    cfg: MileageSettings,
    wanted: set[str],
    dates: tuple[date, date] | None,
    records: dict[str, dict[str, Any]] | None = None,
) -> dict[str, str]:
    """Walk the query pages until every wanted id is found or the list ends.

    ``post_query(body)`` sends one query and returns the parsed JSON body (raising on
    transport or HTTP failures). ``records``, when given, receives the record found for each
    local id. Raises ProtocolError on a malformed page or a cursor loop.
    """
    found: dict[str, str] = {}
    unreadable = 0
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_QUERY_PAGES):
        body = post_query(query_body(cfg, cursor, dates))
        try:
            page = QueryResponse.model_validate(body)
        except ValidationError:
            raise ProtocolError("mileage query answered an unexpected shape") from None
        remaining = wanted - found.keys()
        matched, bad = match_page(page.data, cfg.local_id_key, remaining)
        found.update(matched)
        if records is not None and matched:
            by_id = {
                r["id"]: r
                for r in page.data
                if isinstance(r, dict) and isinstance(r.get("id"), str)
            }
            records.update({local: by_id[remote] for local, remote in matched.items()})
        unreadable += bad
        after = page.cursor.after if page.cursor else None
        if not (wanted - found.keys()):
            return found
        if after is None:
            if unreadable:
                # Absence is only proven by a walk that could read every record.
                raise ProtocolError(
                    f"mileage query returned {unreadable} unreadable record(s); "
                    "absence not proven, the in-doubt trips stay queued"
                )
            return found
        if after in seen:
            raise ProtocolError("mileage query returned a cursor it had returned before")
        seen.add(after)
        cursor = after
    raise ProtocolError(f"mileage query did not end within {MAX_QUERY_PAGES} pages")

"""Storing pulled costs: upsert by the platform's ID, links recomputed (docs/costs.md).

The hot path of a pull: one page of 100 costs per transaction. It is plain SQL handed to the
driver, static text with placeholders, as ``tracker.claims`` does for the push (id lists
travel as one JSON array through json_each): SQLAlchemy's per-statement and per-row
processing cost more than the SQL itself (bench/pull.py). Each value is written exactly as
the column types in ``tracker.coltypes`` write it, so the ORM reads the rows back as usual.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from tracker.coltypes import from_utc_text, utc_text
from tracker.costs.future import latest_trusted_text
from tracker.costs.inputs import CostIn, QuarantineIn
from tracker.costs.links import AmbiguousLink, Linker, canonical_guid

__all__ = ["StoredCounts", "StoredPage", "repeated_ids", "store_costs"]


@dataclass
class StoredCounts:
    """How many costs storing did what (a page's, or summed over a pull)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    """Items older (``LastUpdated``) than the stored copy: not applied."""
    duplicates: int = 0
    """Valid items whose ID came again on the same page: only one copy per ID is stored."""
    quarantined: int = 0
    resolved: int = 0
    """Quarantine entries removed because their item now validates."""
    linked_by_guid: int = 0
    linked_by_time: int = 0
    unlinked: int = 0
    others: int = 0
    """Items that are another account's stored costs (fleet mode): left alone."""

    def count(self, other: StoredCounts) -> None:
        """Add ``other``'s counts to these."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNTS = tuple(f.name for f in fields(StoredCounts))


@dataclass
class StoredPage(StoredCounts):
    """What storing one page (or one refreshed cost) did, with the costs left unlinked
    because they overlap several trips, the IDs that came more than once on the page, and
    the items the store itself refused (quarantined, e.g. a date from the future)."""

    ambiguous: list[AmbiguousLink] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    refused: list[QuarantineIn] = field(default_factory=list)


def repeated_ids(costs: Sequence[CostIn], rejects: Sequence[QuarantineIn]) -> list[str]:
    """IDs that occur more than once among a page's valid and quarantined items, in order
    of first occurrence (quarantine keys and valid IDs compared as text: ``"7"`` and ``7``
    claim the same cost)."""
    counts: dict[str, int] = {}
    keys = [str(c.id) for c in costs] + [r.cost_id for r in rejects if r.cost_id is not None]
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return [key for key, n in counts.items() if n > 1]


# ``raw`` as its stored text (PostgreSQL's json keeps it verbatim; psycopg would parse it),
# compared with the text of an item read again. IDs are 64-bit (BIGINT: PostgreSQL's
# INTEGER is 32-bit).
_STORED_SQL = (
    "SELECT id, last_updated, CAST(raw AS TEXT), currency, trip_guid, start_time, end_time, "
    "trip_id, link, seen_in_last_pull, account FROM cost "
    "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))"
)
# A cost's content columns, in the order of _content(); then the link and bookkeeping.
_INSERT_SQL = """
INSERT INTO cost (
    trip_guid, type_id, cost_type, label, labels, amount, currency, notes, start_location,
    end_location, start_time, end_time, last_updated, ext_user_guid, payment_id,
    payment_status, payment_attempt, payment_user, payment_notes, raw,
    trip_id, link, seen_in_last_pull, seen_run, first_seen_at, updated_at, account, id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?, ?)
"""
_UPDATE_SQL = """
UPDATE cost SET
    trip_guid = ?, type_id = ?, cost_type = ?, label = ?, labels = ?, amount = ?,
    currency = ?, notes = ?, start_location = ?, end_location = ?, start_time = ?,
    end_time = ?, last_updated = ?, ext_user_guid = ?, payment_id = ?, payment_status = ?,
    payment_attempt = ?, payment_user = ?, payment_notes = ?, raw = ?,
    trip_id = ?, link = ?, updated_at = ?
"""
_TOUCH_SQL = "UPDATE cost SET trip_id = ?, link = ?"
_SEEN_SQL = ", seen_in_last_pull = TRUE, seen_run = ?"
_WHERE_ID = " WHERE id = ?"


@dataclass(frozen=True)
class _Stored:
    """What the upsert needs of a stored row, in storage form (timestamps as UTC text)."""

    last_updated: str | None
    raw: str
    currency: str
    trip_guid: str | None
    start_time: str | None
    end_time: str | None
    trip_id: str | None
    link: str
    seen_in_last_pull: bool
    account: str | None


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every item: json.dumps with a ``default`` builds a new encoder per call.
_RAW_ENCODER = json.JSONEncoder(default=_exact)


def _raw_text(raw: dict[str, Any]) -> str:
    """The stored text of an item as received: JSON, decimals written as their exact text."""
    return _RAW_ENCODER.encode(raw)


def _opt_ts(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


@functools.lru_cache(maxsize=256)
def _labels_text(labels: tuple[tuple[str, str], ...]) -> str:
    # Memoised: a list repeats the labels of each cost type, and this was a tenth of _content.
    return json.dumps(dict(labels))


def _content(cost: CostIn, guid: str | None, raw: str) -> tuple[Any, ...]:
    """The content columns of ``cost`` in storage form (the order of :data:`_INSERT_SQL`)."""
    return (
        guid or cost.trip_guid,
        cost.type_id,
        cost.cost_type,
        cost.label,
        _labels_text(tuple(cost.labels.items())),
        format(cost.amount, "f"),
        cost.currency,
        cost.notes,
        cost.start_location,
        cost.end_location,
        _opt_ts(cost.start_time),
        _opt_ts(cost.end_time),
        utc_text(cost.last_updated),
        cost.ext_user_guid,
        cost.payment_id,
        cost.payment_status,
        _opt_ts(cost.payment_attempt),
        cost.payment_user,
        cost.payment_notes,
        raw,
    )


def _latest(costs: Iterable[CostIn]) -> dict[int, CostIn]:
    """One item per ID: the newest ``LastUpdated``, the later one on a tie."""
    latest: dict[int, CostIn] = {}
    for cost in costs:
        kept = latest.get(cost.id)
        if kept is None or cost.last_updated >= kept.last_updated:
            latest[cost.id] = cost
    return latest


def _stored(conn: Connection, ids: list[int]) -> dict[int, _Stored]:
    rows = conn.exec_driver_sql(_STORED_SQL, (json.dumps(ids),))
    return {row[0]: _Stored(*row[1:]) for row in rows}


@dataclass
class _Writes:
    """The rows of one page, by statement (each one executemany). A cost read unchanged, with
    the same link, and already seen is in none: it costs no write (docs/costs.md)."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    touches: list[tuple[Any, ...]] = field(default_factory=list)

    def run(self, conn: Connection, run_id: str | None) -> None:
        seen = _SEEN_SQL if run_id is not None else ""
        for sql, rows in (
            (_INSERT_SQL, self.inserts),
            (_UPDATE_SQL + seen + _WHERE_ID, self.updates),
            (_TOUCH_SQL + seen + _WHERE_ID, self.touches),
        ):
            if rows:
                conn.exec_driver_sql(sql, rows)


def _needs_touch(old: _Stored, link: tuple[str | None, str], *, marked_seen: bool) -> bool:
    """Whether a cost kept as stored (unchanged or stale) still needs a write: its link
    changed, or a pull read it again after it was marked not seen."""
    return (old.trip_id, old.link) != tuple(link) or (marked_seen and not old.seen_in_last_pull)


def store_costs(
    conn: Connection,
    costs: Sequence[CostIn],
    run_id: str | None,
    now: datetime,
    tolerance: timedelta,
    account: str | None = None,
) -> StoredPage:
    """Upsert ``costs`` (a newer ``LastUpdated`` wins; the later copy on a tie; one copy per
    ID, the others counted as duplicates) and link each to its trip, in the caller's
    transaction. The caller refuses stamps from the future first (``tracker.costs.future``).
    ``run_id``: the pull that read them (None for a refresh outside a pull: its "seen"
    bookkeeping is left to the pulls). ``account``: whose pull read them (None: the implicit
    account); a cost stored as another account's is left alone and counted as ``others``,
    and costs link to the account's own trips only."""
    result = StoredPage()
    latest = _latest(costs)
    result.duplicates = len(costs) - len(latest)
    if not latest:
        return result
    # A stored stamp beyond what is trusted now (kept before that rule) is no version to
    # keep: it would make every real update stale forever.
    trusted = latest_trusted_text(now)
    stored = _stored(conn, list(latest))
    for ident in [i for i, old in stored.items() if old.account != account]:
        # Another account's cost (one platform user's cost seen through another's token):
        # neither taken over nor rewritten.
        del latest[ident], stored[ident]
        result.others += 1
    if not latest:
        return result
    guids = {ident: canonical_guid(cost.trip_guid) for ident, cost in latest.items()}
    linker = Linker(conn, tolerance, account)
    linker.know_trips([*guids.values(), *(canonical_guid(s.trip_guid) for s in stored.values())])
    # Each item is decided first; the links are then looked up for the whole page at once.
    decided: list[tuple[str, int, tuple[Any, ...]]] = []
    for ident, cost in latest.items():
        old = stored.get(ident)
        guid = guids[ident]
        raw = _raw_text(cost.raw)
        if (
            old is not None
            and old.last_updated is not None
            and utc_text(cost.last_updated) < old.last_updated <= trusted
        ):
            result.stale += 1  # not applied: linked by what is stored
            start, end = from_utc_text(old.start_time), from_utc_text(old.end_time)
            linker.want(ident, canonical_guid(old.trip_guid), start, end)
            decided.append(("touch", ident, ()))
            continue
        linker.want(ident, guid, cost.start_time, cost.end_time)
        if old is None:
            result.inserted += 1
            decided.append(("insert", ident, _content(cost, guid, raw)))
        elif old.currency == cost.currency and old.raw == raw:
            result.unchanged += 1
            decided.append(("touch", ident, ()))
        else:
            result.updated += 1
            decided.append(("update", ident, _content(cost, guid, raw)))
    links = linker.resolve()
    writes = _Writes()
    stamp = utc_text(now)
    seen = (run_id,) if run_id is not None else ()
    for action, ident, content in decided:
        link = links[ident]
        if action == "insert":
            writes.inserts.append((*content, *link, run_id, stamp, stamp, account, ident))
        elif action == "update":
            writes.updates.append((*content, *link, stamp, *seen, ident))
        elif _needs_touch(stored[ident], link, marked_seen=run_id is not None):
            writes.touches.append((*link, *seen, ident))
    writes.run(conn, run_id)
    kinds = linker.kinds()
    result.linked_by_guid += kinds["trip_guid"]
    result.linked_by_time += kinds["time"]
    result.unlinked += kinds["none"]
    result.ambiguous.extend(linker.ambiguous)
    return result

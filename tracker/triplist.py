"""Trip lists paged in SQL: keyset pagination on a stable order, filters in the query.

A store holds ~100k trips after ten years; a list must cost one page, not the store. The
order is newest date first, then latest start, then id (ties broken, so it is total and
stable); a page's cursor is the sort key of its last trip, and the next page starts after
it (``WHERE key < cursor``), so trips added or deleted meanwhile never shift a page: no
trip is shown twice and none of those that were there is skipped.

The sync state filter is the same rule as :func:`tracker.triprows.sync_state`, written as
one SQL ``CASE``; a test checks the two agree.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracker.errors import InvalidInputError
from tracker.sqldates import dates_for_postgres

if TYPE_CHECKING:  # the CLI reads the page sizes without loading the database stack
    from tracker.enums import SyncState
    from tracker.views import TripView

__all__ = [
    "COUNT_SQL",
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "MORE_CAP",
    "PAGE_SQL",
    "TripPage",
    "decode_cursor",
    "encode_cursor",
    "list_sql",
    "page_params",
]

DEFAULT_PAGE = 50
"""Trips per page when no limit is given (what ``tracker trip list`` shows)."""
MAX_PAGE = 1000
"""Largest page: bigger asks are served in several pages (``--all`` walks them)."""

# The sort key, as stored: dates are ISO text and instants fixed-width UTC text, so text
# order is time order; '' puts a missing value last in a descending list. The filters are
# bound, never spliced: ``:deleted`` (1 keeps tombstones), ``:state`` (NULL: any),
# ``:k0, :k1, :k2`` (NULL: from the start), ``:every`` (1: every account's trips) else
# ``:account`` (the account's stored key, '' for the implicit account's trips, stored as
# NULL: the claims' spelling, tracker/claims.py). The account filters the walk of the list
# index as the state does, so one account's list has the same order and cursors (no index
# leads with the account: a small account among many trips walks further for a page, as a
# rare state does). The CASE is the rule of ``sync_state``; its lookups go by trip (INDEXED
# BY): left to itself the planner took the state index and read every pending entry for
# every trip (minutes on 100k trips, measured).
_FILTER = """
FROM trip AS t
WHERE (:deleted OR t.lifecycle = 'active')
  AND (:every OR coalesce(t.account, '') = :account)
  AND (:k0 IS NULL
       OR (coalesce(t.date, ''), coalesce(t.start_time, ''), t.id) < (:k0, :k1, :k2))
  AND (:state IS NULL OR :state = CASE
    WHEN t.status = 'recording' THEN 'recording'
    WHEN EXISTS (SELECT 1 FROM conflict AS c WHERE c.trip_id = t.id) THEN 'conflict'
    WHEN EXISTS (SELECT 1 FROM journal AS j INDEXED BY ix_journal_trip_seq WHERE j.trip_id = t.id
                 AND j.state = 'in_flight' AND NOT j.in_doubt) THEN 'in_flight'
    WHEN EXISTS (SELECT 1 FROM journal AS j INDEXED BY ix_journal_trip_seq WHERE j.trip_id = t.id
                 AND j.state IN ('pending', 'in_flight') AND j.in_doubt) THEN 'in_doubt'
    WHEN EXISTS (SELECT 1 FROM journal AS j INDEXED BY ix_journal_trip_seq WHERE j.trip_id = t.id
                 AND j.state = 'pending') THEN 'pending'
    WHEN EXISTS (SELECT 1 FROM journal AS j INDEXED BY ix_journal_trip_seq WHERE j.trip_id = t.id
                 AND j.state = 'parked') THEN 'parked'
    WHEN t.remote_id IS NULL AND t.lifecycle = 'deleted' THEN 'local'
    WHEN t.remote_id IS NULL THEN 'dropped'
    ELSE 'synced' END)
"""
PAGE_SQL = (
    "SELECT t.id, coalesce(t.date, ''), coalesce(t.start_time, '')"
    + _FILTER
    + "ORDER BY coalesce(t.date, '') DESC, coalesce(t.start_time, '') DESC, t.id DESC "
    "LIMIT :limit"
)
"""One page: rows of (id, date key, start key), in list order."""
MORE_CAP = 10_000
"""A page counts the trips after it up to this many ("10000+ more"): an exact count of a
decade's trips would read them all for every page."""
# As PAGE_SQL: the filter's constant text between a head and a tail (nothing is spliced in).
COUNT_SQL = "SELECT count(*) AS n\n" + "FROM (SELECT t.id " + _FILTER + "LIMIT :cap) AS later"
"""How many trips of the list come after a key (``:k0, :k1, :k2``), up to ``:cap``
(the parameters of :data:`PAGE_SQL` plus ``cap``)."""


def list_sql(sql: str, dialect: str) -> str:
    """:data:`PAGE_SQL` or :data:`COUNT_SQL` as ``dialect`` (a SQLAlchemy dialect name)
    reads it. PostgreSQL has no ``INDEXED BY`` (its planner takes the journal's trip index
    by itself) and stores the date typed: the sort key reads it as its ISO text, SQLite's
    stored form (the engine sets ``DateStyle`` ISO), so keys and cursors are the same on
    both."""
    if dialect != "postgresql":
        return sql
    sql = sql.replace(" INDEXED BY ix_journal_trip_seq", "")
    sql = dates_for_postgres(sql)
    # A parameter only compared with NULL has no type PostgreSQL can infer: say it.
    for name in (":state", ":k0", ":k1", ":k2"):
        sql = sql.replace(name, f"CAST({name} AS TEXT)")
    return sql


@dataclass(frozen=True)
class TripPage:
    """One page of a trip list.

    ``trips``: at most the page's limit, in list order. ``next``: the cursor to pass as
    ``after`` for the next page (None on the last page). ``more``: how many trips of the
    same list come after this page, counted up to :data:`MORE_CAP`; ``more_exact`` is False
    when there are more than that (``more`` is then the cap).
    """

    trips: list[TripView]
    next: str | None
    more: int
    more_exact: bool = True

    def to_json(self) -> dict[str, Any]:
        """``{"trips": [...], "more": N, "more_exact": bool, "next": cursor or null}`` (the
        CLI's ``--json``)."""
        return {
            "trips": [t.to_json() for t in self.trips],
            "more": self.more,
            "more_exact": self.more_exact,
            "next": self.next,
        }


def encode_cursor(key: tuple[str, str, str]) -> str:
    """An opaque, URL-safe cursor for the sort key of a page's last trip."""
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, str]:
    """The sort key in a cursor made by :func:`encode_cursor`; InvalidInputError otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not (isinstance(key, list) and len(key) == 3 and all(isinstance(k, str) for k in key)):
        raise InvalidInputError(
            "after", "not a cursor from a trip list; use the `next` value a list printed"
        )
    return key[0], key[1], key[2]


def page_params(
    *,
    include_deleted: bool,
    sync_state: SyncState | None,
    after: tuple[str, str, str] | None,
    limit: int,
    every_account: bool = True,
    account: str | None = None,
) -> dict[str, Any]:
    """The parameters of :data:`PAGE_SQL` (and, with the last key, :data:`COUNT_SQL`).
    ``every_account`` lists every account's trips; else those of ``account``, a stored key
    (None: the implicit account's: :func:`tracker.accounts.account_key`)."""
    k0, k1, k2 = after if after is not None else (None, None, None)
    return {
        "deleted": bool(include_deleted),
        "every": bool(every_account),
        "account": "" if every_account or account is None else account,
        "state": None if sync_state is None else str(sync_state),
        "k0": k0,
        "k1": k1,
        "k2": k2,
        "limit": limit,
    }

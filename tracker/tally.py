"""Counts a status needs, read in O(1): kept by triggers, recounted on demand.

The triggers of migration 0012 move a count in ``tally`` in the same transaction as the row
that changes it, so no code path (push, pull, import, gc, a migration) can forget one. A
recount (:func:`recount`) reads the whole store: the tests compare the two after every kind
of change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "COMPACT_PG_SQL",
    "RECOUNT_SQL",
    "TALLY_KEYS",
    "TALLY_SQL",
    "as_counts",
    "compact",
    "read_tally",
    "recount",
]

TALLY_KEYS = (
    "journal:pending",
    "journal:in_flight",
    "journal:synced",
    "journal:parked",
    "journal:dropped",
    "journal:in_doubt",
    "trip:active",
    "cost:trip_guid",
    "cost:time",
    "cost:ambiguous",
    "cost:none",
    "cost:unseen",
)

TALLY_SQL = "SELECT key, sum(n) FROM tally GROUP BY key"
"""The kept counts: rows of (key, n). On PostgreSQL a count is the sum of its rows, one per
server process that moved it (migration 0019); on SQLite each count is one row."""
COMPACT_PG_SQL = """
WITH gone AS (DELETE FROM tally WHERE shard <> 0 RETURNING key, n)
INSERT INTO tally (key, shard, n) SELECT key, 0, sum(n) FROM gone GROUP BY key
ON CONFLICT (key, shard) DO UPDATE SET n = tally.n + EXCLUDED.n
"""
"""PostgreSQL: every count's rows folded into one (gc runs it; SQLite has nothing to fold)."""
RECOUNT_SQL = """
SELECT 'journal:' || state, count(*) FROM journal GROUP BY state
UNION ALL
SELECT 'journal:in_doubt', count(*) FROM journal
WHERE state IN ('pending', 'in_flight') AND in_doubt
UNION ALL
SELECT 'trip:active', count(*) FROM trip WHERE lifecycle = 'active'
UNION ALL
SELECT 'cost:' || link, count(*) FROM cost GROUP BY link
UNION ALL
SELECT 'cost:unseen', count(*) FROM cost WHERE NOT seen_in_last_pull
"""
"""The same counts from the rows themselves: rows of (key, n)."""


def as_counts(rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """Rows of (key, n) as a count for every key of :data:`TALLY_KEYS` (0 when absent)."""
    found = {str(key): int(n) for key, n in rows}
    return {key: found.get(key, 0) for key in TALLY_KEYS}


def read_tally(conn: Connection) -> dict[str, int]:
    """Every kept count (a few rows, whatever the store's size)."""
    return as_counts(conn.exec_driver_sql(TALLY_SQL).all())


def compact(conn: Connection) -> int:
    """Fold each count's rows into one on PostgreSQL (in the caller's write transaction);
    returns how many rows were folded (0 on SQLite)."""
    if conn.dialect.name != "postgresql":
        return 0
    return int(conn.exec_driver_sql(COMPACT_PG_SQL).rowcount or 0)


def recount(conn: Connection) -> dict[str, int]:
    """The same counts computed from the rows themselves (reads the whole store)."""
    return as_counts(conn.exec_driver_sql(RECOUNT_SQL).all())

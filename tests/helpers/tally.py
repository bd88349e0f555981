"""After every test: the counts the triggers keep (``tracker.tally``) equal a recount of
every store the test left in its folder, whatever code paths it took (push, pull, import,
gc, raw SQL, migrations). A drift fails the test that caused it."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from tracker.pushcount import PENDING_RECOUNT_SQL
from tracker.tally import RECOUNT_SQL, TALLY_SQL, as_counts

__all__ = ["pg_tally_drifts", "tally_drifts"]


def tally_drifts(folder: Path) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """Every store under ``folder`` whose kept counts differ from a recount:
    path -> (kept, recounted). Files that are not stores with a tally (or are damaged on
    purpose) are left alone."""
    drifts = {}
    for path in sorted(folder.rglob("*.db")):
        try:
            uri = f"file:{path}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as con:
                has = con.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tally'"
                ).fetchone()
                if not has:
                    continue
                kept = as_counts(con.execute(TALLY_SQL).fetchall())
                counted = as_counts(con.execute(RECOUNT_SQL).fetchall())
                if _keeps_pending(con):
                    kept.update(_nonzero(con.execute(_PENDING_KEPT_SQL)))
                    counted.update(_nonzero(con.execute(PENDING_RECOUNT_SQL)))
        except sqlite3.DatabaseError:
            continue  # not a database, or one a test damaged on purpose
        if kept != counted:
            drifts[str(path)] = (kept, counted)
    return drifts


# Migration 0025's counts (SQLite): kept under keys named by the rows' values, so compared
# as their non-zero counts.
_PENDING_KEPT_SQL = (
    "SELECT key, n FROM tally WHERE key LIKE 'pending:%' OR key = 'journal:open_trips'"
)


def _keeps_pending(con: sqlite3.Connection) -> bool:
    found = con.execute(
        "SELECT 1 FROM sqlite_master "
        "WHERE type = 'trigger' AND name = 'tally_pending_journal_insert'"
    ).fetchone()
    return found is not None


def _nonzero(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    return {str(key): int(n) for key, n in rows if n}


def pg_tally_drifts(url: str) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """The same check on a PostgreSQL store: url -> (kept, recounted) when they differ."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        kept = as_counts(con.execute(TALLY_SQL.encode()).fetchall())
        counted = as_counts(con.execute(RECOUNT_SQL.encode()).fetchall())
    return {} if kept == counted else {url: (kept, counted)}

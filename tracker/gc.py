"""Garbage collection of the journal: compact synced entries past retention, shrink the file.

``collect`` runs the deletes in one IMMEDIATE transaction (committed, or rolled back for a
dry run, so a dry run counts exactly what a real one removes); ``vacuum`` rewrites the file
without its free pages. The rules of what goes are ``tracker.retention``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from tracker import tally
from tracker.coltypes import utc_text
from tracker.db import Database, translate_errors
from tracker.retention import GcReport, cutoff

__all__ = ["collect", "file_bytes", "vacuum"]

# Synced entries past retention; never an entry a conflict holds (those are open anyway).
# Spelled out in each statement (plain text, no SQL built from strings). The attempt-level
# events are ``tracker.retention.ATTEMPT_EVENTS`` (a test keeps the two in step). One pass
# over the history each (the IN list is built once): a daily job, not a hot path. Never a
# link of a trip's hash chain (``hash IS NULL``): removing one would break the chain.
_EVENTS_SQL = """
DELETE FROM journal_event
WHERE event IN ('claimed', 'lease expired', 'released', 'retry') AND hash IS NULL
  AND entry_seq IN (
      SELECT seq FROM journal WHERE state = 'synced' AND synced_at <= :cutoff
      AND seq NOT IN (SELECT entry_seq FROM conflict))
"""
# ``claimed`` is no longer written: the attempt count is on the entry.
_CLAIMED_SQL = (
    "DELETE FROM journal_event WHERE event = 'claimed' AND hash IS NULL AND at <= :cutoff"
)
_ENTRIES_SQL = """
DELETE FROM journal
WHERE state = 'synced' AND synced_at <= :cutoff AND seq NOT IN (SELECT entry_seq FROM conflict)
"""


@dataclass(frozen=True)
class _Removed:
    entries: int
    events: int
    pages_freed: int
    page_size: int


def _remove(s: Session, before: datetime) -> _Removed:
    conn = s.connection()
    params = {"cutoff": utc_text(before)}
    if conn.dialect.name == "postgresql":
        # No file pages to count (the server's VACUUM reclaims space); then the tally's rows
        # per server process are folded back into one per count (tracker.tally, 0019).
        events = _delete(conn, params)
        entries = int(conn.exec_driver_sql(_ENTRIES_SQL, params).rowcount or 0)
        tally.compact(conn)
        return _Removed(entries, events, 0, 0)
    free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one())
    events = _delete(conn, params)
    entries = int(conn.exec_driver_sql(_ENTRIES_SQL, params).rowcount or 0)
    freed = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()) - free
    page = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
    return _Removed(entries, events, max(0, freed), page)


def _delete(conn: Connection, params: dict[str, str]) -> int:
    """The attempt-level events past retention (entries' first, then old ``claimed`` rows)."""
    events = int(conn.exec_driver_sql(_EVENTS_SQL, params).rowcount or 0)
    return events + int(conn.exec_driver_sql(_CLAIMED_SQL, params).rowcount or 0)


def file_bytes(path: Path | None) -> int:
    """The database file and its WAL, in bytes (what the data folder holds); 0 for a
    PostgreSQL store (no file; gc there is SQLite-only work left, docs/decisions.md)."""
    total = 0
    if path is None:
        return total
    for name in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += name.stat().st_size
    return total


def vacuum(db: Database) -> None:
    """Rewrite the file without its free pages, then fold the WAL back into it and truncate
    it. VACUUM holds the write lock for the whole rewrite (every writer waits, a sync's
    commit fails after the busy timeout): run it while no sync runs."""
    with translate_errors(db.location):
        # The DBAPI connection itself (autocommit, see tracker.db): VACUUM cannot run inside
        # a transaction, and SQLAlchemy's connection would BEGIN first.
        conn = db.engine.raw_connection()
        if db.postgres:
            # psycopg: autocommit for this statement only (the pool expects transactions).
            driver: Any = conn.driver_connection
            try:
                driver.autocommit = True
                driver.execute("VACUUM")
            finally:
                driver.autocommit = False
                conn.close()
            return
        try:
            cursor = conn.cursor()
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            conn.close()


def collect(
    db: Database, retention: timedelta, *, dry_run: bool = False, shrink: bool = False
) -> GcReport:
    """Remove synced journal entries older than ``retention`` and their attempt-level
    events (and ``claimed`` rows older than it); with ``shrink``, VACUUM the file after.
    ``dry_run``: the same deletes, rolled back; nothing changes."""
    before_bytes = file_bytes(db.path)
    before = cutoff(db.now(), retention)
    if dry_run:
        with db.rolled_back() as s:
            removed = _remove(s, before)
    else:
        with db.write() as s:
            removed = _remove(s, before)
        if shrink:
            vacuum(db)
    return GcReport(
        dry_run=dry_run,
        cutoff=before,
        entries=removed.entries,
        events=removed.events,
        pages_freed=removed.pages_freed,
        page_size=removed.page_size,
        bytes_before=before_bytes,
        bytes_after=file_bytes(db.path),
        vacuumed=shrink and not dry_run,
    )

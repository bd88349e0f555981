"""After every test: every store it left verifies clean (``tracker verify``), whatever code
paths it took (add, import, edit, push, pull, conflicts, gc, migrations). A write path that
forgets the trip's history chain fails the test that took it. A test that changes a file
outside the tool on purpose says so with ``@pytest.mark.tampers``."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tracker.links import covered_sql
from tracker.verify import LINKS_SQL, TRIPS_SQL, scan

__all__ = ["chain_breaks", "pg_chain_breaks"]


def chain_breaks(folder: Path) -> dict[str, list[str]]:
    """Every store under ``folder`` with a trip changed outside the tool: path -> the
    findings. Files without the chain (older schemas), not stores, or damaged on purpose
    are left alone."""
    broken: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.db")):
        try:
            uri = f"file:{path}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as con:
                columns = {row[1] for row in con.execute("PRAGMA table_info(trip)")}
                if "chain_head" not in columns:
                    continue
                result = scan(con.execute(TRIPS_SQL), con.cursor().execute(LINKS_SQL))
        except sqlite3.DatabaseError:
            continue  # not a database, or one a test damaged on purpose
        if not result.ok:
            broken[str(path)] = [f"{f.trip_id}: {f.reason}" for f in result.findings]
    return broken


def pg_chain_breaks(url: str) -> dict[str, list[str]]:
    """The same check on a PostgreSQL store: url -> the findings when a chain is broken."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        trips = covered_sql(dialect="postgresql").encode()
        result = scan(con.execute(trips), con.cursor().execute(LINKS_SQL.encode()))
    return {} if result.ok else {url: [f"{f.trip_id}: {f.reason}" for f in result.findings]}

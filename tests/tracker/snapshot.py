"""Whole-database fingerprints, to prove that a rejected input changed nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from tracker.store import Tracker

TABLES = ("car", "trip", "track", "waypoint", "journal", "journal_event", "cost")


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and a content hash per table."""
    con = sqlite3.connect(path)
    try:
        result = {}
        for table in TABLES:
            rows = con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            digest = hashlib.sha256(repr(rows).encode("utf-8", "surrogatepass")).hexdigest()
            result[table] = (len(rows), digest)
        return result
    finally:
        con.close()


def store_fingerprint(store: Tracker) -> dict[str, tuple[int, str]]:
    """The same per table, read through the store's own connection: a SQLite file or a
    PostgreSQL database (compare only fingerprints of one backend: value types differ)."""
    result = {}
    with store.db.read() as s:
        con = s.connection()
        for table in TABLES:
            rows = [tuple(r) for r in con.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1")]
            digest = hashlib.sha256(repr(rows).encode("utf-8", "surrogatepass")).hexdigest()
            result[table] = (len(rows), digest)
    return result

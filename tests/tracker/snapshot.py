"""Whole-database fingerprints, to prove that a rejected input changed nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

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

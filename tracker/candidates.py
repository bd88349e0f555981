"""Ids that start with what was typed, for shell completion: read-only, quick, never failing.

A shell calls the completion on every Tab, so it opens the file read-only with the standard
library (no SQLAlchemy, no migration, no lock taken for long) and answers nothing, rather
than an error, when the file is missing, busy, damaged or not ours.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Literal

__all__ = ["MAX_CANDIDATES", "id_candidates"]

MAX_CANDIDATES = 50
"""Ids offered at most (a shell lists them all)."""

_SQL = {
    # Ranges on the primary key: ids are ASCII, so those starting with the prefix sort
    # between it and it followed by the highest code point.
    "trip": "SELECT id FROM trip WHERE id >= ?1 AND id < ?1 || char(1114111) "
    "AND lifecycle = 'active' ORDER BY id LIMIT ?2",
    "car": "SELECT id FROM car WHERE id >= ?1 AND id < ?1 || char(1114111) ORDER BY id LIMIT ?2",
}


def id_candidates(db: Path, kind: Literal["trip", "car"], prefix: str) -> list[str]:
    """Up to :data:`MAX_CANDIDATES` ids of live ``kind`` records starting with ``prefix``."""
    try:
        uri = f"{db.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=0.2)) as con:
            rows = con.execute(_SQL[kind], (prefix, MAX_CANDIDATES)).fetchall()
    except (sqlite3.Error, OSError, ValueError):
        return []
    return [str(row[0]) for row in rows]

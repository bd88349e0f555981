"""Import keys: what was imported before, so a file imported twice adds nothing.

A CSV row is keyed ``csv:<file SHA-256>:<row>``, a GPX track ``gpx:<file SHA-256>:<track>``;
the key is stored with the trip it made, in the same transaction (``trip_import``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from tracker.tables import TRIP_IMPORT

__all__ = ["imported_keys", "remember_import"]


def imported_keys(s: Any, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are in the store (``s``: a Session or a Connection)."""
    if not keys:
        return set()
    known = select(TRIP_IMPORT.c.key).where(TRIP_IMPORT.c.key.in_(list(keys)))
    return set(s.execute(known).scalars())


def remember_import(s: Any, key: str, trip_id: str) -> None:
    """Store ``key`` as imported, as the trip ``trip_id``."""
    s.execute(insert(TRIP_IMPORT).values(key=key, trip_id=trip_id))

"""Finding a trip by its id or by a unique prefix of it (what people type)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from tracker.errors import NotFoundError
from tracker.tables import Trip

__all__ = ["MIN_PREFIX", "find_trip"]

MIN_PREFIX = 4
"""Shortest id prefix that may stand for a whole id."""


def find_trip(s: Session, trip_id: str) -> Trip:
    """The trip with this id, or with this unique prefix (4+ characters), in ``s``."""
    trip = s.get(Trip, trip_id)
    if trip is None and len(trip_id) >= MIN_PREFIX and "%" not in trip_id and "_" not in trip_id:
        # A range on the primary key, not LIKE (which scans every trip): ids are ASCII.
        matches = s.exec(
            select(Trip)
            .where(col(Trip.id) >= trip_id, col(Trip.id) < trip_id + "\U0010ffff")
            .limit(2)
        ).all()
        trip = matches[0] if len(matches) == 1 else None
    if trip is None:
        raise NotFoundError("trip", trip_id)
    return trip

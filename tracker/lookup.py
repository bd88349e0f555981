"""Finding a record by its id or by a unique prefix of it (what people type).

A prefix must be at least :data:`MIN_PREFIX` characters; a shorter one, one that matches
nothing and one that matches several each get their own answer (the last lists the
candidates), so a person knows whether to type more or to look again.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from tracker.errors import AmbiguousIdError, IdTooShortError, NotFoundError
from tracker.tables import Car, Trip

__all__ = ["MAX_CANDIDATES", "MIN_PREFIX", "find_car", "find_trip"]

MIN_PREFIX = 4
"""Shortest id prefix that may stand for a whole id."""
MAX_CANDIDATES = 5
"""Candidates an ambiguous prefix lists."""

Row = TypeVar("Row", bound=SQLModel)


def _find(s: Session, model: type[Row], kind: str, given: str) -> Row:
    found = s.get(model, given)
    if found is not None:
        return found
    if len(given) < MIN_PREFIX:
        raise IdTooShortError(kind, given, MIN_PREFIX)
    key: Any = col(model.id)  # type: ignore[attr-defined]
    # A range on the primary key, not LIKE (which scans the table and reads % and _): ids
    # are ASCII, so every id starting with the prefix sorts between these two bounds.
    matches = s.exec(
        select(model).where(key >= given, key < given + "\U0010ffff").limit(MAX_CANDIDATES + 1)
    ).all()
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(kind, given)
    ids = [str(m.id) for m in matches]  # type: ignore[attr-defined]
    raise AmbiguousIdError(kind, given, ids[:MAX_CANDIDATES], more=len(ids) > MAX_CANDIDATES)


def find_trip(s: Session, trip_id: str) -> Trip:
    """The trip with this id, or with this unique prefix (4+ characters), in ``s``."""
    return _find(s, Trip, "trip", trip_id)


def find_car(s: Session, car_id: str) -> Car:
    """The car with this id, or with this unique prefix (4+ characters), in ``s``."""
    return _find(s, Car, "car", car_id)

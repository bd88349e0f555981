"""Finding a record by its id or by a unique prefix of it (what people type).

A prefix must be at least :data:`MIN_PREFIX` characters; a shorter one, one that matches
nothing and one that matches several each get their own answer (the last lists the
candidates), so a person knows whether to type more or to look again.

Numeric ids (a cost's platform ID) take a prefix of their digits, found by ranges on the
primary key (:func:`digit_prefix_ranges`); a parked change is named by its number or by its
trip's id (or a prefix of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from tracker.enums import EntryState
from tracker.errors import AmbiguousIdError, IdTooShortError, NotFoundError, ParkedNotFoundError
from tracker.tables import Car, JournalEntry, Trip

if TYPE_CHECKING:
    from tracker.sidetables import Cost

__all__ = [
    "ID_END",
    "MAX_CANDIDATES",
    "MAX_DIGITS",
    "MIN_PREFIX",
    "digit_prefix_ranges",
    "find_car",
    "find_cost",
    "find_parked",
    "find_trip",
    "find_trip_row",
]

MIN_PREFIX = 4
"""Shortest id prefix that may stand for a whole id."""
MAX_CANDIDATES = 5
"""Candidates an ambiguous prefix lists."""
MAX_DIGITS = 19
"""Digits of the largest id SQLite stores (a signed 64-bit integer)."""
ID_END = 2**63
"""One past the largest id SQLite stores."""

Row = TypeVar("Row", bound=SQLModel)
Found = TypeVar("Found")


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
    return _the_one(matches, kind, given)


def _the_one(matches: Sequence[Found], kind: str, given: str) -> Found:
    """The one match of a prefix; NotFoundError or AmbiguousIdError (with the candidates)
    otherwise."""
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(kind, given)
    ids = [str(m.id) for m in matches]  # type: ignore[attr-defined]
    raise AmbiguousIdError(kind, given, ids[:MAX_CANDIDATES], more=len(ids) > MAX_CANDIDATES)


def find_trip(s: Session, trip_id: str) -> Trip:
    """The trip with this id, or with this unique prefix (4+ characters), in ``s``."""
    return _find(s, Trip, "trip", trip_id)


def find_trip_row(s: Session, trip_id: str) -> Any:
    """As :func:`find_trip`, for reads: a row with the trip's columns as attributes, read
    with Core statements, so that a read (``trip show``) never configures the ORM's mappers
    (start-up, issue 15)."""
    table: Any = Trip.__table__  # type: ignore[attr-defined]
    conn = s.connection()
    found = conn.execute(sa_select(table).where(table.c.id == trip_id)).first()
    if found is not None:
        return found
    if len(trip_id) < MIN_PREFIX:
        raise IdTooShortError("trip", trip_id, MIN_PREFIX)
    near = table.c.id >= trip_id, table.c.id < trip_id + "\U0010ffff"
    matches = conn.execute(sa_select(table).where(*near).limit(MAX_CANDIDATES + 1)).all()
    return _the_one(matches, "trip", trip_id)


def find_car(s: Session, car_id: str) -> Car:
    """The car with this id, or with this unique prefix (4+ characters), in ``s``."""
    return _find(s, Car, "car", car_id)


def digit_prefix_ranges(prefix: str, max_digits: int = MAX_DIGITS) -> list[tuple[int, int]]:
    """The half-open ranges of the non-negative integers whose decimal text starts with
    ``prefix`` (digits), longer than it, shortest first: ``"48"`` gives ``[480, 490)``,
    ``[4800, 4900)``... up to ``max_digits`` digits, none past :data:`ID_END`. Empty for a
    prefix of ``0`` (no id is written with a leading zero) or one already ``max_digits``
    long."""
    if not prefix.isdigit() or prefix.startswith("0"):
        return []
    start = int(prefix)
    ranges = []
    for k in range(1, max_digits - len(prefix) + 1):
        low, high = start * 10**k, min((start + 1) * 10**k, ID_END)
        if low < high:
            ranges.append((low, high))
    return ranges


def find_cost(s: Session, cost_id: int | str) -> Cost:
    """The cost with this platform ID, or the one whose ID starts with these digits (4+)."""
    from tracker.sidetables import Cost  # only costs need it (tracker.sidetables)

    given = str(cost_id).strip()
    if not given.lstrip("-").isdigit():
        raise NotFoundError("cost", given)
    found = s.get(Cost, int(given))
    if found is not None:
        return found
    if given.startswith("-"):  # the platform's ids are positive: no prefix of a negative one
        raise NotFoundError("cost", given)
    if len(given) < MIN_PREFIX:  # a short number is a whole id, not a prefix
        raise NotFoundError("cost", given)
    key: Any = col(Cost.id)
    matches: list[Cost] = []
    for low, high in digit_prefix_ranges(given):
        room = MAX_CANDIDATES + 1 - len(matches)
        matches += s.exec(select(Cost).where(key >= low, key <= high - 1).limit(room)).all()
        if len(matches) > MAX_CANDIDATES:
            break
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError("cost", given)
    ids = [str(m.id) for m in matches]
    raise AmbiguousIdError("cost", given, ids[:MAX_CANDIDATES], more=len(ids) > MAX_CANDIDATES)


def find_parked(s: Session, ref: int | str) -> JournalEntry:
    """The parked change with this number, or the parked change of the trip with this id
    (or unique prefix). A number that is a parked change wins over a trip prefix."""
    given = str(ref).strip()
    if given.isdigit():
        entry = s.get(JournalEntry, int(given))
        if entry is not None and entry.state == EntryState.PARKED:
            return entry
        if len(given) < MIN_PREFIX:
            raise ParkedNotFoundError(given)
    try:
        trip = find_trip(s, given)
    except AmbiguousIdError:
        raise
    except NotFoundError:
        raise ParkedNotFoundError(given) from None
    parked = s.exec(
        select(JournalEntry)
        .where(col(JournalEntry.trip_id) == trip.id, JournalEntry.state == EntryState.PARKED)
        .order_by(col(JournalEntry.seq))
        .limit(MAX_CANDIDATES + 1)
    ).all()
    if len(parked) == 1:
        return parked[0]
    if not parked:
        raise ParkedNotFoundError(given)
    numbers = [str(e.seq) for e in parked]
    ambiguous = AmbiguousIdError(
        "parked", given, numbers[:MAX_CANDIDATES], more=len(numbers) > MAX_CANDIDATES
    )
    ambiguous.args = (
        f"trip {trip.id} has {len(numbers)} parked changes ({', '.join(ambiguous.candidates)}); "
        "give the number of one",
    )
    raise ambiguous

"""Import keys: what was imported before, so a file imported twice adds nothing.

A CSV row is keyed ``csv:<file SHA-256>:<row>``, a GPX track ``gpx:<file SHA-256>:<track>``;
the key is stored with the trip it made, in the same transaction (``trip_import``).

A trip exported by ``tracker trip export`` carries its id (CSV ``id`` column, GPX track
extension ``trip_id``); imported, it is keyed ``trip:<id>`` instead, and that key is known
to a store that imported it before *or holds the trip itself*: exporting a store and
importing the file back into it adds nothing, and neither does importing it twice anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from tracker.tables import TRIP_IMPORT, Trip

_TRIP = Trip.__table__  # type: ignore[attr-defined]

__all__ = ["ORIGIN", "imported_keys", "origin_key", "remember_import"]

#: The prefix of a key naming the trip a row was exported from.
ORIGIN = "trip:"
_MAX_ID = 200 - len(ORIGIN)  # tracker.bulkrows.MAX_KEY: keys are at most 200 characters


def origin_key(trip_id: str | None) -> str | None:
    """The import key of a row exported as trip ``trip_id`` (None: no usable id, e.g. an
    empty cell or text no export writes; the row is then keyed by file and position)."""
    text = (trip_id or "").strip()
    if not 0 < len(text) <= _MAX_ID or not text.isprintable():
        return None
    return ORIGIN + text


def imported_keys(s: Any, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are in the store (``s``: a Session or a Connection): imported
    before, or (``trip:<id>``) naming a trip the store holds."""
    if not keys:
        return set()
    known = select(TRIP_IMPORT.c.key).where(TRIP_IMPORT.c.key.in_(list(keys)))
    found = set(s.execute(known).scalars())
    ids = [k[len(ORIGIN) :] for k in keys if k.startswith(ORIGIN)]
    if ids:
        held = select(_TRIP.c.id).where(_TRIP.c.id.in_(ids))
        found.update(ORIGIN + i for i in s.execute(held).scalars())
    return found


def remember_import(s: Any, key: str, trip_id: str) -> None:
    """Store ``key`` as imported, as the trip ``trip_id``."""
    s.execute(insert(TRIP_IMPORT).values(key=key, trip_id=trip_id))

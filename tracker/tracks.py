"""A trip's stored fixes: appended under the trip's integer track key, read back decoded.

A trip gets its ``track`` row (key and time base) with its first fix; its waypoints are
``(key, seq)``-keyed rows of fixed-point integers (``tracker.fixcodec``). Callers pass the
session of their own transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlmodel import Session

from tracker.fixcodec import ACC_SCALE, DEG_SCALE, SPEED_SCALE, decode, decode_optional
from tracker.geo import Fix
from tracker.tables import TRACK, Waypoint
from tracker.triprows import from_micros

if TYPE_CHECKING:  # validation loads when fixes are written, not when they are read
    from tracker.inputs import WaypointIn, WaypointRow

__all__ = ["StoredFix", "append_fixes", "fix_count", "stored_fixes", "track_fixes"]

_TRACK = TRACK
_WAYPOINT = Waypoint.__table__  # type: ignore[attr-defined]

#: ``(seq, time, lat, lng, accuracy, speed)`` of one stored fix, in the API's units.
StoredFix = tuple[int, datetime, float, float, float | None, float | None]


def append_fixes(
    s: Session,
    trip_id: str,
    points: Iterable[WaypointIn | Mapping[str, Any] | Sequence[Any]],
) -> int:
    """Check ``points`` and append them after the trip's last fix (all or none).

    Returns how many were stored. Raises InvalidInputError (``waypoints[i].<field>``)
    before writing anything.
    """
    conn = s.connection()
    track = conn.execute(
        select(_TRACK.c.key, _TRACK.c.t0_us).where(_TRACK.c.trip_id == trip_id)
    ).first()
    if track is None:
        key = conn.execute(select(func.coalesce(func.max(_TRACK.c.key), 0) + 1)).scalar_one()
        t0, seq0, after = None, 0, None
    else:
        key, t0 = track
        last = conn.execute(
            select(_WAYPOINT.c.seq, _WAYPOINT.c.dt_us)
            .where(_WAYPOINT.c.trip_key == key)
            .order_by(_WAYPOINT.c.seq.desc())
            .limit(1)
        ).first()
        seq0, after = (last[0] + 1, t0 + last[1]) if last else (0, None)
    from tracker.inputs import waypoint_rows

    rows, base = waypoint_rows(key, seq0, points, after, t0)
    if not rows:
        return 0
    assert base is not None
    if track is None:
        conn.execute(insert(_TRACK).values(key=key, trip_id=trip_id, t0_us=base))
    _insert(s, rows)
    return len(rows)


def stored_fixes(s: Session, trip_id: str) -> list[StoredFix]:
    """The trip's fixes in order, decoded to floats and aware UTC datetimes."""
    rows = s.connection().execute(
        select(
            _WAYPOINT.c.seq,
            _TRACK.c.t0_us + _WAYPOINT.c.dt_us,
            _WAYPOINT.c.lat_e7,
            _WAYPOINT.c.lng_e7,
            _WAYPOINT.c.acc_cm,
            _WAYPOINT.c.speed_cms,
        )
        .join(_TRACK, _TRACK.c.key == _WAYPOINT.c.trip_key)
        .where(_TRACK.c.trip_id == trip_id)
        .order_by(_WAYPOINT.c.seq)
    )
    return [
        (
            seq,
            from_micros(t_us),
            decode(lat, DEG_SCALE),
            decode(lng, DEG_SCALE),
            decode_optional(acc, ACC_SCALE),
            decode_optional(spd, SPEED_SCALE),
        )
        for seq, t_us, lat, lng, acc, spd in rows
    ]


def track_fixes(s: Session, trip_id: str) -> list[Fix]:
    """The trip's fixes as :class:`~tracker.geo.Fix` values (what distances are made of)."""
    return [Fix(t, lat, lng, acc, spd) for _, t, lat, lng, acc, spd in stored_fixes(s, trip_id)]


def fix_count(s: Session, trip_id: str) -> int:
    """How many fixes the trip has."""
    return int(
        s.connection()
        .execute(
            select(func.count())
            .select_from(_WAYPOINT.join(_TRACK, _TRACK.c.key == _WAYPOINT.c.trip_key))
            .where(_TRACK.c.trip_id == trip_id)
        )
        .scalar_one()
    )


@functools.cache
def _insert_sql() -> str:
    """The Core INSERT for waypoints, compiled once for SQLite (qmark parameters)."""
    from sqlalchemy.dialects import sqlite

    return str(insert(_WAYPOINT).compile(dialect=sqlite.dialect()))


def _insert(s: Session, rows: list[WaypointRow]) -> None:
    # Core executemany of positional rows straight to the driver: SQLAlchemy's per-row
    # dict processing halved the rate in a measurement (see bench/ingest.py).
    s.connection().exec_driver_sql(_insert_sql(), rows)

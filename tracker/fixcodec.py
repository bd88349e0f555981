"""How a GPS fix is stored: small fixed-point integers, not 8-byte REALs.

A waypoint row is ``(trip_key, seq, dt_us, lat_e7, lng_e7, acc_cm, speed_cms)``. SQLite
stores an integer in 1 to 8 bytes by its size, so these take 4 bytes for a coordinate, 2 for
an accuracy or a speed and 6 for the time of a trip under nine hours, where a REAL always
takes 8 (docs/performance.md has the bytes per fix).

Precision kept (a consumer GPS fix is good to ~3-5 m and ~0.1 m/s):

- ``lat``/``lng`` in units of 1e-7 degree: 1.11 cm of latitude (less of longitude away from
  the equator), so a value is off by at most 0.56 cm. A coordinate with at most 7 decimals
  (what GPX files and phones write) reads back exactly the same float.
- ``accuracy`` in centimetres and ``speed`` in cm/s: off by at most 5 mm (5 mm/s).
- time: exact microseconds, as an offset from the trip's first fix (``track.t0_us``).

Rounding is half up (``floor(x + 0.5)``), computed the same way here and in SQL
(:func:`sql_encode`), so values converted by migration 0016 equal values written by the app.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, literal

__all__ = [
    "ACC_SCALE",
    "DEG_SCALE",
    "SPEED_SCALE",
    "decode",
    "decode_optional",
    "encode",
    "encode_optional",
    "sql_encode",
]

#: Stored units per degree (1e-7 degree), per metre (cm) and per m/s (cm/s).
DEG_SCALE = 10_000_000.0
ACC_SCALE = 100.0
SPEED_SCALE = 100.0


def encode(value: float, scale: float) -> int:
    """``value`` in stored units, rounded half up (as :func:`sql_encode`)."""
    return math.floor(value * scale + 0.5)


def encode_optional(value: float | None, scale: float) -> int | None:
    """:func:`encode`, keeping None (an unknown accuracy or speed)."""
    return None if value is None else encode(value, scale)


def decode(stored: int, scale: float) -> float:
    """A stored integer back as a float (the nearest float to the exact quotient)."""
    return stored / scale


def decode_optional(stored: int | None, scale: float) -> float | None:
    """:func:`decode`, keeping None."""
    return None if stored is None else stored / scale


def sql_encode(value: ColumnElement[Any], scale: float) -> ColumnElement[Any]:
    """:func:`encode` as a SQL expression of ``value`` (a REAL, or NULL: NULL).

    The same IEEE operations in the same order (multiply, add 0.5), then floor written with
    CAST, which truncates toward zero (SQLite's ``floor()`` is an optional build feature).
    """
    shifted = value * literal(scale) + literal(0.5)
    truncated = cast(shifted, Integer)
    return truncated - cast(shifted < truncated, Integer)

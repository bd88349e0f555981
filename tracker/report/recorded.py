"""How and when a trip was recorded, as the log shows it, from what the store has today:
the trip's source, where it came from (pulled from Tight, a CSV or GPX import key) and when
its row was created, against when the trip ended.

The one place the report asks this: when trip provenance (the recording history and its
edits) lands in the store, point :func:`recorded` at it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["Recorded", "lag_text", "recorded"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """``how`` in words, ``at`` (UTC) and ``after``: how long after the trip ended."""

    how: str
    at: dt.datetime
    after: str


def recorded(
    *,
    source: str,
    origin: str | None,
    import_key: str | None,
    created_at: dt.datetime,
    day: dt.date,
    end_time: dt.datetime | None,
    timezone: str,
) -> Recorded:
    """How and when a trip was first recorded here. A trip given only a date ended, at the
    latest, at the end of that day in its time zone."""
    if origin == "server":
        how = "pulled from Tight"
    elif import_key is not None and import_key.startswith("csv:"):
        how = "CSV import"
    elif source == "gpx" or (import_key is not None and import_key.startswith("gpx:")):
        how = "GPX import"
    elif source == "live":
        how = "live GPS"
    else:
        how = "entered by hand"
    if end_time is None:
        zone = _zone(timezone)
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
        delta = created_at - end_of_day
        if dt.timedelta(days=-1) < delta <= dt.timedelta(0):
            return Recorded(how, created_at, "on the day")
        return Recorded(how, created_at, lag_text(delta))
    return Recorded(how, created_at, lag_text(created_at - end_time))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")  # a zone this machine lacks: the day in UTC


def lag_text(delta: dt.timedelta) -> str:
    """``during the trip`` (recorded before it ended), ``same hour``, ``5 h later``,
    ``12 days later``."""
    if delta <= dt.timedelta(0):
        return "during the trip" if delta > -dt.timedelta(days=1) else "before the trip"
    hours = int(delta.total_seconds() // 3600)
    if hours < 1:
        return "within the hour"
    if hours < 48:
        return f"{hours} h later"
    return f"{delta.days} days later"

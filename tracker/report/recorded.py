"""How and when a trip was recorded, as the log shows it: how in provenance's words
(:func:`tracker.provenance.how_recorded`: what its first history link said, else its source,
where it came from and its import key), when its row was created, against when the trip
ended.

The lag is the log's own wording (``on the day`` for a trip given only a date and stored that
day); the edits since are read with the rows (:mod:`tracker.report.read`) under provenance's
rule (:data:`tracker.provenance.CHANGE_LINKS_SQL`, :func:`tracker.provenance.merge_fields`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from tracker.provenance import how_recorded

__all__ = ["Recorded", "after_text", "lag_text", "recorded"]


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
    said: str | None = None,
) -> Recorded:
    """How and when a trip was first recorded here (``said``: what its first history link
    said, see :func:`tracker.provenance.how_recorded`)."""
    how = how_recorded(said, source, origin, import_key)
    return Recorded(how, created_at, after_text(created_at, day, end_time, timezone))


def after_text(
    created_at: dt.datetime, day: dt.date, end_time: dt.datetime | None, timezone: str
) -> str:
    """How long after the trip ended it was recorded, in words. A trip given only a date
    ended, at the latest, at the end of that day in its time zone."""
    if end_time is None:
        delta = created_at - _end_of_day(day, timezone)
        if -_DAY < delta <= _ZERO:
            return "on the day"
        return lag_text(delta)
    return lag_text(created_at - end_time)


_ZERO = dt.timedelta(0)
_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=1024)
def _end_of_day(day: dt.date, timezone: str) -> dt.datetime:
    # A year of trips has a few hundred (day, zone) pairs: computed once each.
    return dt.datetime.combine(day + _DAY, dt.time(), _zone(timezone))


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

"""Links from pulled costs to local trips.

A cost links to the local trip whose id is its ``TripGuid`` (compared as UUIDs, so case and
braces do not matter); else to the one active, finished trip whose ``[start, end]`` overlaps
the cost's ``[start, end]`` widened by a tolerance. Several overlapping trips leave it
unlinked as ``ambiguous`` (reported with the first :data:`MAX_CANDIDATES` by start time),
none as ``none``. A page's links are looked up together: one query for the GUIDs, one for
every time overlap.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from tracker.coltypes import utc_text
from tracker.enums import Lifecycle
from tracker.errors import InvalidInputError

__all__ = [
    "MAX_CANDIDATES",
    "MAX_TOLERANCE",
    "AmbiguousLink",
    "Linker",
    "canonical_guid",
    "link_tolerance",
]

MAX_CANDIDATES = 5
"""Overlapping trips listed for an ambiguous cost (more exist if the list is full)."""

MAX_TOLERANCE = timedelta(days=7)
"""Link tolerances above this are clamped: beyond a week, "overlap" means nothing."""


@dataclass(frozen=True)
class AmbiguousLink:
    """A cost that overlaps several trips and was left unlinked."""

    cost_id: int
    trip_ids: tuple[str, ...]


_LOWER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical_guid(value: str | None) -> str | None:
    """``value`` as a lower-case hyphenated UUID (local trip ids look like that), or None."""
    if not value:
        return None
    if _LOWER_UUID.fullmatch(value):
        return value  # already canonical: the common case, without building a UUID
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


# Whether any trip exists (else no GUID can match), and the longest candidate trip (active,
# with both times): the overlap query can then use the start_time index, since a trip
# overlapping [lo, hi] starts in [lo - longest trip, hi]. julianday() reads our fixed-width
# UTC text; PostgreSQL reads it as a timestamptz (the Z is UTC).
_TRIPS_SQL = {
    "sqlite": """
SELECT EXISTS (SELECT 1 FROM trip WHERE coalesce(account, '') = ?),
       (SELECT max((julianday(end_time) - julianday(start_time)) * 86400.0) FROM trip
        WHERE lifecycle = ? AND start_time IS NOT NULL AND end_time IS NOT NULL
          AND coalesce(account, '') = ?)
""",
    "postgresql": """
SELECT EXISTS (SELECT 1 FROM trip WHERE coalesce(account, '') = ?),
       (SELECT CAST(max(extract(epoch FROM
                    CAST(end_time AS timestamptz) - CAST(start_time AS timestamptz)))
                AS double precision) FROM trip
        WHERE lifecycle = ? AND start_time IS NOT NULL AND end_time IS NOT NULL
          AND coalesce(account, '') = ?)
""",
}
_ACTIVE = Lifecycle.ACTIVE.value
_KNOWN_SQL = (
    "SELECT id FROM trip WHERE id IN (SELECT value FROM json_each(?)) AND coalesce(account, '') = ?"
)
# For each window of the page (JSON [[lo - longest trip, lo, hi], ...]), its first
# overlapping candidate trips by start time: ``n`` is the window's place in the list (from
# 0), its bounds are text compared with the stored text. PostgreSQL numbers the elements
# WITH ORDINALITY (from 1) and reads an element's items with ->>.
_OVERLAP_SQL = {
    "sqlite": """
SELECT n, id FROM (
    SELECT w.key AS n, t.id AS id,
           row_number() OVER (PARTITION BY w.key ORDER BY t.start_time, t.id) AS nth
    FROM json_each(?) AS w JOIN trip AS t
      ON t.start_time >= json_extract(w.value, '$[0]')
     AND t.start_time <= json_extract(w.value, '$[2]')
     AND t.end_time >= json_extract(w.value, '$[1]')
    WHERE t.lifecycle = ? AND t.start_time IS NOT NULL AND t.end_time IS NOT NULL
      AND coalesce(t.account, '') = ?)
WHERE nth <= ?
ORDER BY n, nth
""",
    "postgresql": """
SELECT n, id FROM (
    SELECT w.n - 1 AS n, t.id AS id,
           row_number() OVER (PARTITION BY w.n ORDER BY t.start_time, t.id) AS nth
    FROM jsonb_array_elements(CAST(? AS jsonb)) WITH ORDINALITY AS w (value, n) JOIN trip AS t
      ON t.start_time >= w.value ->> 0
     AND t.start_time <= w.value ->> 2
     AND t.end_time >= w.value ->> 1
    WHERE t.lifecycle = ? AND t.start_time IS NOT NULL AND t.end_time IS NOT NULL
      AND coalesce(t.account, '') = ?) AS found
WHERE nth <= ?
ORDER BY n, nth
""",
}


class Linker:
    """Finds the trip of each cost of a page, within the caller's transaction.

    ``want()`` each cost, then ``resolve()`` once: a GUID that names a local trip links at
    once; the time overlaps of the others are one query for the whole page. Only the trips
    of ``account`` (None: the implicit account) are candidates.
    """

    def __init__(self, conn: Connection, tolerance: timedelta, account: str | None = None) -> None:
        self._conn = conn
        self._account = account or ""  # the SQL compares coalesce(account, '')
        self._tolerance = min(max(tolerance, timedelta(0)), MAX_TOLERANCE)
        self._known: set[str] = set()
        self._dialect = conn.dialect.name
        any_trip, longest = conn.exec_driver_sql(
            _TRIPS_SQL[self._dialect], (self._account, _ACTIVE, self._account)
        ).one()
        self._any = bool(any_trip)
        self._span: timedelta | None = None
        if longest is not None and math.isfinite(longest):
            self._span = timedelta(seconds=max(0.0, float(longest)) + 1.0)  # julianday rounds
        self._links: dict[int, tuple[str | None, str]] = {}
        self._windows: list[tuple[int, datetime, datetime]] = []
        self._ambiguous: list[AmbiguousLink] = []

    def know_trips(self, guids: Iterable[str | None]) -> None:
        """Look up at once which of these (canonical) GUIDs are local trip ids."""
        wanted = {g for g in guids if g is not None}
        if wanted and self._any:
            found = self._conn.exec_driver_sql(
                _KNOWN_SQL, (json.dumps(sorted(wanted)), self._account)
            )
            self._known.update(row[0] for row in found)

    def want(
        self, cost_id: int, guid: str | None, start: datetime | None, end: datetime | None
    ) -> None:
        """Ask for the link of one cost (``guid``: canonical, or None)."""
        if guid is not None and guid in self._known:
            self._links[cost_id] = (guid, "trip_guid")
            return
        first, last = start or end, end or start
        if first is None or last is None or self._span is None:
            self._links[cost_id] = (None, "none")
            return
        if last < first:
            first, last = last, first
        self._windows.append((cost_id, first - self._tolerance, last + self._tolerance))

    def resolve(self) -> dict[int, tuple[str | None, str]]:
        """``cost_id -> (trip_id, link)`` for every cost asked for."""
        if self._windows:
            assert self._span is not None  # no window is asked for without candidates
            span = self._span
            windows = [
                [utc_text(low - span), utc_text(low), utc_text(high)]
                for _cost, low, high in self._windows
            ]
            found: dict[int, list[str]] = {}
            for n, trip_id in self._conn.exec_driver_sql(
                _OVERLAP_SQL[self._dialect],
                (json.dumps(windows), _ACTIVE, self._account, MAX_CANDIDATES),
            ):
                found.setdefault(n, []).append(trip_id)
            for n, (cost_id, _low, _high) in enumerate(self._windows):
                trips = found.get(n, [])
                if len(trips) == 1:
                    self._links[cost_id] = (trips[0], "time")
                elif trips:
                    self._ambiguous.append(AmbiguousLink(cost_id, tuple(trips)))
                    self._links[cost_id] = (None, "ambiguous")
                else:
                    self._links[cost_id] = (None, "none")
            self._windows = []
        return self._links

    def kinds(self) -> Counter[str]:
        """How many costs got each kind of link: ``trip_guid``, ``time``, ``ambiguous``,
        ``none``."""
        return Counter(kind for _trip, kind in self._links.values())

    @property
    def ambiguous(self) -> list[AmbiguousLink]:
        """The costs left unlinked because several trips overlap them."""
        return list(self._ambiguous)


def link_tolerance(seconds: float) -> timedelta:
    """A link tolerance from seconds (a setting), clamped to :data:`MAX_TOLERANCE`."""
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInputError("link_tolerance", "must be a finite number of seconds >= 0")
    return min(timedelta(seconds=seconds), MAX_TOLERANCE)

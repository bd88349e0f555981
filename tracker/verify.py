"""``tracker verify``: recompute every trip's hash chain and find what changed outside the tool.

The check of one trip is pure (:func:`check_trip`); :func:`verify` streams the trips and
their links in trip id order (two cursors merged, memory flat whatever the size of the
store) and folds each trip's head into the file's chain head (``tracker.chain``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from tracker.chain import HeadDigest, Stored, link_hash, state_digest
from tracker.db import Database
from tracker.links import covered_sql

__all__ = [
    "KEPT_FINDINGS",
    "LINKS_SQL",
    "TRIPS_SQL",
    "Finding",
    "Link",
    "VerifyResult",
    "check_trip",
    "scan",
    "verify",
]

#: Findings a result keeps in full; the rest are counted.
KEPT_FINDINGS = 100


@dataclass(frozen=True)
class Link:
    """One stored link of a trip's chain, as read from ``journal_event``."""

    id: int
    at: str
    event: str
    detail: str | None
    changes: str | None
    state: str | None
    hash: str | None


@dataclass(frozen=True)
class Finding:
    """A trip whose record or history was changed outside the tool, and how it shows."""

    trip_id: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"trip_id": self.trip_id, "reason": self.reason}


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found. ``head``: the chain head of the whole file (a printed log
    carries it; the same file gives the same head). ``findings``: the first
    :data:`KEPT_FINDINGS` trips changed outside the tool, in trip id order (``problems``
    counts them all)."""

    trips: int
    links: int
    head: str
    findings: tuple[Finding, ...]
    problems: int

    @property
    def ok(self) -> bool:
        """True when every chain recomputes and every trip matches its latest link."""
        return self.problems == 0

    @property
    def first(self) -> Finding | None:
        """The first trip (by id) changed outside the tool."""
        return self.findings[0] if self.findings else None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "trips": self.trips,
            "links": self.links,
            "head": self.head,
            "problems": self.problems,
            "findings": [f.to_json() for f in self.findings],
        }


def check_trip(
    trip_id: str, values: Sequence[Stored] | None, stored_head: str | None, links: Sequence[Link]
) -> tuple[str | None, str | None]:
    """Recompute one trip's chain: (why it fails or None, the recomputed head).

    ``values``: the trip's covered fields as stored (None: no trip row with this id);
    ``stored_head``: its ``chain_head``; ``links``: its links in id order.
    """
    if values is None:
        return "its history is in the file but the trip is not: the trip row was deleted", None
    if not links:
        return "the trip has no history link: its row was added outside the tool", None
    prev: str | None = None
    for n, ln in enumerate(links):
        if ln.state is None or ln.hash is None:
            return f"history link {ln.id} ({ln.event}) has lost its hash or state", None
        expected = link_hash(prev, trip_id, ln.at, ln.event, ln.detail, ln.changes, ln.state)
        if expected != ln.hash:
            what = "was changed" if n == 0 else "was changed, or a link before it removed"
            return f"history link {ln.id} ({ln.event} at {ln.at}) {what}", None
        prev = ln.hash
    if state_digest(values) != links[-1].state:
        last = links[-1]
        return (
            "the trip's fields differ from what its latest history link "
            f"({last.event} at {last.at}) recorded: the trip row was changed",
            prev,
        )
    if stored_head != prev:
        return "the trip's latest history link was removed (or its chain head changed)", prev
    return None, prev


#: Every trip, its covered fields and its head, in id order (SQLite's text; on PostgreSQL
#: ``covered_sql(dialect="postgresql")``, as :func:`verify` picks).
TRIPS_SQL = covered_sql()
#: Every link (and any row left with half a link), by trip then id.
LINKS_SQL = (
    "SELECT trip_id, id, at, event, detail, changes, state, hash FROM journal_event "
    "WHERE hash IS NOT NULL OR state IS NOT NULL ORDER BY trip_id, id"
)


def verify(db: Database) -> VerifyResult:
    """Recompute every trip's chain (see the module docstring); one read transaction."""
    with db.read() as s:
        conn = s.connection()
        trips = covered_sql(dialect=conn.dialect.name)
        return scan(conn.exec_driver_sql(trips), conn.exec_driver_sql(LINKS_SQL))


def scan(trips: Iterable[Sequence[Any]], links: Iterable[Sequence[Any]]) -> VerifyResult:
    """:func:`verify` over the rows of :data:`TRIPS_SQL` and :data:`LINKS_SQL` (any DB-API
    cursors), read once, side by side."""
    heads = HeadDigest()
    findings: list[Finding] = []
    problems = count = 0
    chains = groupby(links, key=lambda r: r[0])
    for trip_id, values, stored, chain in _merged(iter(trips), chains):
        count += len(chain)
        reason, head = check_trip(trip_id, values, stored, chain)
        if values is not None:
            heads.add(trip_id, head if reason is None else stored)
        if reason is not None:
            problems += 1
            if len(findings) < KEPT_FINDINGS:
                findings.append(Finding(trip_id, reason))
    return VerifyResult(heads.trips, count, heads.hexdigest(), tuple(findings), problems)


def _merged(
    trips: Iterator[Any], chains: Iterator[tuple[str, Iterator[Any]]]
) -> Iterator[tuple[str, tuple[Stored, ...] | None, str | None, list[Link]]]:
    """Trips and their links side by side, in trip id order (both queries sort by it)."""
    trip = next(trips, None)
    chain = next(chains, None)
    while trip is not None or chain is not None:
        if chain is None or (trip is not None and trip[0] < chain[0]):
            assert trip is not None
            yield trip[0], tuple(trip[:-1]), trip[-1], []
            trip = next(trips, None)
        else:
            found = [Link(*row[1:]) for row in chain[1]]
            if trip is not None and trip[0] == chain[0]:
                yield trip[0], tuple(trip[:-1]), trip[-1], found
                trip = next(trips, None)
            else:
                yield chain[0], None, None, found
            chain = next(chains, None)

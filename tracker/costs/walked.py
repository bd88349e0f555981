"""The cost IDs a pull run has read, kept as ranges beside the run's checkpoint.

A pull reads every cost on every run; most are unchanged and cost no write. What a complete
walk must still know at its end is which stored costs it did *not* read: those are marked
not seen (docs/costs.md). So the run records the IDs it read in ``pull_seen``, compressed to
sorted ``[first, last]`` ranges (the platform hands out IDs in sequence, so a list is a few
ranges), one row each time the checkpoint is written: a killed run resumes with the IDs of
every page before its checkpoint. The end of a complete walk merges the ranges and walks
them beside the stored IDs in order, so memory is the ranges, not the costs.

The range arithmetic is pure (``to_ranges``, ``merge``, ``outside``); the rest is the SQL at
the edges, in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Connection

__all__ = ["clear", "merge", "outside", "read", "record", "to_ranges"]

Range = tuple[int, int]


def to_ranges(ids: Iterable[int]) -> list[Range]:
    """``ids`` (any order, repeats allowed) as sorted, disjoint, non-adjacent ranges."""
    ranges: list[Range] = []
    for ident in sorted(set(ids)):
        if ranges and ranges[-1][1] + 1 == ident:
            ranges[-1] = (ranges[-1][0], ident)
        else:
            ranges.append((ident, ident))
    return ranges


def merge(ranges: Iterable[Range]) -> list[Range]:
    """Overlapping or adjacent ranges (from several checkpoints) merged, sorted."""
    merged: list[Range] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def outside(sorted_ids: Iterable[int], ranges: Sequence[Range]) -> Iterator[int]:
    """The IDs of ``sorted_ids`` (ascending) in none of ``ranges`` (as :func:`merge` gives)."""
    at = 0
    for ident in sorted_ids:
        while at < len(ranges) and ranges[at][1] < ident:
            at += 1
        if at == len(ranges) or ident < ranges[at][0]:
            yield ident


_INSERT_SQL = "INSERT INTO pull_seen (run_id, ranges) VALUES (?, ?)"
_READ_SQL = "SELECT ranges FROM pull_seen WHERE run_id = ?"
_CLEAR_SQL = "DELETE FROM pull_seen WHERE run_id = ?"
# Runs no pull row names any more (abandoned); another account's run under way is kept.
_CLEAR_OTHERS_SQL = (
    "DELETE FROM pull_seen WHERE run_id != ? "
    "AND run_id NOT IN (SELECT run_id FROM pull_state WHERE run_id IS NOT NULL)"
)


def record(conn: Connection, run_id: str, ids: Iterable[int]) -> None:
    """Add ``ids`` to what run ``run_id`` has read (nothing is written for no IDs)."""
    ranges = to_ranges(ids)
    if ranges:
        conn.exec_driver_sql(_INSERT_SQL, (run_id, json.dumps(ranges, separators=(",", ":"))))


def read(conn: Connection, run_id: str) -> list[Range]:
    """Every ID run ``run_id`` recorded, as merged ranges."""
    rows = conn.exec_driver_sql(_READ_SQL, (run_id,))
    return merge((first, last) for (text,) in rows for first, last in json.loads(text))


def clear(conn: Connection, run_id: str, *, others: bool = False) -> None:
    """Forget what run ``run_id`` read (``others``: what every other run no pull names any
    more read, e.g. a run abandoned when the pull started over; not what another account's
    run under way read)."""
    conn.exec_driver_sql(_CLEAR_OTHERS_SQL if others else _CLEAR_SQL, (run_id,))

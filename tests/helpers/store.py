"""The local store in tests: a settable clock, and the pusher's claim and record by hand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pytest

from tracker.outbox import Claimed
from tracker.outcomes import Verdict
from tracker.store import Tracker

BOTH_BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
"""A test of the ``store`` fixture (tests/tracker/conftest.py), run on a SQLite file, then on
a real PostgreSQL database: the same assertions hold on both."""


class StepClock:
    """A wall clock the test moves by hand (the store's clock: ``Tracker.open(clock=...)``)."""

    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


def claim(store: Tracker, owner: str, limit: int, lease: timedelta) -> list[Claimed]:
    """Claim up to ``limit`` due entries for ``owner`` (the pusher's claim, by itself)."""
    return store.outbox.step(owner, claim=limit, lease_for=lease).claimed


def record(store: Tracker, owner: str, verdicts: Mapping[int, Verdict]) -> list[int]:
    """Record answers (seq -> verdict) for entries ``owner`` holds; the seqs recorded."""
    return store.outbox.step(owner, verdicts).recorded


def manual_trips(store: Tracker, n: int, **extra: object) -> list[str]:
    """n manual trips on distinct dates; their ids in creation order."""
    ids = []
    for i in range(n):
        trip = store.trips.add({"date": f"2026-03-{1 + i % 28:02d}", "distance": f"{i}.5", **extra})
        ids.append(trip.id)
    return ids

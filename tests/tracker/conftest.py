"""Fixtures for the local store: a real SQLite file under tmp_path and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracker.store import Tracker


class StepClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> StepClock:
    return StepClock(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "tracker.db"


@pytest.fixture
def store(db_path: Path, clock: StepClock) -> Iterator[Tracker]:
    with Tracker.open(db_path, timezone="Europe/Berlin", clock=clock) as opened:
        yield opened

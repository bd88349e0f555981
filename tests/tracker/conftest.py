"""Fixtures for the local store: a real SQLite file under tmp_path and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers.store import StepClock
from tracker.store import Tracker


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

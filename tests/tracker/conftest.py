"""Fixtures for the local store: a real SQLite file under tmp_path and a settable clock;
the store on a real PostgreSQL database too for the tests marked
:data:`tests.helpers.store.BOTH_BACKENDS`."""

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
def store_url(backend: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of ``store``: the file at ``db_path``, or a fresh PostgreSQL database."""
    if backend == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{db_path}"


@pytest.fixture
def store(store_url: str, clock: StepClock) -> Iterator[Tracker]:
    with Tracker.open_url(store_url, timezone="Europe/Berlin", clock=clock) as opened:
        yield opened

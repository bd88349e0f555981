"""Fixtures for the sync side: the bundled sandbox (in process or on loopback), a real
SQLite store, and engines wired to both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.engine import SyncEngine
from sync.sandbox import SandboxServer, SandboxTransport, create_app
from sync.settings import Settings
from sync.tight.push import Hook
from tests.helpers.remote import EngineFactory, fast_mileage
from tracker.store import Tracker


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(
    home: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Tracker]:
    """The store the engines sync: a file in ``home``, or a PostgreSQL database for a test
    marked BOTH_BACKENDS (tests.helpers.store), which the CLI run in the test opens too
    (TRACKER_DATABASE_URL)."""
    url = f"sqlite:///{home / 'tracker.db'}"
    if backend == "postgres":
        url = str(request.getfixturevalue("pg_url"))
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    with Tracker.open_url(url, timezone="Europe/Berlin") as opened:
        yield opened


@pytest.fixture
def make_engine(home: Path, store: Tracker, server: SandboxServer) -> Iterator[EngineFactory]:
    """Build engines against the loopback sandbox; ``in_process=True`` uses the ASGI app
    directly (same sandbox state, no socket)."""
    engines: list[SyncEngine] = []

    def build(*, in_process: bool = False, hook: Hook | None = None, **mileage: Any) -> SyncEngine:
        url = "http://sandbox" if in_process else mileage.pop("url", server.tight_url)
        settings = Settings(home=home, mileage=fast_mileage(url, **mileage))
        transport = SandboxTransport(create_app(server.sandbox)) if in_process else None
        engine = SyncEngine(settings, store, transport=transport, hook=hook)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()

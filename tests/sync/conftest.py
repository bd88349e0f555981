"""Fixtures for the sync side: the bundled sandbox (in process or on loopback), settings
pointing at it, a real SQLite store, and an engine wired to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.engine import SyncEngine
from sync.push import Hook
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxServer, SandboxTransport, create_app, serve
from sync.settings import MileageSettings, Settings
from tracker.store import Tracker

KEY = "trackerLocalId"


def fast_mileage(url: str, **overrides: Any) -> MileageSettings:
    """Tight settings for tests: quick backoff, short deadline."""
    values: dict[str, Any] = {
        "url": url,
        "token": DEFAULT_TOKEN,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
        "deadline": 5.0,
        "read_timeout": 5.0,
        "connect_timeout": 2.0,
    }
    values.update(overrides)
    return MileageSettings(**values)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with serve(sandbox) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[Tracker]:
    with Tracker.open(home / "tracker.db", timezone="Europe/Berlin") as opened:
        yield opened


EngineFactory = Callable[..., SyncEngine]


@pytest.fixture
def make_engine(home: Path, store: Tracker, server: SandboxServer) -> Iterator[EngineFactory]:
    """Build engines against the loopback sandbox; ``in_process=True`` uses the ASGI app
    directly (same sandbox state, no socket)."""
    engines: list[SyncEngine] = []
    clients: list[httpx.Client] = []

    def build(*, in_process: bool = False, hook: Hook | None = None, **mileage: Any) -> SyncEngine:
        url = "http://sandbox" if in_process else mileage.pop("url", server.tight_url)
        settings = Settings(home=home, mileage=fast_mileage(url, **mileage))
        client = None
        if in_process:
            client = httpx.Client(
                transport=SandboxTransport(create_app(server.sandbox)), base_url=url
            )
            clients.append(client)
        engine = SyncEngine(settings, store, mileage_client=client, hook=hook)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()
    for client in clients:
        client.close()


def add_trips(store: Tracker, n: int, **extra: Any) -> list[str]:
    """n manual trips, distinct dates, returned ids in creation order."""
    ids = []
    for i in range(n):
        trip = store.add_trip({"date": f"2026-03-{1 + i % 28:02d}", "distance": f"{i}.5", **extra})
        ids.append(trip.id)
    return ids

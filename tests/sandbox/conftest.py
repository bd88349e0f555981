"""Fixtures: a Sandbox on a manual clock, reached in-process or over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from sync.sandbox import (
    DEFAULT_TOKEN,
    ManualClock,
    Sandbox,
    SandboxServer,
    SandboxTransport,
    create_app,
    serve,
)

AUTH = MappingProxyType({"Authorization": f"Bearer {DEFAULT_TOKEN}"})
TIMEOUT = httpx.Timeout(5.0)


def trip(local_id: str = "t-1", **overrides: Any) -> dict[str, Any]:
    """A valid save item carrying a local id in customData."""
    item: dict[str, Any] = {
        "date": "2024-05-02",
        "status": "ACTIVE",
        "mileageStatus": "BUSINESS",
        "description": "Client visit",
        "distance": {"type": "KILOMETER", "value": "42.7"},
        "start": {"time": "2024-05-02T07:15:00Z", "lat": "45.4642", "lng": "9.1900"},
        "end": {"time": "2024-05-02T08:01:30Z", "lat": "45.0703", "lng": "7.6869"},
        "duration": 2_790_000,
        "customData": {"trackerLocalId": local_id},
    }
    item.update(overrides)
    return item


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    return Sandbox(clock=clock)


def in_process(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(
        transport=SandboxTransport(create_app(sandbox)),
        base_url="http://sandbox",
        headers=AUTH,
    )


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """In-process client (no socket)."""
    with in_process(sandbox) as opened:
        yield opened


@pytest.fixture(scope="session")
def shared_server() -> Iterator[SandboxServer]:
    """One uvicorn for the session; each test swaps its own Sandbox in with ``use``."""
    with serve(Sandbox()) as running:
        yield running


@pytest.fixture
def server(shared_server: SandboxServer, sandbox: Sandbox) -> SandboxServer:
    shared_server.use(sandbox)
    return shared_server


@pytest.fixture
def live(server: SandboxServer) -> Iterator[httpx.Client]:
    """Client over real loopback HTTP."""
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=TIMEOUT) as opened:
        yield opened


@pytest.fixture(params=["in-process", "loopback"])
def any_client(
    request: pytest.FixtureRequest, sandbox: Sandbox, shared_server: SandboxServer
) -> Iterator[httpx.Client]:
    """The same test both ways: through SandboxTransport and through uvicorn on loopback."""
    if request.param == "in-process":
        with in_process(sandbox) as opened:
            yield opened
        return
    shared_server.use(sandbox)
    with httpx.Client(base_url=shared_server.url, headers=AUTH, timeout=TIMEOUT) as opened:
        yield opened

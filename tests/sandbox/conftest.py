"""Fixtures: a Sandbox on a manual clock, reached in-process or over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sync.sandbox import ManualClock, Sandbox, SandboxServer, serve
from tests.helpers.remote import AUTH, in_process

TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    return Sandbox(clock=clock)


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

"""The sandbox on loopback for CLI tests; a module uses ``point_at_sandbox`` (the
``TRACKER_MILEAGE_*`` settings of the CLI point at it) and may override ``sandbox``."""

from __future__ import annotations

import pytest

from sync.sandbox import DEFAULT_TOKEN, SandboxServer


@pytest.fixture
def point_at_sandbox(monkeypatch: pytest.MonkeyPatch, server: SandboxServer) -> SandboxServer:
    monkeypatch.setenv("TRACKER_MILEAGE_URL", server.tight_url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", DEFAULT_TOKEN)
    return server


@pytest.fixture
def cli_store(backend: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """Where the CLI's store lives in a test marked BOTH_BACKENDS (tests.helpers.store): its
    file in TRACKER_HOME, or a fresh PostgreSQL database (TRACKER_DATABASE_URL)."""
    if backend == "postgres":
        monkeypatch.setenv("TRACKER_DATABASE_URL", str(request.getfixturevalue("pg_url")))
    return backend

"""Shared fixtures: every test gets a clean environment and a real data folder on disk; the
bundled sandbox, on loopback, for the tests that ask for it (``sandbox``, ``server``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.sandbox import Sandbox, SandboxServer, serve
from tests.helpers.chain import chain_breaks, pg_chain_breaks
from tests.helpers.postgres import PgCluster, start_cluster
from tests.helpers.tally import pg_tally_drifts, tally_drifts
from tracker.store import Tracker


@pytest.fixture(autouse=True)
def _clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[None]:
    """No TRACKER_* variable from the developer's shell leaks into a test; after it, the
    counts kept by triggers match a recount in every store it left (tests/helpers/tally.py),
    and every store verifies clean (tests/helpers/chain.py) unless the test ``tampers``."""
    for name in list(os.environ):
        if name.startswith("TRACKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "home"))
    yield
    assert tally_drifts(tmp_path) == {}
    if request.node.get_closest_marker("tampers") is None:
        assert chain_breaks(tmp_path) == {}


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with serve(sandbox) as running:
        yield running


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The root logger as it was, after a test that configures logging (sync.logs)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A real PostgreSQL server for this session (each xdist worker its own), started on
    first use and stopped at the end (tests/helpers/postgres.py). Missing binaries fail."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database at the current schema, for this test only; after the
    test its tally and history chain are checked like a SQLite store's, then it is dropped."""
    url = pg_cluster.database()
    yield url
    try:
        assert pg_tally_drifts(url) == {}
        if request.node.get_closest_marker("tampers") is None:
            assert pg_chain_breaks(url) == {}
    finally:
        pg_cluster.drop(url)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where the ``store`` fixture of tests/tracker and tests/sync lives: "sqlite" (a file),
    or "postgres" in a test parametrised over both (tests.helpers.store.BOTH_BACKENDS)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(params=["sqlite", "postgres"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives, once per backend: a SQLite file URL, then a PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'tracker.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def any_store(any_store_url: str) -> Iterator[Tracker]:
    """An open store on each backend (SQLite file | PostgreSQL database)."""
    with Tracker.open_url(any_store_url, timezone="UTC") as store:
        yield store

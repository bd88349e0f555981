"""Shared fixtures: every test gets a clean environment and a real data folder on disk; the
bundled sandbox, on loopback, for the tests that ask for it (``sandbox``, ``server``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.sandbox import Sandbox, SandboxServer, serve
from tests.helpers.chain import chain_breaks
from tests.helpers.tally import tally_drifts


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

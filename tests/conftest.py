"""Shared fixtures: every test gets a clean environment and a real data folder on disk; the
bundled sandbox, on loopback, for the tests that ask for it (``sandbox``, ``server``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.sandbox import Sandbox, SandboxServer, serve


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TRACKER_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TRACKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "home"))


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with serve(sandbox) as running:
        yield running

"""Shared fixtures: every test gets a clean environment and a real data folder on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TRACKER_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TRACKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "home"))

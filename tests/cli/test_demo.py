"""``tracker demo`` from a fresh environment: exits 0, shows the whole path, leaves nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end_and_cleans_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TMPDIR"] = str(tmp_path)
    exe = Path(sys.executable).parent / "tracker"
    result = subprocess.run(
        [str(exe), "demo"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "trips pushed" in out
    assert "INVALID_VALUE" in out
    assert "customerId" in out
    # Two-way: one clean merge (both edits kept on both sides), one conflict resolved.
    assert "merged:" in out and "conflict:" in out
    assert out.count("billed to ACME") >= 2
    assert "tracker conflicts resolve" in out
    assert "after the next sync, on Tight: Groceries and fuel; conflicts left: 0" in out
    assert "Traceback" not in result.stderr
    # The story is told in its own words: no log or warning line interrupts it.
    assert "level=" not in out + result.stderr and "warning:" not in out + result.stderr
    assert list(tmp_path.iterdir()) == []  # the temporary data folder is gone


@pytest.mark.slow
def test_demo_keeps_data_in_tracker_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_HOME"] = str(tmp_path / "home")
    exe = Path(sys.executable).parent / "tracker"
    result = subprocess.run(
        [str(exe), "demo"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    listed = subprocess.run(
        [str(exe), "trip", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert '"sync_state": "synced"' in listed.stdout
    assert '"sync_state": "parked"' in listed.stdout

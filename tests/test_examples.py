"""The examples run as a person runs them: a real process, the bundled sandbox on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real processes and waits: the full run only

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )


def test_the_driver_app_records_syncs_in_the_background_and_fixes_a_parked_trip() -> None:
    done = run("driver_app.py")
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split("after the fix:")
    assert "trade fair             parked  (notes: notes must say what the trip was for)" in before
    assert "GPS trip to the office synced" in before
    assert "change #3: notes: notes must say what the trip was for" in before
    assert after.count("synced") == 4  # three trips, and the final counts line
    assert "tokens the backend handed out: 1" in done.stdout  # a provider, no secret on device
    assert "pending 0, parked 0, synced 3" in done.stdout
    assert done.stderr == ""


def test_the_asyncio_app_syncs_from_the_event_loop() -> None:
    done = run("asyncio_app.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "mileage: 0 records",  # the pull read Tight first: nothing there yet
        "push: 5 of 5 trips",
        "synced 5 trips; report ok: True",
    ]

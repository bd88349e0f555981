"""Real processes on a real file: SIGKILL mid-append, and two writers at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tracker.store import Tracker

pytestmark = pytest.mark.slow  # real processes and waits: the full run only

N_POINTS = 600_000

APPEND_CHILD = textwrap.dedent(
    f"""
    import sys
    from datetime import UTC, datetime, timedelta
    from tracker.store import Tracker

    t = Tracker.open(sys.argv[1], timezone="UTC")
    trip = t.trips.start()
    base = datetime(2026, 3, 10, tzinfo=UTC)
    points = [(base + timedelta(seconds=i), 52.0 + i * 1e-7, 13.0) for i in range({N_POINTS})]
    print(trip.id, flush=True)
    t.trips.add_points(trip.id, points)
    print("done", flush=True)
    """
)


def _integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_sigkill_mid_bulk_append_leaves_all_or_none(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "tracker.db"
    with subprocess.Popen(
        [sys.executable, "-c", APPEND_CHILD, str(path)], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        trip_id = child.stdout.readline().strip()
        assert trip_id, "child did not start"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()
        child.wait(timeout=30)
    assert _integrity(path) == "ok"
    with Tracker.open(path, timezone="UTC") as t:
        count = t.trips.waypoint_count(trip_id)
        assert count in (0, N_POINTS)
        if "done" not in rest:
            assert count == 0  # killed before the commit returned: none of it
        entries, _ = t.journal.history(trip_id)
        assert [e.state for e in entries] == ["pending"]  # the journal is consistent
        assert t.trips.get(trip_id).status == "recording"


WRITER_CHILD = textwrap.dedent(
    """
    import sys
    from tracker.store import Tracker

    t = Tracker.open(sys.argv[1], timezone="UTC", busy_timeout=30)
    for i in range(150):
        trip = t.trips.add({"date": "2026-03-01", "distance": str(i), "description": sys.argv[2]})
        t.trips.edit(trip.id, {"notes": f"edit {i}"})
    print("ok", flush=True)
    """
)


def test_two_processes_write_the_same_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    Tracker.open(path, timezone="UTC").close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_CHILD, str(path), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("app", "cli")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with Tracker.open(path, timezone="UTC") as t:
        trips = t.trips.list()
        assert len(trips) == 300
        assert {v.description for v in trips} == {"app", "cli"}
        assert t.journal.counts().pending == 300
    assert _integrity(path) == "ok"

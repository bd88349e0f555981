"""``tracker sync --push`` with nothing to do on a big file (issue 15): the integrity check
no longer reads the whole file on every run.

Builds ``n`` trips (``bench.push.make_pending_db``), marks every change synced (plain SQL:
nothing is due), and times, as fresh subprocesses, best of ``repeats``: ``tracker sync
--push`` (ours: the file was closed cleanly, so no full check) against the same command run
right after an unclean close is simulated (a session row of a process that is gone: the
open then runs ``PRAGMA quick_check`` first, which is what every run did before). The
difference is the full check's cost on this file, which a clean run no longer pays.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.children import child_env
from bench.startup import tracker_command

_GONE_PID = 2**22 + 1  # above Linux's pid_max: no process has it


def _mark_synced(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE journal SET state = 'synced'")
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _leave_unclean(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        con.execute(
            "INSERT INTO store_session (id, host, pid, tag, started_at) VALUES (?, ?, ?, '', ?)",
            ("bench-gone", socket.gethostname(), _GONE_PID, "2026-11-28T00:00:00.000000Z"),
        )


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stderr[-2000:]!r}")
    return elapsed


def run(n: int = 100_000, repeats: int = 3) -> dict[str, Any]:
    """One row: a clean run's time against a run that checks the whole file first."""
    from bench.push import make_pending_db

    with tempfile.TemporaryDirectory(prefix="bench-idle-sync-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        db = home / "tracker.db"
        make_pending_db(db, n)
        _mark_synced(db)
        env = child_env(
            TRACKER_HOME=str(home),
            TRACKER_MILEAGE_URL="http://127.0.0.1:9",  # nothing is due: nothing is sent
            TRACKER_MILEAGE_TOKEN="bench-token",
            TRACKER_MILEAGE_TWO_WAY="false",
        )
        argv = [*tracker_command(), "sync", "--push"]
        if repeats > 1:
            _time(argv, env)  # warm the file cache
        clean, checked = float("inf"), float("inf")
        for _ in range(repeats):
            clean = min(clean, _time(argv, env))
            _leave_unclean(db)
            checked = min(checked, _time(argv, env))
        size_mb = db.stat().st_size / 1e6
    return {
        "name": f"`tracker sync --push`, nothing due, {n:,} trips ({size_mb:.0f} MB): clean "
        "close vs after an unclean close (the full check every run paid before)",
        "unit": "ms",
        "ours": round(clean * 1000),
        "baseline": round(checked * 1000),
        "ratio": round(clean / checked, 2),
        "target": "< 1.0x (no full check after a clean close)",
        "met": clean < checked,
        "note": f"the full check costs ~{(checked - clean) * 1000:.0f} ms on this file",
        "db_mb": round(size_mb, 1),
        "repeats": repeats,
    }


if __name__ == "__main__":
    print(run(n=int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))

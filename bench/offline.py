"""A week offline, and then some: history rows and file size over 1,000 offline sync runs.

Issue 15: every failed attempt used to add history rows (claimed, retry; the batch claimed
ahead: claimed, released), so 10k pending trips offline for a week at the 1 h backoff cap
grew the file by millions of rows. Now a failure updates its entry and only the first one
of a streak is a row (docs/sync-guarantees.md, "History and retention").

The engine runs in this process against a closed loopback port (connection refused: the
offline a laptop sees), with a ``ManualClock`` shared by the engine and the store, moved by
an hour before each run so the backed-off entries are due again: no sleeping. The store has
``n`` pending trips (``bench.push.make_pending_db``). Measured: history rows added by the
first run and by all the runs after it, the attempts made (the baseline: the rows a
history of every attempt would have added, at least two per failed attempt), the file's
size before the runs (and that store vacuumed), after the first run, after all of them, and
after ``tracker gc --vacuum`` (``sync.gc``).

Target (issue 15): the rows added after the first failure are bounded by a constant (here:
none), and after gc --vacuum the file is no larger than after the first run: the runs after
it leave no trace. The first failure of an entry is kept (one history row, and the error on
the entry), so the file does grow once per entry that failed, never per run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.push import make_pending_db
from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.gc import collect_garbage
from sync.report import SyncReport
from sync.sandbox import DEFAULT_TOKEN
from sync.settings import MileageSettings, Settings
from tracker.gc import vacuum
from tracker.store import Tracker

HOUR = 3600.0


def closed_url() -> str:
    """A loopback URL nothing listens on: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Offline:
    """A store and an engine sharing one manual clock, with nowhere to send to."""

    store: Tracker
    engine: SyncEngine
    clock: ManualClock

    def cycle(self, hours: float = 1.0) -> SyncReport:
        """Let ``hours`` pass, then one scheduled push run (it fails: offline)."""
        self.clock.advance(hours * HOUR)
        return self.engine.run(push=True, pull=False)


@contextlib.contextmanager
def offline(db: Path, home: Path, **mileage: Any) -> Iterator[Offline]:
    """``db`` opened with a manual clock and an engine pointed at a closed port."""
    clock = ManualClock(datetime(2026, 11, 2, tzinfo=UTC))
    settings = Settings(
        home=home,
        mileage=MileageSettings(url=closed_url(), token=DEFAULT_TOKEN, retries=0, **mileage),
    )
    with (
        Tracker.open(db, timezone="UTC", clock=clock.wall) as store,
        SyncEngine(settings, store, clock=clock) as engine,
    ):
        yield Offline(store, engine, clock)


def scalar(db: Path, sql: str) -> int:
    """One number read from ``db``."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        return int(con.execute(sql).fetchone()[0])


def settled_bytes(db: Path) -> int:
    """The file's size with its WAL folded in (checkpointed and truncated)."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.stat().st_size


def run(n: int = 10_000, cycles: int = 1000) -> dict[str, Any]:
    """The row for bench/run.py."""
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp:
        folder = Path(tmp)
        db = folder / "tracker.db"
        make_pending_db(db, n)
        before = settled_bytes(db)
        reference = folder / "vacuumed-before.db"
        shutil.copy(db, reference)
        with Tracker.open(reference, timezone="UTC") as copy:
            vacuum(copy.db)
        vacuumed_before = settled_bytes(reference)
        events = "SELECT count(*) FROM journal_event"
        rows_start = scalar(db, events)
        with offline(db, folder / "home") as side:
            first = side.cycle()
            assert first.push is not None, first.failures
            rows_first = scalar(db, events)
            after_first = settled_bytes(db)
            started = time.perf_counter()
            retried = first.push.retried
            for _ in range(cycles - 1):
                report = side.cycle()
                assert report.push is not None, report.failures
                retried += report.push.retried
            seconds = time.perf_counter() - started
            rows_end = scalar(db, events)
            attempts = scalar(db, "SELECT sum(attempts) FROM journal")
            after = settled_bytes(db)
            gc = collect_garbage(side.store, side.engine.settings, side.clock, vacuum=True)
        after_gc = settled_bytes(db)
    later = rows_end - rows_first
    return {
        "name": f"history rows added by {cycles - 1} offline runs after the first ({n} pending)",
        "n": n,
        "cycles": cycles,
        "unit": "rows",
        "ours": later,
        "baseline": 2 * (retried - first.push.retried),
        "ratio": round(later / max(1, 2 * (retried - first.push.retried)), 4),
        "target": "0 after the first run; after gc --vacuum <= after the first run",
        "met": later == 0 and after_gc <= after_first,
        "rows_added_by_first_run": rows_first - rows_start,
        "failed_attempts": retried,
        "attempts_on_entries": attempts,
        "ms_per_run": round(1000 * seconds / max(1, cycles - 1), 2),
        "bytes_before": before,
        "bytes_before_vacuumed": vacuumed_before,
        "bytes_after_first_run": after_first,
        "bytes_after_runs": after,
        "bytes_after_gc_vacuum": after_gc,
        "gc": gc.to_dict(),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.offline")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args(argv)
    print(json.dumps(run(n=args.n, cycles=args.cycles), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])

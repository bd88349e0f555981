"""A decade of trips on one device (issue 15): every command stays instant on a big store.

Builds a store of ``n`` trips with ``fixes`` GPS fixes each through the bulk API
(``Tracker.add_trips``: 100k trips and 10M fixes is ten years at 20-30 trips a day, each
trip pending as a store that was never synced leaves it), then times, as fresh subprocesses
of the installed ``tracker``:

- ``trip list`` (the default page), ``trip list --json``, ``trip show <id>``, ``status``,
  ``sync --dry-run --push`` (the whole backlog counted, the first batches shown), ``trip add``,

on that store and on an empty one (``n=0``), against the baseline
``python -c "import sqlmodel, httpx, apscheduler"`` in the same run (target: ratio <= 1.0x),
with each command's peak RSS (target: <= 100 MB). Each command's best of ``repeats`` is
kept; runs are interleaved with the baseline so a machine slowing down affects both alike.
Peak RSS is the command's own ``ru_maxrss``, read by a tiny launcher.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.children import child_env, compile_bytecode
from bench.startup import HEAVY_IMPORT, tracker_command

RSS_TARGET_MB = 100.0
RATIO_TARGET = 1.0


# A tiny launcher (no site, stdlib only) runs the command and reports its child's peak RSS.
# Measuring from this process would not do: Linux carries the RSS of the process that forks
# into the child's ``ru_maxrss``, and this one holds the whole stack (~90 MB).
_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stderr.write(f'\\nPEAK_RSS_KIB={peak}\\n')\n"
    "sys.exit(code)\n"
)


def _measure(argv: list[str], env: dict[str, str], out: Path) -> tuple[float, float, int]:
    """Run ``argv`` once: (seconds, peak RSS in MB, stdout bytes). Output goes to a file so
    the parent never holds it; the launcher's own start-up (~10 ms) is in the time."""
    with out.open("wb") as sink:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, *argv],
            env=env,
            stdout=sink,
            stderr=subprocess.PIPE,
            timeout=600,
            check=False,
        )
        elapsed = time.perf_counter() - start
    err = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited {done.returncode}: {err[-2000:]}")
    kib = int(err.rsplit("PEAK_RSS_KIB=", 1)[1].split()[0])  # Linux: ru_maxrss in KiB
    return elapsed, kib / 1024, out.stat().st_size


def _some_trip(db: Path) -> str | None:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT id FROM trip ORDER BY rowid DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return None if row is None else str(row[0])


def build_store(db: Path, n: int, fixes: int) -> None:
    """``n`` trips of ``fixes`` fixes each, a trip a day-part apart, through the bulk API."""
    from tracker.bulkrows import TripRow
    from tracker.store import Tracker

    start = datetime(2016, 1, 4, 7, 30, tzinfo=UTC)
    step = timedelta(hours=(10 * 365 * 24) / max(n, 1))  # ten years

    def rows() -> Iterator[TripRow]:
        for i in range(n):
            begins = start + step * i
            track = [
                (begins + timedelta(seconds=2 * k), 52.0 + k * 1e-5, 13.0 + i * 1e-7, 4.0, 13.9)
                for k in range(fixes)
            ]
            data = {
                "start_time": begins,
                "end_time": begins + timedelta(seconds=2 * fixes),
                "distance": f"{(i % 90) + 1}.{i % 1000:03d}",
                "classification": "business" if i % 3 else "personal",
                "description": f"Customer visit #{i % 1000}",
            }
            yield TripRow(data, waypoints=track)

    with Tracker.open(db, timezone="Europe/Berlin", synchronous="NORMAL") as store:
        report = store.add_trips(rows())
    if report.added != n:
        raise RuntimeError(f"built {report.added} of {n} trips: {report.errors[:3]}")


def run(n: int = 100_000, fixes: int = 100, repeats: int = 7) -> list[dict[str, Any]]:
    """One row per command: best wall time vs the heavy import, and peak RSS."""
    compile_bytecode()  # start-up as installed, whatever the caller's environment
    tracker = tracker_command()
    with tempfile.TemporaryDirectory(prefix="bench-big-store-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        db = home / "tracker.db"
        built = time.perf_counter()
        if n:
            build_store(db, n, fixes)
        else:  # an empty store, as the first command leaves it
            subprocess.run(
                [*tracker, "status"],
                env=child_env(TRACKER_HOME=str(home)),
                stdout=subprocess.DEVNULL,
                check=True,
            )
        build_s = time.perf_counter() - built
        env = child_env(
            TRACKER_HOME=str(home),
            TRACKER_MILEAGE_URL="http://127.0.0.1:9",  # a dry run sends nothing
            TRACKER_MILEAGE_TOKEN="bench-token",
        )
        trip_id = _some_trip(db)
        commands = {
            "trip list": [*tracker, "trip", "list"],
            "trip list --json": [*tracker, "trip", "list", "--json"],
            "status": [*tracker, "status"],
            "sync --dry-run --push": [*tracker, "sync", "--dry-run", "--push"],
            # Both directions: the push's requests and the pull's first one.
            "sync --dry-run": [*tracker, "sync", "--dry-run"],
            "trip add": [*tracker, "trip", "add", "--date", "2026-11-27", "--distance", "12.5"],
        }
        if trip_id is not None:
            commands[f"trip show {trip_id[:8]}"] = [*tracker, "trip", "show", trip_id[:8]]
        baseline_argv = [sys.executable, "-c", HEAVY_IMPORT]
        out = Path(tmp) / "out"
        _measure(baseline_argv, env, out)  # warm the file cache
        best: dict[str, tuple[float, float, int]] = {}
        base = (float("inf"), 0.0, 0)
        for _ in range(repeats):
            for name, argv in commands.items():
                got = _measure(argv, env, out)
                prev = best.get(name)
                best[name] = (
                    min(got[0], prev[0]) if prev else got[0],
                    max(got[1], prev[1]) if prev else got[1],  # peak: the worst run
                    got[2],
                )
                b = _measure(baseline_argv, env, out)
                base = (min(base[0], b[0]), max(base[1], b[1]), 0)
        size_mb = db.stat().st_size / 1e6
    rows = []
    store = f"{n:,} trips, {n * fixes:,} fixes" if n else "an empty store"
    for name, (seconds, rss, out_bytes) in best.items():
        ratio = seconds / base[0]
        rows.append(
            {
                "name": f"`tracker {name}` on {store} vs `python -c '{HEAVY_IMPORT}'`",
                "unit": "ms",
                "ours": round(seconds * 1000),
                "baseline": round(base[0] * 1000),
                "ratio": round(ratio, 2),
                "target": f"<= {RATIO_TARGET}x and <= {RSS_TARGET_MB:.0f} MB peak RSS",
                "met": ratio <= RATIO_TARGET and rss <= RSS_TARGET_MB,
                "peak_rss_mb": round(rss, 1),
                "baseline_rss_mb": round(base[1], 1),
                "output_bytes": out_bytes,
                "trips": n,
                "fixes": n * fixes,
                "db_mb": round(size_mb, 1),
                "build_seconds": round(build_s, 1),
                "repeats": repeats,
            }
        )
    return rows


if __name__ == "__main__":
    import json

    for size in [int(a) for a in sys.argv[1:]] or [0, 100_000]:
        for row in run(n=size, fixes=100):
            print(json.dumps(row))

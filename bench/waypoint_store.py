"""Waypoint storage (issue 15): bytes per fix in the 0010 layout and in ours, and the time of
migration 0016 on a large store.

- Bytes per fix: the pages of the waypoint b-tree (and of any index on it) over the number
  of fixes, read from SQLite's ``dbstat`` table, on a store of realistic fixes (trips of 200
  to 1,800 fixes at 1 Hz, full-precision coordinates, float32 accuracy and speed as phones
  report them, 5 % of speeds unknown) made at revision 0010 and migrated; and the same fixes
  written by ``Tracker.add_points``. Target: <= 40 bytes.
- Migration: ``Tracker.open`` of a copy of that 0010 store (the staged, resumable copy and
  the final transaction) against the same conversion as one transaction
  (``ensure_schema(staged=False)``) on another copy, in fixes/s, with the WAL file each
  leaves behind.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import struct
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.db import create_db_engine, prepare_file
from tracker.schema import ensure_schema
from tracker.store import Tracker

TARGET_BYTES = 40.0
STAGED_TARGET = 0.5
"""The staged copy's rate against one transaction's: resumability may cost, within reason."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_START = datetime(2016, 11, 28, tzinfo=UTC)

#: ``(t_us, lat, lng, accuracy, speed)``: one fix as the 0010 layout stores it.
OldFix = tuple[int, float, float, float | None, float | None]


def _f32(value: float) -> float:
    """``value`` as a float32 read back as a float (how phones report accuracy and speed)."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def realistic_trips(n: int, seed: int = 15) -> Iterator[tuple[str, list[OldFix]]]:
    """``n`` fixes as trips of 200-1,800 fixes a second apart over ten years, each trip a
    random drive in central Europe. Deterministic for a seed."""
    rng = random.Random(seed)
    t_us = (_START - _EPOCH) // timedelta(microseconds=1)
    made = 0
    while made < n:
        trip_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        length = min(n - made, rng.randint(200, 1_800))
        lat, lng = 47.0 + rng.random() * 7.0, 6.0 + rng.random() * 9.0
        t_us += rng.randint(3_600, 5 * 86_400) * 1_000_000
        fixes: list[OldFix] = []
        for _ in range(length):
            t_us += 1_000_000
            lat += rng.gauss(0.0, 1e-4)
            lng += rng.gauss(0.0, 1.5e-4)
            speed = _f32(rng.uniform(0.0, 38.0)) if rng.random() < 0.95 else None
            fixes.append((t_us, lat, lng, _f32(rng.uniform(2.0, 30.0)), speed))
        made += length
        yield trip_id, fixes


def old_store(path: Path, trips: Iterator[tuple[str, list[OldFix]]]) -> int:
    """A store at revision 0010 (the old waypoint layout) holding ``trips``, finished
    recordings. Returns how many fixes it holds."""
    prepare_file(path)
    engine = create_db_engine(path)
    ensure_schema(engine, path, target="0010")
    engine.dispose()
    count = 0
    with closing(sqlite3.connect(path)) as con, con:
        for trip_id, fixes in trips:
            add_old_trip(con, trip_id, fixes)
            count += len(fixes)
    return count


def add_old_trip(con: sqlite3.Connection, trip_id: str, fixes: list[OldFix]) -> None:
    """A finished recording and its fixes, written as trip-tracker 0010 wrote them."""
    con.execute(
        "INSERT INTO trip (id, status, lifecycle, source, date, timezone, distance, "
        "distance_unit, classification, version, created_at, updated_at, "
        "class_segment_ids, custom_data) VALUES (?, 'complete', 'active', 'live', "
        "'2026-01-01', 'UTC', '1', 'km', 'business', 1, "
        "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', '[]', '{}')",
        (trip_id,),
    )
    con.executemany(
        "INSERT INTO waypoint (trip_id, seq, t_us, lat, lng, accuracy, speed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((trip_id, seq, *fix) for seq, fix in enumerate(fixes)),
    )


def bytes_per_fix(path: Path) -> float:
    """Pages of the waypoint table and its indexes (``dbstat``) per stored fix."""
    with closing(sqlite3.connect(path)) as con:
        names = [
            row[0]
            for row in con.execute(
                "SELECT name FROM sqlite_master WHERE tbl_name = 'waypoint' "
                "AND type IN ('table', 'index')"
            )
        ]
        marks = ", ".join("?" for _ in names)
        used = con.execute(
            f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})",
            names,
        ).fetchone()[0]
        fixes = con.execute("SELECT count(*) FROM waypoint").fetchone()[0]
    return float(used) / fixes


def _app_written(path: Path, n: int) -> None:
    """The same fixes written through ``Tracker.add_points`` (live recordings)."""
    with Tracker.open(path, timezone="UTC") as store:
        for _, fixes in realistic_trips(n):
            first = _EPOCH + timedelta(microseconds=fixes[0][0])
            trip = store.trips.start({"start_time": first})
            store.trips.add_points(
                trip.id,
                (
                    (_EPOCH + timedelta(microseconds=t), lat, lng, acc, spd)
                    for t, lat, lng, acc, spd in fixes
                ),
            )


def _wal_mb(path: Path) -> float:
    wal = path.with_name(path.name + "-wal")
    return round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0


def _one_transaction(path: Path) -> float:
    """Migrate as one transaction; the WAL file's size (MB) before the last connection
    closes (the WAL is reset, not shrunk, by checkpoints: it is the largest transaction's)."""
    engine = create_db_engine(path)
    try:
        ensure_schema(engine, path, staged=False)
        return _wal_mb(path)
    finally:
        engine.dispose()


def _staged(path: Path) -> float:
    """Migrate as ``Tracker.open`` does; the WAL file's size (MB), as above."""
    with Tracker.open(path, timezone="UTC"):
        return _wal_mb(path)


def run(n: int = 1_000_000) -> list[dict[str, Any]]:
    """Build a 0010 store of ``n`` fixes, measure it, migrate copies of it both ways."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old = folder / "old.db"
        stored = old_store(old, realistic_trips(n))
        trips = sum(1 for _ in realistic_trips(n))
        before = bytes_per_fix(old)
        timings: dict[str, float] = {}
        wal: dict[str, float] = {}
        for how, migrate in (("one", _one_transaction), ("staged", _staged)):
            copy = folder / f"{how}.db"
            shutil.copyfile(old, copy)
            started = time.perf_counter()
            wal[how] = migrate(copy)
            timings[how] = time.perf_counter() - started
        after = bytes_per_fix(folder / "staged.db")
        _app_written(folder / "app.db", n)
        app = bytes_per_fix(folder / "app.db")
    staged_rate, one_rate = stored / timings["staged"], stored / timings["one"]
    return [
        {
            "name": f"bytes per waypoint with its index ({stored:,} fixes, {trips:,} trips): "
            "0016 layout vs 0010",
            "n": stored,
            "unit": "B/fix",
            "ours": round(after, 1),
            "baseline": round(before, 1),
            "ratio": round(after / before, 2),
            "app_written": round(app, 1),
            "target": f"<= {TARGET_BYTES:.0f} B/fix",
            "met": after <= TARGET_BYTES and app <= TARGET_BYTES,
        },
        {
            "name": f"migration 0016 of {stored:,} fixes: staged (resumable) vs one transaction",
            "n": stored,
            "unit": "fixes/s",
            "ours": round(staged_rate),
            "baseline": round(one_rate),
            "ratio": round(staged_rate / one_rate, 2),
            "seconds": round(timings["staged"], 2),
            "baseline_seconds": round(timings["one"], 2),
            "wal_mb": wal["staged"],
            "baseline_wal_mb": wal["one"],
            "target": f">= {STAGED_TARGET}x",
            "met": staged_rate / one_rate >= STAGED_TARGET,
        },
    ]


if __name__ == "__main__":
    import sys

    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000):
        print(row)

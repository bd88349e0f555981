"""Waypoint ingestion: Tracker.add_points (validation + SQLAlchemy Core executemany) against
raw sqlite3 executemany of the same rows into the same schema, in one process.

Target (issue 2): ours >= 0.5x the raw rate.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.fixcodec import ACC_SCALE, DEG_SCALE, SPEED_SCALE, encode, encode_optional
from tracker.store import Tracker

TARGET = 0.5


def _points(n: int) -> list[tuple[datetime, float, float, float, float]]:
    base = datetime(2026, 3, 10, 8, tzinfo=UTC)
    return [
        (base + timedelta(milliseconds=250 * i), 52.0 + i * 1e-6, 13.0 + i * 1e-6, 4.0, 13.9)
        for i in range(n)
    ]


def _raw(path: Path, trip_id: str, points: list[Any]) -> float:
    """Same rows, same table and PRAGMAs, plain sqlite3 (the baseline): the fixes are turned
    into the stored integers (``tracker.fixcodec``) before the clock starts."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    t0 = (points[0][0] - epoch) // timedelta(microseconds=1)
    rows = [
        (
            1,
            i,
            (t - epoch) // timedelta(microseconds=1) - t0,
            encode(lat, DEG_SCALE),
            encode(lng, DEG_SCALE),
            encode_optional(acc, ACC_SCALE),
            encode_optional(spd, SPEED_SCALE),
        )
        for i, (t, lat, lng, acc, spd) in enumerate(points)
    ]
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    start = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO track (key, trip_id, t0_us) VALUES (1, ?, ?)", (trip_id, t0))
    con.executemany(
        "INSERT INTO waypoint (trip_key, seq, dt_us, lat_e7, lng_e7, acc_cm, speed_cms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def run(n: int = 200_000, repeats: int = 3) -> dict[str, Any]:
    """Best-of-``repeats`` rates for both paths; returns a result row."""
    points = _points(n)
    ours_best = raw_best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            with Tracker.open(Path(tmp) / f"ours{r}.db", timezone="UTC") as t:
                trip = t.trips.start({"start_time": points[0][0]})
                start = time.perf_counter()
                t.trips.add_points(trip.id, points)
                ours_best = min(ours_best, time.perf_counter() - start)
            with Tracker.open(Path(tmp) / f"raw{r}.db", timezone="UTC") as t:
                raw_trip = t.trips.start({"start_time": points[0][0]})
            raw_best = min(raw_best, _raw(Path(tmp) / f"raw{r}.db", raw_trip.id, points))
    ours_rate, raw_rate = n / ours_best, n / raw_best
    ratio = ours_rate / raw_rate
    return {
        "name": "waypoint ingestion vs raw sqlite3 executemany",
        "n": n,
        "ours_per_s": round(ours_rate),
        "baseline_per_s": round(raw_rate),
        "ratio": round(ratio, 2),
        "target": f">= {TARGET}x",
        "met": ratio >= TARGET,
    }


if __name__ == "__main__":
    print(run())

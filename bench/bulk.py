"""Bulk trip ingest (issue 15): ``Tracker.add_trips`` (validation, rows, executemany through
SQLAlchemy's connection, one transaction per chunk) against raw ``sqlite3`` executemany of
the same rows (trip with its chain head, journal entry, history event, the trip's first
history link: hashed before the clock starts) into the same schema and PRAGMAs, with
the same chunks, in one process; and the rate of ``tracker trip import FILE.csv``'s path
(CSV reading, the dry-run pass, the import with keys), in the same run.

Target: ours >= 0.5x the raw rate.

    .venv/bin/python -m bench.bulk [N]
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tracker.bulk import DEFAULT_CHUNK
from tracker.bulkrows import TRIP_COLUMNS, check, trip_values
from tracker.chain import COVERED
from tracker.links import LinkRow, first_links
from tracker.store import Tracker

TARGET = 0.5
ZONE = "Europe/Berlin"
NOW = "2026-11-28T12:00:00.000000Z"


def trips(n: int) -> list[dict[str, Any]]:
    """``n`` manual trips as an app or a CSV file gives them (text values)."""
    first = date(2016, 1, 1)
    kinds = ("business", "personal", "unclassified")
    return [
        {
            "date": (first + timedelta(days=i // 10)).isoformat(),
            "distance": f"{(i % 500) + 1}.{i % 10}",
            "unit": "km",
            "classification": kinds[i % 3],
            "description": f"client visit {i}",
        }
        for i in range(n)
    ]


_COVERED_AT = [TRIP_COLUMNS.index(c) if c in TRIP_COLUMNS else -1 for c in COVERED]
Chunk = tuple[list[Any], list[Any], list[Any], list[LinkRow]]


def _raw_rows(data: list[dict[str, Any]]) -> list[Chunk]:
    """The same rows, built (and hashed) before the clock starts (the baseline only
    inserts)."""
    zone = ZoneInfo(ZONE)
    chunks = []
    seq = 1
    for start in range(0, len(data), DEFAULT_CHUNK):
        t, j, e = [], [], []
        for n, item in enumerate(data[start : start + DEFAULT_CHUNK]):
            checked = check(item, n)
            assert not hasattr(checked, "field"), checked
            trip_id = str(uuid.uuid4())
            t.append(trip_values(trip_id, checked.given, zone, NOW))  # type: ignore[union-attr]
            j.append((seq, trip_id, NOW, NOW))
            e.append((seq, trip_id, NOW, "queued save", None))
            seq += 1
        covered = [
            (row[0], [v[i] if i >= 0 else None for i in _COVERED_AT])
            for row, v in zip(j, t, strict=True)
        ]
        links = first_links(covered, NOW, "recorded", ["bulk import"] * len(t))
        t = [(*v, link[-1]) for v, link in zip(t, links, strict=True)]
        chunks.append((t, j, e, links))
    return chunks


def _raw(path: Path, chunks: list[Chunk]) -> float:
    names = (*TRIP_COLUMNS, "chain_head")
    marks = ", ".join("?" * len(names))
    trip_sql = f"INSERT INTO trip ({', '.join(names)}) VALUES ({marks})"
    entry_sql = (
        "INSERT INTO journal (seq, trip_id, op, state, attempts, in_doubt, payload_version, "
        "created_at, updated_at) VALUES (?, ?, 'save', 'pending', 0, 0, 1, ?, ?)"
    )
    event_sql = (
        "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail) VALUES (?, ?, ?, ?, ?)"
    )
    link_sql = (
        "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail, changes, state, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA foreign_keys=ON")
        start = time.perf_counter()
        for t, j, e, links in chunks:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(trip_sql, t)
            con.executemany(entry_sql, j)
            con.executemany(event_sql, e)
            con.executemany(link_sql, links)
            con.execute("COMMIT")
        return time.perf_counter() - start


def _ours(path: Path, data: list[dict[str, Any]]) -> float:
    with Tracker.open(path, timezone=ZONE) as store:
        start = time.perf_counter()
        report = store.add_trips(data)
        elapsed = time.perf_counter() - start
    assert report.added == len(data), report
    return elapsed


def _csv_rate(folder: Path, data: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds for the CSV path (both passes, as the command runs them), and its rate."""
    from sync.cli.trip_import import import_csv

    src = folder / "trips.csv"
    names = list(data[0])
    with src.open("w", encoding="utf-8") as out:
        out.write(",".join(names) + "\n")
        for item in data:
            out.write(",".join(item[k] for k in names) + "\n")
    with Tracker.open(folder / "csv.db", timezone=ZONE) as store:
        start = time.perf_counter()
        report = import_csv(store, src).report
        elapsed = time.perf_counter() - start
    assert report.added == len(data), report
    return elapsed, len(data) / elapsed


def run(n: int = 50_000, repeats: int = 3) -> list[dict[str, Any]]:
    """Best-of-``repeats`` rates of both paths, and the CSV import rate; result rows."""
    data = trips(n)
    chunks = _raw_rows(data)
    ours_best = raw_best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for r in range(repeats):
            ours_best = min(ours_best, _ours(folder / f"ours{r}.db", data))
            Tracker.open(folder / f"raw{r}.db", timezone=ZONE).close()  # the same schema
            raw_best = min(raw_best, _raw(folder / f"raw{r}.db", chunks))
        csv_seconds, csv_rate = _csv_rate(folder, data)
    ours, raw = n / ours_best, n / raw_best
    ratio = ours / raw
    return [
        {
            "name": f"bulk trips: add_trips vs raw sqlite3 executemany ({DEFAULT_CHUNK}/chunk)",
            "n": n,
            "ours": round(ours),
            "baseline": round(raw),
            "unit": "trips/s",
            "ratio": round(ratio, 2),
            "target": f">= {TARGET}x",
            "met": ratio >= TARGET,
        },
        {
            "name": "trip import FILE.csv (check pass + import with keys) vs add_trips",
            "n": n,
            "ours": round(csv_rate),
            "baseline": round(ours),
            "unit": "trips/s",
            "ratio": round(csv_rate / ours, 2),
            "target": "reported only",
            "met": None,
            "seconds": round(csv_seconds, 2),
        },
    ]


if __name__ == "__main__":
    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000):
        print(row)

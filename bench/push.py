"""Push throughput: ``SyncEngine.run()`` (push) from a real SQLite file to the sandbox on loopback,
against a bare httpx loop posting the same request bodies to the same server, in one run.

Both sides talk to one sandbox server on 127.0.0.1 in a child process (``bench.remote``: a
real remote never shares the client's interpreter); each side gets a fresh sandbox so neither
pays for records the other stored, and each run is checked on the server: every trip stored
once, one request per batch. The rate limit is off on both sides: this measures the engine's
own cost per record, not the 1000/5 min budget (``bench/drain.py`` measures that). The bare
loop posts the engine's bodies, encoded beforehand, and reads nothing but the status; the
engine claims, builds, sends, parses every answer and records each outcome durably.

Target (issue 4): ours >= 0.5x the bare loop's records/s at batch 100.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import steps
from bench.remote import Remote, sandbox_process
from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN
from sync.settings import MileageSettings, Settings
from sync.tight.api import SAVE_PATH
from sync.tight.mapping import save_body
from tracker.store import Tracker

TARGET = 0.5
NO_LIMIT = 10**9
"""Client budget large enough never to wait (RequestBudget needs a positive int)."""
TEMPLATE_TRIPS = 200


# ----------------------------------------------------------------------------- fixtures
def _trip_input(i: int) -> dict[str, Any]:
    """A realistic manual trip: times, both ends, a description, varied class and distance."""
    day = 1 + i % 28
    start = f"2026-03-{day:02d}T{7 + i % 10:02d}:{i % 60:02d}:00Z"
    end = f"2026-03-{day:02d}T{8 + i % 10:02d}:{(i * 7) % 60:02d}:00Z"
    return {
        "start_time": start,
        "end_time": end,
        "distance": f"{3 + i % 97}.{i % 1000:03d}",
        "classification": ("business", "personal", "unclassified")[i % 3],
        "description": f"Customer visit #{i}",
        "start": {"lat": 52.52 + (i % 100) * 1e-3, "lng": 13.405 + (i % 50) * 1e-3},
        "end": {"lat": 52.40 - (i % 100) * 1e-3, "lng": 13.06 + (i % 50) * 1e-3},
    }


def make_pending_db(path: Path, n: int) -> None:
    """A store at ``path`` with ``n`` trips, each with one pending journal entry.

    The first ``TEMPLATE_TRIPS`` are recorded through ``Tracker.add_trip`` (the real path:
    validation, the trip row, the journal entry and its event in one transaction). The rest
    are copies of those rows under fresh UUIDs, inserted with sqlite3: ``add_trip`` runs at
    ~700 trips/s (ORM per row), so 100k trips would take minutes of set-up that is not what
    these benchmarks measure. The copies are the same rows ``add_trip`` wrote, column by column.
    """
    first = min(n, TEMPLATE_TRIPS)
    with Tracker.open(path, timezone="UTC", synchronous="NORMAL") as store:
        for i in range(first):
            store.trips.add(_trip_input(i))
    if n > first:
        _clone_trips(path, n - first)
    with Tracker.open(path, timezone="UTC") as store:
        pending = store.journal.counts().pending
    if pending != n:
        raise RuntimeError(f"fixture has {pending} pending entries, wanted {n}")


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f"PRAGMA table_info({table})")]


def _clone_trips(path: Path, extra: int) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        trip_cols = _columns(con, "trip")
        entry_cols = _columns(con, "journal")
        event_cols = _columns(con, "journal_event")
        trips = con.execute(f"SELECT {', '.join(trip_cols)} FROM trip ORDER BY rowid").fetchall()
        entries = {
            row[entry_cols.index("trip_id")]: row
            for row in con.execute(f"SELECT {', '.join(entry_cols)} FROM journal")
        }
        events = {
            row[event_cols.index("trip_id")]: row
            for row in con.execute(f"SELECT {', '.join(event_cols)} FROM journal_event")
        }
        (seq,) = con.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()
        (event_id,) = con.execute("SELECT COALESCE(MAX(id), 0) FROM journal_event").fetchone()
        tid, eseq, etrip = (
            trip_cols.index("id"),
            entry_cols.index("seq"),
            entry_cols.index("trip_id"),
        )
        vid, vseq, vtrip = (
            event_cols.index("id"),
            event_cols.index("entry_seq"),
            event_cols.index("trip_id"),
        )
        new_trips, new_entries, new_events = [], [], []
        for k in range(extra):
            template = trips[k % len(trips)]
            trip_id = str(uuid.uuid4())
            seq += 1
            event_id += 1
            row = list(template)
            row[tid] = trip_id
            new_trips.append(row)
            entry = list(entries[template[tid]])
            entry[eseq], entry[etrip] = seq, trip_id
            new_entries.append(entry)
            event = list(events[template[tid]])
            event[vid], event[vseq], event[vtrip] = event_id, seq, trip_id
            new_events.append(event)
        con.execute("BEGIN IMMEDIATE")
        for table, cols, rows in (
            ("trip", trip_cols, new_trips),
            ("journal", entry_cols, new_entries),
            ("journal_event", event_cols, new_events),
        ):
            marks = ", ".join("?" * len(cols))
            con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
        con.execute("COMMIT")
        # Fold the WAL into the main file so a plain file copy is the whole database.
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def copy_db(template: Path, target: Path) -> Path:
    """Copy a closed, checkpointed database file (no -wal / -shm needed)."""
    shutil.copyfile(template, target)
    target.chmod(0o600)
    return target


def mileage_settings(url: str, batch: int, **overrides: Any) -> MileageSettings:
    """Tight settings for a benchmark run: sandbox token, given batch, no client budget."""
    values: dict[str, Any] = {
        "url": url,
        "token": DEFAULT_TOKEN,
        "batch_size": batch,
        "rate_limit": NO_LIMIT,
    }
    values.update(overrides)
    return MileageSettings(**values)


# ----------------------------------------------------------------------------- the two sides
@dataclass
class Side:
    """One measured push of ``n`` records, and what the server counted."""

    seconds: float
    saves: int
    stored: int
    duplicates: int


def push_engine(db: Path, remote: Remote, batch: int, home: Path) -> Side:
    """``SyncEngine.run()`` (push) of every pending entry in ``db`` (timed: the push call only)."""
    remote.reset()
    settings = Settings(home=home, mileage=mileage_settings(remote.tight_url, batch))
    with Tracker.open(db, timezone="UTC") as store:
        engine = SyncEngine(settings, store)
        try:
            start = time.perf_counter()
            report = steps.push(engine)
            seconds = time.perf_counter() - start
        finally:
            engine.close()
        left = store.journal.counts().pending
    if left or report.parked or report.retried:
        raise RuntimeError(f"push did not drain cleanly: {report.to_dict()}, {left} pending")
    return Side(seconds, **remote.stats())


def build_bodies(db: Path, batch: int, url: str) -> list[bytes]:
    """The request bodies the engine would send, built and encoded once, outside the timed
    loop (``peek`` runs the real claim in a rolled-back transaction)."""
    cfg = mileage_settings(url, batch)
    with Tracker.open(db, timezone="UTC") as store:
        claimed = store.outbox.peek(10**9)
        trips = store.outbox.trips([c.trip_id for c in claimed])
    items = [save_body(trips[c.trip_id], cfg) for c in claimed]
    return [
        json.dumps({"data": items[i : i + batch]}).encode() for i in range(0, len(items), batch)
    ]


def push_bare(bodies: list[bytes], remote: Remote) -> Side:
    """The floor: one httpx.Client posting each pre-encoded body, checking the status."""
    remote.reset()
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(base_url=remote.tight_url, headers=headers) as client:
        start = time.perf_counter()
        for body in bodies:
            response = client.post(SAVE_PATH, content=body)
            if response.status_code != 200:
                raise RuntimeError(f"bare loop got HTTP {response.status_code}")
        seconds = time.perf_counter() - start
    return Side(seconds, **remote.stats())


@contextmanager
def pending_template(n: int) -> Iterator[tuple[Path, Path]]:
    """A temp dir and a template database with ``n`` pending trips in it."""
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        template = Path(tmp) / "template.db"
        make_pending_db(template, n)
        yield Path(tmp), template


def run(n: int = 20_000, batch: int = 100, repeats: int = 2) -> dict[str, Any]:
    """Best-of-``repeats`` records/s for the engine and the bare loop; returns a result row."""
    ours_best = bare_best = float("inf")
    with pending_template(n) as (tmp, template), sandbox_process() as remote:
        bodies = build_bodies(template, batch, remote.tight_url)
        for r in range(repeats):
            # Alternate the order so neither side always runs on a warmer process.
            order = ("ours", "bare") if r % 2 == 0 else ("bare", "ours")
            for side in order:
                if side == "ours":
                    db = copy_db(template, tmp / f"ours{r}.db")
                    result = push_engine(db, remote, batch, tmp / "home")
                    ours_best = min(ours_best, result.seconds)
                else:
                    result = push_bare(bodies, remote)
                    bare_best = min(bare_best, result.seconds)
                if (result.stored, result.duplicates, result.saves) != (n, 0, len(bodies)):
                    raise RuntimeError(f"{side}: {result} for {n} trips / {len(bodies)} bodies")
    ours_rate, bare_rate = n / ours_best, n / bare_best
    ratio = ours_rate / bare_rate
    return {
        "name": f"push {n} trips at batch {batch} (SyncEngine vs bare httpx loop, loopback)",
        "n": n,
        "unit": "records/s",
        "ours": round(ours_rate),
        "baseline": round(bare_rate),
        "ratio": round(ratio, 2),
        "target": f">= {TARGET}x",
        "met": ratio >= TARGET,
    }


if __name__ == "__main__":
    print(run())

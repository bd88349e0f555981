"""Tracker.add_trips: validated as one trip, stored as one trip, a chunk per transaction with
its journal entries; import keys; waypoints; a process killed mid-chunk leaves whole chunks."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.store import BOTH_BACKENDS, claim
from tracker.bulkrows import BulkReport, RowError, TripRow
from tracker.errors import InvalidInputError
from tracker.store import Tracker

FULL = {
    "date": "2026-03-01",
    "distance": "12.50",
    "unit": "mile",
    "classification": "business",
    "description": "client visit",
    "notes": "gate code 1234",
    "customer_id": "cus_1",
    "class_segment_ids": ["seg_1", "seg_2"],
    "custom_data": {"project": "alpha", "n": 3},
    "start_time": "2026-03-01T08:00:00+01:00",
    "end_time": "2026-03-01T08:45:30+01:00",
    "start": {"lat": "52.52", "lng": "13.405", "address": {"city": "Berlin", "zip": "10117"}},
    "end": {"lat": "52.4", "lng": "13.06"},
}
# Set by the store, not by the input: they differ between any two trips (the chain head
# hashes the id; tests/tracker/test_chain.py checks both verify).
OWN = {"id", "created_at", "updated_at", "chain_head"}


def _rows(path: Path, table: str, order: str) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY {order}")]


def test_a_bulk_trip_is_stored_exactly_as_one_added_alone(store: Tracker, db_path: Path) -> None:
    for data in (FULL, {"start_time": "2026-03-02T23:30:00+00:00", "distance": "1"}):
        one = store.trips.add(data)
        assert store.add_trips([data]).added == 1
        alone, bulk = (
            {k: v for k, v in row.items() if k not in OWN}
            for row in _rows(db_path, "trip", "created_at, rowid")[-2:]
        )
        assert alone == bulk
        assert one.date is not None and alone["date"] == one.date.isoformat()


def test_every_added_trip_has_one_pending_entry_in_row_order(store: Tracker, db_path: Path) -> None:
    store.trips.add({"date": "2026-01-01", "distance": "1"})  # an entry before: seq goes on
    report = store.add_trips(
        ({"date": "2026-03-01", "distance": str(n), "description": f"t{n}"} for n in range(25)),
        chunk_size=10,
    )

    assert report == BulkReport(rows=25, added=25)
    entries = _rows(db_path, "journal", "seq")
    trips = {t["id"]: t for t in _rows(db_path, "trip", "rowid")}
    assert [e["seq"] for e in entries] == list(range(1, 27))
    assert [trips[e["trip_id"]]["description"] for e in entries[1:]] == [f"t{n}" for n in range(25)]
    assert {(e["op"], e["state"], e["attempts"], e["in_doubt"]) for e in entries} == {
        ("save", "pending", 0, 0)
    }
    events = _rows(db_path, "journal_event", "id")
    assert [(e["entry_seq"], e["event"]) for e in events if e["hash"] is None] == [
        (n, "queued save") for n in range(1, 27)
    ]
    # Each trip's first history link, on its entry (tracker.links).
    assert [(e["entry_seq"], e["event"]) for e in events if e["hash"] is not None] == [
        (n, "recorded") for n in range(1, 27)
    ]
    assert store.journal.counts().pending == 26
    # A later edit coalesces into the bulk trip's pending entry, as for one added alone.
    store.trips.edit(entries[5]["trip_id"], {"notes": "x"})
    assert len(store.journal.history(entries[5]["trip_id"])[0]) == 1
    # The pusher claims them in that order, as any other pending change.
    claimed = claim(store, "pusher", 100, timedelta(minutes=5))
    assert [c.seq for c in claimed] == list(range(1, 27))


@BOTH_BACKENDS
def test_invalid_rows_are_reported_with_their_row_and_field(store: Tracker) -> None:
    rows: list[Any] = [
        {"date": "2026-03-01", "distance": "1"},
        {"date": "2026-13-01", "distance": "1"},
        {"date": "2026-03-01", "distance": "-2"},
        {"date": "2026-03-01", "distance": "1", "unit": "parsec"},
        {"date": "2026-03-01", "distance": "1", "classification": "work"},
        {"distance": "1"},
        RowError(7, "date", "'x' is not a date"),
        {"date": "2026-03-01", "distance": "1", "car_id": "no-such-car"},
        TripRow({"date": "2026-03-01", "distance": "1"}, number=42),
    ]

    report = store.add_trips(rows, skip_invalid=True)

    assert (report.rows, report.added, report.invalid) == (9, 2, 7)
    assert [(e.row, e.field) for e in report.errors] == [
        (2, "date"),
        (3, "distance"),
        (4, "unit"),
        (5, "classification"),
        (6, "input"),
        (7, "date"),
        (8, "car_id"),
    ]
    assert "no-such-car" in report.errors[-1].message
    assert store.trips.count() == 2
    with pytest.raises(InvalidInputError, match=r"row 2: date.*and 6 more invalid rows"):
        report.raise_for_errors()


@BOTH_BACKENDS
def test_a_car_is_named_by_its_id_or_a_unique_prefix_as_for_one_trip(store: Tracker) -> None:
    car = store.cars.add({"name": "Golf"})
    report = store.add_trips(
        [
            {"date": "2026-03-01", "distance": "1", "car_id": car.id},
            {"date": "2026-03-01", "distance": "2", "car_id": car.id[:8]},
        ]
    )
    assert report.added == 2
    assert {t.car_id for t in store.trips.list()} == {car.id}


@BOTH_BACKENDS
def test_without_skip_the_first_invalid_row_stops_and_its_chunk_is_not_written(
    store: Tracker,
) -> None:
    rows = [{"date": "2026-03-01", "distance": str(n)} for n in range(1, 26)]
    rows[13]["distance"] = "-1"  # row 14, in the second chunk of 10

    report = store.add_trips(rows, chunk_size=10)

    assert report.stopped_at == 14 and not report.complete
    assert report.added == 10
    assert store.trips.count() == 10
    assert store.journal.counts().pending == 10


@BOTH_BACKENDS
def test_a_row_found_bad_while_writing_leaves_its_chunk_out_whole_or_without_it(
    store: Tracker,
) -> None:
    """A bad track is only seen inside the transaction: the chunk is rolled back and, under
    skip_invalid, written again without the row; without it, not written at all."""
    t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
    good = [(t0 + timedelta(seconds=i), 52.0, 13.0 + i / 1000) for i in range(3)]
    bad = [(t0, 52.0, 13.0), (t0, 52.0, 13.1)]  # not in time order

    def rows() -> list[TripRow]:
        return [
            TripRow({"date": "2026-03-01", "distance": "1"}, waypoints=good),
            TripRow({"date": "2026-03-01", "distance": "2"}, waypoints=iter(bad)),
            TripRow({"date": "2026-03-01", "distance": "3"}, waypoints=(p for p in good)),
        ]

    strict = store.add_trips(rows())
    assert (strict.added, strict.stopped_at, store.trips.count()) == (0, 2, 0)

    report = store.add_trips(rows(), skip_invalid=True)
    assert (report.added, report.invalid) == (2, 1)
    assert report.errors[0].field == "waypoints[1].time"
    trips = store.trips.list()
    assert sorted(str(t.distance) for t in trips) == ["1", "3"]
    assert [store.trips.waypoint_count(t.id) for t in trips] == [3, 3]
    assert store.journal.counts().pending == 2


def test_import_keys_skip_rows_added_before(store: Tracker, db_path: Path) -> None:
    def rows(keys: list[str]) -> list[TripRow]:
        return [TripRow({"date": "2026-03-01", "distance": "1"}, import_key=k) for k in keys]

    assert store.add_trips(rows(["a", "b", "a"])) == BulkReport(rows=3, added=2, skipped=1)
    assert store.add_trips(rows(["a", "b", "c"])) == BulkReport(rows=3, added=1, skipped=2)
    dry = store.add_trips(rows(["c", "d"]), dry_run=True)
    assert (dry.added, dry.skipped, dry.dry_run) == (1, 1, True)
    assert store.trips.count() == 3
    keys = {r["key"]: r["trip_id"] for r in _rows(db_path, "trip_import", "key")}
    assert set(keys) == {"a", "b", "c"}
    assert set(keys.values()) == {t.id for t in store.trips.list()}
    bad = store.add_trips(rows(["x" * 201]), skip_invalid=True)
    assert bad.errors[0].field == "import_key"


def test_a_dry_run_checks_everything_and_writes_nothing(store: Tracker, db_path: Path) -> None:
    report = store.add_trips(
        [{"date": "2026-03-01", "distance": "1"}, {"date": "2026-03-01", "distance": "x"}],
        dry_run=True,
    )
    assert (report.added, report.invalid, report.complete) == (1, 1, True)
    assert store.trips.count() == 0
    assert _rows(db_path, "journal", "seq") == []


@BOTH_BACKENDS
def test_progress_is_told_after_each_chunk(store: Tracker) -> None:
    seen: list[int] = []
    store.add_trips(
        ({"date": "2026-03-01", "distance": "1"} for _ in range(25)),
        chunk_size=10,
        on_progress=lambda r: seen.append(r.added),
    )
    assert seen == [10, 20, 25]


@BOTH_BACKENDS
def test_a_chunk_size_out_of_range_is_refused(store: Tracker) -> None:
    with pytest.raises(InvalidInputError, match="chunk_size"):
        store.add_trips([], chunk_size=0)


_KILLED_CHILD = """
import os, signal, sys
from datetime import UTC, datetime, timedelta
from tracker.bulkrows import TripRow
from tracker.store import Tracker

def track(n):
    t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
    for i in range(5):
        if n == 25 and i == 3:
            # Inside the third chunk's transaction, its trips and entries already inserted.
            os.kill(os.getpid(), signal.SIGKILL)
        yield (t0 + timedelta(seconds=i), 52.0, 13.0)

def rows():
    for n in range(40):
        yield TripRow({"date": "2026-03-01", "distance": str(n + 1)}, number=n + 2,
                      import_key=f"file:{n + 2}", waypoints=track(n))

with Tracker.open(sys.argv[1], timezone="UTC") as store:
    store.add_trips(rows(), chunk_size=10)
"""


def test_a_process_killed_mid_chunk_leaves_whole_chunks_and_a_rerun_adds_the_rest(
    db_path: Path,
) -> None:
    Tracker.open(db_path, timezone="UTC").close()
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, str(db_path)], capture_output=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr

    with Tracker.open(db_path, timezone="UTC") as store:
        assert store.trips.count() == 20  # two whole chunks; nothing of the third
        assert store.journal.counts().pending == 20
        assert len(_rows(db_path, "waypoint", "trip_key, seq")) == 100
        again = store.add_trips(
            TripRow(
                {"date": "2026-03-01", "distance": str(n + 1)},
                number=n + 2,
                import_key=f"file:{n + 2}",
            )
            for n in range(40)
        )
        assert (again.added, again.skipped) == (20, 20)
        distances = sorted(int(t.distance) for t in store.trips.list())
        assert distances == list(range(1, 41))
        assert store.journal.counts().pending == 40

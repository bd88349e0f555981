"""``tracker gc``: dry run, compaction, --vacuum, refused while a sync runs (exit 75)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from sync.clock import SystemClock
from sync.engine import PUSH_LEASE
from sync.lease import HeldLease
from sync.sandbox import SandboxServer
from tests.helpers.cli import run, run_json
from tracker.store import Tracker


def _db() -> Path:
    import os

    return Path(os.environ["TRACKER_HOME"]) / "tracker.db"


def _count(sql: str) -> int:
    with contextlib.closing(sqlite3.connect(_db())) as con:
        return int(con.execute(sql).fetchone()[0])


@pytest.fixture
def synced(
    capsys: pytest.CaptureFixture[str],
    point_at_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    ids = [
        run_json(capsys, "trip", "add", "--distance", "12", "--date", f"2026-03-0{day}")["id"]
        for day in (1, 2, 3)
    ]
    assert run(capsys, "sync", "--push")[0] == 0
    monkeypatch.setenv("TRACKER_JOURNAL_RETENTION_DAYS", "0")
    return ids


def test_a_dry_run_says_what_would_go_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], synced: list[str]
) -> None:
    dry = run_json(capsys, "gc", "--dry-run")
    assert (dry["dry_run"], dry["entries"], dry["vacuumed"]) == (True, 3, False)
    assert _count("SELECT count(*) FROM journal") == 3
    code, out, _ = run(capsys, "gc", "--dry-run")
    assert code == 0 and "would remove" in out and "nothing changed" in out


def test_gc_compacts_and_keeps_each_trips_history(
    capsys: pytest.CaptureFixture[str], synced: list[str]
) -> None:
    done = run_json(capsys, "gc")
    assert (done["dry_run"], done["entries"]) == (False, 3)
    assert _count("SELECT count(*) FROM journal") == 0
    shown = run_json(capsys, "trip", "show", synced[0])
    assert shown["sync_state"] == "synced" and shown["journal"] == []
    assert [h["event"] for h in shown["history"]] == ["queued save", "recorded", "synced"]
    code, out, _ = run(capsys, "trip", "show", synced[0])  # the table of a compacted trip
    assert code == 0 and "synced" in out
    status = run_json(capsys, "status")
    assert status["journal"]["synced"] == 0 and status["journal"]["pending"] == 0
    assert run_json(capsys, "gc")["entries"] == 0


def test_vacuum_shrinks_the_file(capsys: pytest.CaptureFixture[str], synced: list[str]) -> None:
    with contextlib.closing(sqlite3.connect(_db())) as con, con:
        con.execute(  # a store that grew with the per-attempt rows of older versions
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
            "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail) "
            "SELECT 1, 'x', '2020-01-01T00:00:00.000000Z', 'claimed', printf('attempt %d', i) "
            "FROM n"
        )
    done = run_json(capsys, "gc", "--vacuum")
    assert done["vacuumed"] and done["events"] >= 3000
    assert done["bytes_after"] < done["bytes_before"] and done["bytes_freed"] > 0
    code, out, _ = run(capsys, "gc", "--vacuum")
    assert code == 0 and "vacuumed" in out


def test_gc_exits_75_while_a_sync_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with Tracker.open(_db(), timezone="UTC") as store:
        store.trips.add({"date": "2026-03-01", "distance": "3"})
        with HeldLease(store.leases, PUSH_LEASE, timedelta(minutes=2), SystemClock(), busy=str):
            code, out, err = run(capsys, "gc", "--vacuum")
    assert code == 75 and out == ""
    assert "a sync is running" in err and "again" in err
    assert json.loads(run(capsys, "gc", "--json")[1])["entries"] == 0

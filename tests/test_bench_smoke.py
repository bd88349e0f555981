"""The benchmark runner, small: every row runs and yields numbers and a verdict.

Not a performance test: the targets are not asserted (timings on a shared CI machine are no
oracle); ``bench/run.py`` without ``--quick`` measures them. This keeps the benchmarks from
rotting: a renamed API or a broken fixture fails here, in the default run. What is not a
timing is asserted: the mileage walk of unchanged records writes nothing but its checkpoint.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench.run import BENCHMARKS, run_all

pytestmark = pytest.mark.slow  # real processes and waits: the full run only

REPORT_ONLY = "reported only"


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One quick run of every benchmark (the tests below read its rows)."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    return run_all(quick=True, out=out), out


def test_quick_run_produces_every_row(quick: tuple[dict[str, Any], Path]) -> None:
    results, out = quick
    rows = results["rows"]

    assert {row["bench"] for row in rows} == set(BENCHMARKS)
    for row in rows:
        assert row["status"] == "ok", row.get("traceback", row)
        for key in ("ours", "baseline", "ratio"):
            value = row[key]
            assert isinstance(value, int | float) and not isinstance(value, bool), (key, row)
            assert math.isfinite(value), (key, row)
        if REPORT_ONLY in row["target"]:
            assert row["met"] is None
        else:
            assert isinstance(row["met"], bool), row
    assert json.loads(out.read_text()) == json.loads(json.dumps(results, default=str))


def _walk_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [row for row in results["rows"] if row["bench"] == "walk"]
    assert rows and all(row["status"] == "ok" for row in rows), rows
    return rows


def test_the_walk_of_unchanged_records_writes_nothing_but_checkpoints(
    quick: tuple[dict[str, Any], Path],
) -> None:
    walk = _walk_rows(quick[0])[0]

    assert walk["data_rows_written"] == 0, walk["writes_by_table"]
    assert walk["data_tables_changed"] == []
    allowed = {"pull_state", "lease", "request_grant", "request_budget", "store_session"}
    assert set(walk["writes_by_table"]) <= allowed, walk["writes_by_table"]
    # The audit is live: it counted the checkpoint moving with every page.
    assert walk["writes_by_table"]["pull_state"] >= walk["pages"] >= 1
    # The ratio is the bare loop's time over the engine's, both measured in this run.
    assert walk["ours_seconds"] > 0 and walk["baseline_seconds"] > 0
    assert walk["ratio"] == pytest.approx(walk["baseline_seconds"] / walk["ours_seconds"], abs=0.01)
    assert walk["peak_rss_mb"] > 0


def test_the_read_save_window_is_measured_for_every_update(
    quick: tuple[dict[str, Any], Path],
) -> None:
    windows = _walk_rows(quick[0])[1:]

    assert windows
    for row in windows:
        assert row["n"] == row["updates"] * row["pushes"]
        assert 0 < row["min_ms"] <= row["median_ms"] <= row["p95_ms"] <= row["max_ms"], row
        assert row["saves_per_push"] == row["batches_per_push"]
        assert row["reads_per_push"] >= 1


def test_the_write_audit_sees_a_write(tmp_path: Path) -> None:
    from bench.mileage_walk import audited, install_audit
    from bench.push import make_pending_db
    from tracker.store import Tracker

    db = tmp_path / "tracker.db"
    make_pending_db(db, 3)
    con = sqlite3.connect(db, isolation_level=None)
    try:
        install_audit(con)
    finally:
        con.close()
    with Tracker.open(db, timezone="UTC") as store:
        trip_id = store.trips.list(limit=1)[0].id
        with audited(db) as found:
            store.trips.edit(trip_id, {"notes": "changed"})

    audit = found[0]
    assert not audit.clean
    assert audit.written["trip"] == 2  # its fields, then its history chain head (tracker.links)
    assert audit.data_rows >= 3  # the trip, its journal entry and its history link
    assert "trip" in audit.changed


def test_the_big_store_rows_measure_each_command_and_a_list_is_one_page(
    quick: tuple[dict[str, Any], Path],
) -> None:
    measured = [row for row in quick[0]["rows"] if row["bench"] == "big_store"]
    big = {row["name"].split("`")[1]: row for row in measured if row["trips"] == 5_000}
    empty = {row["name"].split("`")[1]: row for row in measured if row["trips"] == 0}

    every = {"trip list", "trip list --json", "trip add", "status", "sync --dry-run"}
    every |= {"sync --dry-run --push"}
    assert {f"tracker {c}" for c in every} == set(empty)
    shown = {name.rsplit(" ", 1)[0] if "trip show" in name else name for name in big}
    assert {f"tracker {c}" for c in every | {"trip show"}} == shown
    for row in measured:
        assert row["peak_rss_mb"] > 0 and row["baseline_rss_mb"] > 0, row
    assert all(row["fixes"] == 50_000 for row in big.values())  # built with their tracks
    # One page of 50 trips in JSON (about 1 KB each), not the whole store (~5 MB).
    assert 0 < big["tracker trip list --json"]["output_bytes"] < 200_000


def test_offline_runs_after_the_first_add_no_history_rows(
    quick: tuple[dict[str, Any], Path],
) -> None:
    (row,) = [row for row in quick[0]["rows"] if row["bench"] == "offline"]

    assert row["ours"] == 0 and row["baseline"] > 0  # not one row per failed attempt
    assert row["rows_added_by_first_run"] > 0  # the first failure of a streak is recorded
    assert row["bytes_after_gc_vacuum"] <= row["bytes_after_first_run"]
    assert row["met"] is True


def test_the_report_benchmark_writes_the_bare_loops_rows_and_measures_memory() -> None:
    """bench/report.py on a few hundred trips: its run checks the two CSVs hold the same
    rows (it raises otherwise); both rows carry numbers and a verdict."""
    from bench import report

    speed, memory = report.run(n=300)
    assert speed["n"] == memory["n"] == memory["done"] == 300
    assert speed["ours"] > 0 and speed["baseline"] > 0 and isinstance(speed["met"], bool)
    assert memory["peak_from_baseline"] in (True, False) and memory["peak_rss_mb"] > 0

"""Migration 0016 on stores made at revision 0010: every fix converted exactly, resumable
after a SIGKILL at any point, all or nothing for readers, safe with several openers."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.waypoint_store import OldFix, add_old_trip, old_store, realistic_trips
from tracker.db import create_db_engine
from tracker.errors import StorageError
from tracker.fixcodec import ACC_SCALE, DEG_SCALE, SPEED_SCALE, decode, encode, encode_optional
from tracker.migrations import waypoint_key
from tracker.schema import HEAD, ensure_schema
from tracker.store import Tracker

ROOT = Path(__file__).resolve().parents[2]
Trips = list[tuple[str, list[OldFix]]]
#: ``(trip_id, seq, t_us, lat_e7, lng_e7, acc_cm, speed_cms)``, in trip id and seq order.
Row = tuple[str, int, int, int, int, int | None, int | None]


def expected_rows(trips: Trips) -> list[Row]:
    """What the fixes of ``trips`` must become (``tracker.fixcodec``'s encoding)."""
    rows = [
        (
            trip_id,
            seq,
            t_us,
            encode(lat, DEG_SCALE),
            encode(lng, DEG_SCALE),
            encode_optional(acc, ACC_SCALE),
            encode_optional(spd, SPEED_SCALE),
        )
        for trip_id, fixes in trips
        for seq, (t_us, lat, lng, acc, spd) in enumerate(fixes)
    ]
    return sorted(rows, key=lambda row: (row[0], row[1]))


def stored_rows(path: Path) -> list[Row]:
    """The converted fixes as stored, read with plain sqlite3."""
    with closing(sqlite3.connect(path)) as con:
        return con.execute(
            "SELECT k.trip_id, w.seq, k.t0_us + w.dt_us, w.lat_e7, w.lng_e7, w.acc_cm, "
            "w.speed_cms FROM waypoint w JOIN track k ON k.key = w.trip_key "
            "ORDER BY k.trip_id, w.seq"
        ).fetchall()


def revision(path: Path) -> str:
    with closing(sqlite3.connect(path)) as con:
        return str(con.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def make_old(path: Path, n: int, seed: int = 11) -> Trips:
    trips = list(realistic_trips(n, seed=seed))
    old_store(path, iter(trips))
    return trips


def test_opening_a_0010_store_converts_every_fix_exactly(db_path: Path) -> None:
    trips = make_old(db_path, 30_000)
    with Tracker.open(db_path, timezone="UTC") as store:
        trip_id, fixes = trips[3]
        assert store.trips.waypoint_count(trip_id) == len(fixes)
        back = store.trips.waypoints(trip_id)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        assert [(w.time - epoch) // timedelta(microseconds=1) for w in back] == [
            t_us for t_us, *_ in fixes
        ]
        assert [(w.lat, w.lng) for w in back] == [
            (decode(encode(lat, DEG_SCALE), DEG_SCALE), decode(encode(lng, DEG_SCALE), DEG_SCALE))
            for _, lat, lng, _, _ in fixes
        ]
    assert revision(db_path) == HEAD
    assert stored_rows(db_path) == expected_rows(trips)
    assert "waypoint_next" not in tables(db_path)
    with closing(sqlite3.connect(db_path)) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []


def test_staged_and_one_transaction_conversions_store_the_same_rows(tmp_path: Path) -> None:
    staged, whole = tmp_path / "staged.db", tmp_path / "whole.db"
    trips = make_old(staged, 50_000)
    make_old(whole, 50_000)
    Tracker.open(staged, timezone="UTC").close()
    engine = create_db_engine(whole)
    ensure_schema(engine, whole, staged=False)
    engine.dispose()
    assert stored_rows(staged) == stored_rows(whole) == expected_rows(trips)


def _stage_chunks(path: Path, chunks: int, size: int) -> None:
    """Part of the staged copy, each chunk committed (what a killed run leaves)."""
    engine = create_db_engine(path)
    try:
        with engine.begin() as conn:
            waypoint_key.prepare(conn)
        for _ in range(chunks):
            with engine.begin() as conn:
                assert waypoint_key.copy_chunk(conn, size) == size
    finally:
        engine.dispose()


def test_fixes_an_older_version_adds_during_the_staged_copy_are_converted(
    db_path: Path,
) -> None:
    """Between chunks a trip-tracker at 0010 may still record: into a trip already copied,
    and as a new trip whose id sorts before the checkpoint. Nothing of it is lost."""
    trips = make_old(db_path, 20_000)
    _stage_chunks(db_path, 3, 2_000)
    first_id, first_fixes = min(trips)
    late = (first_fixes[-1][0] + 1_000_000, 1.5, 2.5, 3.0, None)
    new_trip: tuple[str, list[OldFix]] = (
        "00000000-0000-4000-8000-000000000000",
        [(10**15, -1.25, -2.5, None, 4.0), (10**15 + 1, -1.25, -2.5, None, None)],
    )
    with closing(sqlite3.connect(db_path)) as con, con:
        con.execute(
            "INSERT INTO waypoint VALUES (?, ?, ?, ?, ?, ?, ?)",
            (first_id, len(first_fixes), *late),
        )
        add_old_trip(con, *new_trip)
    first_fixes.append(late)
    Tracker.open(db_path, timezone="UTC").close()
    assert stored_rows(db_path) == expected_rows([*trips, new_trip])


def test_a_conversion_that_lost_a_fix_is_refused_and_changes_nothing(db_path: Path) -> None:
    """The final count check: a fix missing from the staged copy (a damaged file, a bug)
    stops the upgrade with a storage error (exit 74), the old table whole."""
    trips = make_old(db_path, 4_000)
    _stage_chunks(db_path, 1, 2_000)
    with closing(sqlite3.connect(db_path)) as con, con:
        con.execute("DELETE FROM waypoint_next WHERE seq = 1")
    with pytest.raises(StorageError, match=r"waypoints but \d+ converted; nothing was changed"):
        Tracker.open(db_path, timezone="UTC")
    assert revision(db_path) == "0010"
    with closing(sqlite3.connect(db_path)) as con:
        assert con.execute("SELECT count(*) FROM waypoint").fetchone() == (
            sum(len(fixes) for _, fixes in trips),
        )


def test_a_downgrade_gives_back_the_old_layout_within_the_precision(db_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    trips = make_old(db_path, 5_000)
    Tracker.open(db_path, timezone="UTC").close()
    engine = create_db_engine(db_path)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(ROOT / "tracker" / "migrations"))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
    engine.dispose()
    with closing(sqlite3.connect(db_path)) as con:
        back = con.execute("SELECT * FROM waypoint ORDER BY trip_id, seq").fetchall()
    want = sorted((trip_id, seq, *fix) for trip_id, fixes in trips for seq, fix in enumerate(fixes))
    assert [row[:3] for row in back] == [row[:3] for row in want]
    for got, fix in zip(back, want, strict=True):
        assert abs(got[3] - fix[3]) <= 0.5e-7 and abs(got[4] - fix[4]) <= 0.5e-7
    assert "track" not in tables(db_path) and revision(db_path) == "0015"


# ------------------------------------------------------------------- real processes, killed
def _child(path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tracker.migration_child", str(path), mode],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _lines(child: subprocess.Popen[str]) -> Iterator[str]:
    assert child.stdout is not None
    for line in child.stdout:
        yield line.strip()


def _go_on(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("\n")
    child.stdin.flush()


def _kill(child: subprocess.Popen[str]) -> int:
    child.kill()
    child.wait(30)
    for stream in (child.stdin, child.stdout):
        if stream is not None:
            stream.close()
    return child.returncode


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pause", "run"])
def test_a_sigkill_between_or_in_chunks_then_reopening_completes_the_migration(
    db_path: Path, mode: str
) -> None:
    """Killed once two chunks are committed: paused right there (the file is then still at
    0010 with exactly two chunks copied), or running on into the next chunk (eight more
    chunks to go: killed mid-copy, unless a starved parent let it finish first, which only
    makes this case moot). The next open completes the migration."""
    chunks = 5 if mode == "pause" else 10
    trips = make_old(db_path, chunks * waypoint_key.CHUNK)
    child = _child(db_path, mode)
    lines = _lines(child)
    assert "waypoints converted" in next(lines)
    if mode == "pause":
        _go_on(child)
    assert f"{2 * waypoint_key.CHUNK} of {chunks * waypoint_key.CHUNK}" in next(lines)
    ended = _kill(child)
    if mode == "pause":  # deterministic: exactly two chunks are in
        assert ended == -signal.SIGKILL
        assert revision(db_path) == "0010"
        with closing(sqlite3.connect(db_path)) as con:
            copied = con.execute("SELECT count(*) FROM waypoint_next").fetchone()[0]
        assert copied == 2 * waypoint_key.CHUNK
    Tracker.open(db_path, timezone="UTC").close()
    assert revision(db_path) == HEAD
    assert stored_rows(db_path) == expected_rows(trips)


@pytest.mark.slow
def test_a_sigkill_after_the_swap_before_its_commit_leaves_the_old_table_whole(
    db_path: Path,
) -> None:
    """The final transaction has dropped the old table and renamed the new one when the
    process dies: a reader meanwhile, and the file after, see 0010 and every old fix."""
    trips = make_old(db_path, 3 * waypoint_key.CHUNK)
    child = _child(db_path, "pause")
    for line in _lines(child):
        if "tables swapped" in line:
            break
        _go_on(child)
    # The child holds the final transaction open, the swap done in it: a reader sees 0010.
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as reader:
        assert reader.execute("SELECT version_num FROM alembic_version").fetchone() == ("0010",)
        assert reader.execute("SELECT count(*) FROM waypoint").fetchone() == (
            3 * waypoint_key.CHUNK,
        )
        columns = [r[1] for r in reader.execute("PRAGMA table_info(waypoint)")]
        assert columns[:3] == ["trip_id", "seq", "t_us"]
    assert _kill(child) == -signal.SIGKILL
    assert revision(db_path) == "0010"
    assert {"waypoint", "waypoint_next", "track"} <= tables(db_path)
    Tracker.open(db_path, timezone="UTC").close()
    assert stored_rows(db_path) == expected_rows(trips)


@pytest.mark.slow
def test_three_processes_opening_a_large_0010_store_at_once_all_succeed(db_path: Path) -> None:
    trips = make_old(db_path, 4 * waypoint_key.CHUNK)
    children = [_child(db_path, "run") for _ in range(3)]
    outs = [child.communicate(timeout=120)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], outs
    assert all(out.rstrip().endswith("done") for out in outs)
    assert stored_rows(db_path) == expected_rows(trips)

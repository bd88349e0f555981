"""SQLite done right: PRAGMAs on every connection, IMMEDIATE writes, file modes, typed errors."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers.store import StepClock
from tests.tracker.snapshot import fingerprint
from tracker.errors import (
    CorruptDatabaseError,
    DatabaseBusyError,
    ReadOnlyStorageError,
    SchemaTooNewError,
    StorageFullError,
    StorageUnavailableError,
)
from tracker.store import Tracker


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_pragmas_hold_on_every_connection(store: Tracker) -> None:
    # Check out several connections at once so the pool must open fresh ones.
    reader = store.db.engine.execution_options(sqlite_begin="DEFERRED")
    conns = [reader.connect() for _ in range(4)]
    try:
        for conn in conns:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        for conn in conns:
            conn.close()


def test_synchronous_normal_is_configurable(db_path: Path) -> None:
    with Tracker.open(db_path, timezone="UTC", synchronous="NORMAL", busy_timeout=0.25) as t:
        with t.db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250


def test_folder_0700_and_files_0600_under_a_loose_umask(tmp_path: Path, clock: StepClock) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "fresh" / "tracker.db"
        with Tracker.open(path, timezone="UTC", clock=clock) as t:
            t.trips.add({"date": "2026-03-01", "distance": "1"})
            assert _mode(path.parent) == 0o700
            for name in ("tracker.db", "tracker.db-wal", "tracker.db-shm"):
                assert _mode(path.parent / name) == 0o600, name
    finally:
        os.umask(old)


def test_write_transactions_take_the_lock_up_front(store: Tracker) -> None:
    """A write session holds the RESERVED lock from BEGIN: a second writer waits, then fails
    with a typed busy error, and nothing half-written remains."""
    with store.db.write() as session:
        session.connection().execute(text("SELECT 1"))
        other = sqlite3.connect(store.path, timeout=0.1, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_busy_database_is_a_typed_error(db_path: Path, clock: StepClock) -> None:
    with Tracker.open(db_path, timezone="UTC", busy_timeout=0.1, clock=clock) as t:
        before = fingerprint(db_path)
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseBusyError, match="busy"):
                t.trips.add({"date": "2026-03-01", "distance": "1"})
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert fingerprint(db_path) == before


@pytest.mark.slow
def test_read_then_write_does_not_fail_when_another_process_commits(store: Tracker) -> None:
    """The deferred-upgrade trap (SQLITE_BUSY_SNAPSHOT) cannot happen: writes are IMMEDIATE."""
    trip = store.trips.add({"date": "2026-03-01", "distance": "1"})
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(30):
                store.trips.edit(trip.id, {"description": f"w{i}"})
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.trips.get(trip.id).version == 91


def test_corrupt_header_is_detected_and_the_file_left_alone(
    db_path: Path, clock: StepClock
) -> None:
    Tracker.open(db_path, timezone="UTC", clock=clock).close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    data = bytearray(db_path.read_bytes())
    data[:100] = bytes(100)
    db_path.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabaseError, match=r"recover"):
        Tracker.open(db_path, timezone="UTC", clock=clock)
    assert db_path.read_bytes()[:100] == bytes(100)


def test_damaged_page_is_a_typed_error(db_path: Path, clock: StepClock) -> None:
    with Tracker.open(db_path, timezone="UTC", clock=clock) as t:
        for i in range(300):
            t.trips.add({"date": "2026-03-01", "distance": "1", "notes": "x" * 200 + str(i)})
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(db_path.read_bytes())
    page = 4096
    for offset in range(page * 3, len(data), page):
        data[offset : offset + 64] = b"\xff" * 64
    db_path.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabaseError):
        with Tracker.open(db_path, timezone="UTC", clock=clock) as t:
            t.trips.list()


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only for real: a read-only bind mount as root (root ignores file
    modes), plain modes otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:  # pragma: no cover - CI runs as root
        modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_read_only_file_is_a_typed_error(tmp_path: Path, clock: StepClock) -> None:
    folder = tmp_path / "ro"
    path = folder / "tracker.db"
    with Tracker.open(path, timezone="UTC", clock=clock) as t:
        t.trips.add({"date": "2026-03-01", "distance": "1"})
    before = path.read_bytes()
    with _read_only(folder):
        with pytest.raises(ReadOnlyStorageError, match="read-only") as caught:
            with Tracker.open(path, timezone="UTC", clock=clock) as t:
                t.trips.add({"date": "2026-03-02", "distance": "2"})
        assert "TRACKER_HOME" in str(caught.value)
    assert path.read_bytes() == before


def test_unusable_location_is_a_typed_error(tmp_path: Path, clock: StepClock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageUnavailableError, match="TRACKER_HOME"):
        Tracker.open(blocker / "tracker.db", timezone="UTC", clock=clock)
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with pytest.raises(StorageUnavailableError, match="folder"):
        Tracker.open(folder, timezone="UTC", clock=clock)


def test_disk_full_rolls_back_and_is_typed(store: Tracker, db_path: Path) -> None:
    trip = store.trips.start()
    before = fingerprint(db_path)
    pages = store.db.engine.execution_options(sqlite_begin="DEFERRED").connect()
    try:
        count = pages.exec_driver_sql("PRAGMA page_count").scalar()
    finally:
        pages.close()

    from sqlalchemy import event

    @event.listens_for(store.db.engine, "connect")
    def _small(dbapi_conn: sqlite3.Connection, _rec: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {count}")

    store.db.engine.dispose()  # new connections get the cap
    from datetime import UTC, datetime, timedelta

    base = datetime(2026, 3, 10, 7, tzinfo=UTC)
    points = [(base + timedelta(seconds=i), 52.0, 13.0 + i * 1e-5) for i in range(50_000)]
    with pytest.raises(StorageFullError, match="disk full"):
        store.trips.add_points(trip.id, points)
    assert fingerprint(db_path) == before


def test_not_our_database_is_refused(tmp_path: Path, clock: StepClock) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes(x)")
    con.commit()
    con.close()
    with pytest.raises(StorageUnavailableError, match="not a trip-tracker"):
        Tracker.open(path, timezone="UTC", clock=clock)


def test_newer_schema_is_refused(db_path: Path, clock: StepClock) -> None:
    Tracker.open(db_path, timezone="UTC", clock=clock).close()
    con = sqlite3.connect(db_path)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooNewError, match="upgrade trip-tracker"):
        Tracker.open(db_path, timezone="UTC", clock=clock)


def test_errors_never_carry_bound_values(store: Tracker) -> None:
    """hide_parameters: a failing statement's text shows no user data."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError) as caught:
        with store.db.write() as session:
            session.connection().execute(
                text("INSERT INTO car(id, name, created_at, updated_at) VALUES (:a, :b, :c, :d)"),
                {"a": None, "b": "SECRET-CANARY", "c": "x", "d": "y"},
            )
    assert "SECRET-CANARY" not in str(caught.value)

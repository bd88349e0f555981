"""Integrity in O(1) on the hot path (issue 15): ``tracker sync`` reads the whole file
(``PRAGMA quick_check``) only when it was not closed cleanly, was just migrated, or SQLite has
reported damage; never pushes from or pulls into a damaged file. Statements are observed with
a SQLAlchemy trace of every statement sent to SQLite."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from sync.cli.exitcodes import ExitCode
from sync.sandbox import DEFAULT_TOKEN, SandboxServer
from sync.service import at_low_priority
from tests.helpers.cli import run
from tests.helpers.filefaults import damage_page, holding, killed_holding
from tests.helpers.store import manual_trips
from tracker.errors import CorruptDatabaseError
from tracker.schema import ensure_schema
from tracker.store import Tracker


class Trace:
    """Every SQL statement any engine of this process sends, while the block runs."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.statements.append(statement)

    @property
    def checks(self) -> int:
        return sum("quick_check" in s for s in self.statements)


@pytest.fixture
def trace() -> Iterator[Trace]:
    seen = Trace()
    event.listen(Engine, "before_cursor_execute", seen._seen)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", seen._seen)


@pytest.fixture
def db(home: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file with three trips to push, closed cleanly; the CLI pointed at the sandbox."""
    monkeypatch.setenv("TRACKER_MILEAGE_URL", server.tight_url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", DEFAULT_TOKEN)
    path = home / "tracker.db"
    with Tracker.open(path, timezone="UTC") as store:
        manual_trips(store, 3)
    return path


def sync(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, _out, err = run(capsys, "sync", "--push")
    return code, err


def test_after_a_clean_close_sync_reads_nothing_whole(
    db: Path, trace: Trace, capsys: pytest.CaptureFixture[str], server: SandboxServer
) -> None:
    code, err = sync(capsys)
    assert code == 0, err
    assert server.sandbox.request_count() == 1  # pushed
    assert trace.checks == 0
    assert trace.statements  # the trace does see this process's statements


def test_a_live_holder_is_no_reason_to_check(
    db: Path, trace: Trace, capsys: pytest.CaptureFixture[str]
) -> None:
    # The daemon keeps the file open for days; a CLI run beside it does not check.
    with holding(db):
        code, err = sync(capsys)
    assert code == 0, err
    assert trace.checks == 0


def test_after_an_unclean_close_the_next_open_checks_once(
    db: Path, trace: Trace, capsys: pytest.CaptureFixture[str]
) -> None:
    killed_holding(db)
    code, err = sync(capsys)
    assert code == 0, err
    assert trace.checks == 1
    code, err = sync(capsys)  # the dead session was cleared by the check that passed
    assert code == 0, err
    assert trace.checks == 1


def test_a_damaged_file_after_an_unclean_close_is_refused_and_nothing_is_pushed(
    db: Path, capsys: pytest.CaptureFixture[str], server: SandboxServer
) -> None:
    killed_holding(db)
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage_page(db, "journal")
    before = db.read_bytes()
    code, err = sync(capsys)
    assert code == ExitCode.IOERR
    assert "damaged" in err and ".recover" in err
    assert server.sandbox.request_count() == 0
    assert db.read_bytes() == before


def test_a_migration_is_followed_by_a_full_check(tmp_path: Path, trace: Trace) -> None:
    path = tmp_path / "old.db"
    engine = _engine(path)
    ensure_schema(engine, path, target="0001")
    engine.dispose()
    with Tracker.open(path, timezone="UTC"):
        pass
    assert trace.checks == 1


def test_damage_met_by_a_read_is_typed_and_refuses_sync_until_a_check_passes(
    home: Path, trace: Trace
) -> None:
    path = home / "tracker.db"
    with Tracker.open(path, timezone="UTC") as store:
        manual_trips(store, 300, notes="n" * 200)
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage_page(path, "trip")
    store = Tracker.open(path, timezone="UTC")  # closed cleanly: no check at open
    try:
        assert trace.checks == 0
        with pytest.raises(CorruptDatabaseError, match="recover"):
            store.trips.list(limit=1000)
        with pytest.raises(CorruptDatabaseError):
            store.check_integrity()  # the guard before a sync now runs the full check
        assert trace.checks == 1
    finally:
        store.close()
    # The session was left behind (nothing written into a damaged file): once this process
    # is gone, the next open checks in full, as after a crash.
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute("SELECT pid FROM store_session").fetchall() == [(os.getpid(),)]


def test_the_periodic_check_runs_on_its_own_thread_and_marks_damage(home: Path) -> None:
    path = home / "tracker.db"
    with Tracker.open(path, timezone="UTC") as store:
        manual_trips(store, 300, notes="n" * 200)
        at_low_priority(store.verify_integrity)  # a healthy file passes
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.db.engine.dispose()  # no page of the file cached
        damage_page(path, "trip")
        with pytest.raises(CorruptDatabaseError):
            at_low_priority(store.verify_integrity)
        assert store.db.damage_seen


def test_status_check_runs_the_full_check_on_demand(
    db: Path, trace: Trace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "status", "--check", "--json")
    assert code == 0, err
    assert '"integrity"' in out
    assert trace.checks == 1


def _engine(path: Path) -> Engine:
    from tracker.db import create_db_engine, prepare_file

    prepare_file(path)
    return create_db_engine(path)

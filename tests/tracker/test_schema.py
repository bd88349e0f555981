"""Schema versioning with Alembic: fresh files, in-place upgrades, models in step."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from tests.helpers.store import StepClock, claim
from tracker.db import create_db_engine, prepare_file
from tracker.enums import EntryOp
from tracker.schema import HEAD, KNOWN_REVISIONS, ensure_schema
from tracker.store import Tracker

MIGRATIONS = Path(__file__).resolve().parents[2] / "tracker" / "migrations"


def test_known_revisions_match_the_alembic_scripts() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    ordered = [rev.revision for rev in script.walk_revisions()][::-1]
    assert tuple(ordered) == KNOWN_REVISIONS
    assert script.get_current_head() == HEAD


def _expression_indexes() -> dict[str, list[str]]:
    """The model's indexes on expressions: name -> its parts as SQL (SQLAlchemy cannot
    reflect them from SQLite, so they are compared on their own)."""
    # Registers every table on SQLModel.metadata (the side tables are declared apart).
    import tracker.sidetables
    import tracker.tables  # noqa: F401

    found = {}
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            parts = [getattr(e, "name", None) or str(e) for e in index.expressions]
            if any("(" in p for p in parts):
                found[str(index.name)] = parts
    return found


def test_table_models_match_the_migrated_schema(store: Tracker) -> None:
    expression = _expression_indexes()
    assert "ix_trip_list_order" in expression

    def compared(obj: object, name: str | None, type_: str, *_: object) -> bool:
        return not (type_ == "index" and name in expression)

    with store.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": compared})
        # The reflection skips them with a warning, checked below.
        with pytest.warns() as seen:
            diffs = compare_metadata(context, SQLModel.metadata)
    assert diffs == []
    # Every warning is about one of them, and nothing else was skipped.
    assert seen
    assert all(any(name in str(w.message) for name in expression) for w in seen)
    # Compared here instead: each one exists in the file, on the same parts, in order.
    with store.db.engine.connect() as conn:
        for name, parts in expression.items():
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
            ).scalar_one()
            assert sql.split("(", 1)[1].rsplit(")", 1)[0] == ", ".join(parts)


def test_a_fresh_file_is_created_at_head(db_path: Path, clock: StepClock) -> None:
    Tracker.open(db_path, timezone="UTC", clock=clock).close()
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    con.close()


def _old_file_with_pending_entries(path: Path) -> list[str]:
    """A database at revision 0001 with trips and pending journal entries in it."""
    prepare_file(path)
    engine = create_db_engine(path)
    ensure_schema(engine, path, target="0001")
    engine.dispose()
    con = sqlite3.connect(path)
    ids = []
    for n in range(3):
        trip_id = f"00000000-0000-4000-8000-00000000000{n}"
        ids.append(trip_id)
        con.execute(
            "INSERT INTO trip (id, status, lifecycle, source, date, timezone, distance, "
            "distance_unit, classification, version, created_at, updated_at, "
            "class_segment_ids, custom_data) VALUES (?, 'complete', 'active', 'manual', "
            "'2025-01-0' || ?, 'UTC', '12.5', 'km', 'business', 1, "
            "'2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z', '[]', '{}')",
            (trip_id, n + 1),
        )
        con.execute(
            "INSERT INTO journal (trip_id, op, state, attempts, in_doubt, payload_version, "
            "created_at, updated_at) VALUES (?, 'save', 'pending', 0, 0, 1, "
            "'2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
            (trip_id,),
        )
    con.commit()
    con.close()
    return ids


def test_opening_an_older_file_upgrades_it_and_keeps_pending_entries(
    db_path: Path, clock: StepClock
) -> None:
    ids = _old_file_with_pending_entries(db_path)
    with Tracker.open(db_path, timezone="UTC", clock=clock) as t:
        assert t.journal.counts().pending == 3
        claimed = claim(t, "pusher", 10, timedelta(minutes=5))
        assert [c.trip_id for c in claimed] == ids
        assert all(c.op == EntryOp.SAVE for c in claimed)
        assert t.trips.get(ids[0]).distance == 12.5
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    assert con.execute("SELECT count(*) FROM cost").fetchone() == (0,)
    con.close()


@pytest.mark.slow
def test_two_processes_opening_an_old_file_at_once_both_succeed(db_path: Path) -> None:
    _old_file_with_pending_entries(db_path)
    code = (
        "import sys; from tracker.store import Tracker; "
        "t = Tracker.open(sys.argv[1], timezone='UTC'); "
        "print(t.journal.counts().pending); t.close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    assert [out.strip() for out, _ in results] == ["3", "3", "3"]

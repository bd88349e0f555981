"""Migration 0018 on a store made at revision 0016: every trip's chain starts with one link
committing to its fields as they are, in chunks; the store verifies clean right after, and
after the tool's later edits; the events it found are kept as they were."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests.helpers.store import StepClock
from tracker.db import create_db_engine, prepare_file
from tracker.schema import ensure_schema, read_revision
from tracker.store import Tracker

TRIPS = 2_345  # more than two of the migration's chunks of 1,000


def _store_at_0016(path: Path) -> None:
    prepare_file(path)
    engine = create_db_engine(path)
    ensure_schema(engine, path, target="0016")
    with engine.connect() as conn:
        assert read_revision(conn) == "0016"
    engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO trip (id, status, lifecycle, source, date, timezone, distance, "
            "distance_unit, classification, description, version, created_at, updated_at, "
            "class_segment_ids, custom_data, start_address, remote_id) "
            "SELECT printf('t%05d', i), 'complete', "
            "CASE WHEN i % 7 = 0 THEN 'deleted' ELSE 'active' END, "
            "CASE WHEN i % 3 = 0 THEN 'gpx' ELSE 'manual' END, '2025-01-01', 'Europe/Berlin', "
            "printf('%d.5', i), 'km', 'business', 'Straße ' || i, 2, "
            "'2025-01-02T00:00:00.000000Z', '2025-01-02T00:00:00.000000Z', '[\"seg\"]', "
            "'{\"k\": 1}', '{\"city\": \"Köln\"}', CASE WHEN i % 2 = 0 THEN 'mlg_' || i END "
            "FROM n",
            (TRIPS,),
        )
        con.execute(
            "INSERT INTO journal (trip_id, op, state, attempts, in_doubt, payload_version, "
            "created_at, updated_at) SELECT id, 'save', 'pending', 0, 0, 1, created_at, "
            "created_at FROM trip"
        )
        con.execute(
            "INSERT INTO journal_event (entry_seq, trip_id, at, event) "
            "SELECT seq, trip_id, created_at, 'queued save' FROM journal"
        )
        con.execute("INSERT INTO trip_import (key, trip_id) VALUES ('csv:ab:2', 't00001')")


def test_a_store_made_at_0016_verifies_clean_right_after_migrating(
    db_path: Path, clock: StepClock
) -> None:
    _store_at_0016(db_path)
    with contextlib.closing(sqlite3.connect(db_path)) as con:
        before = con.execute("SELECT * FROM journal_event ORDER BY id").fetchall()

    with Tracker.open(db_path, timezone="UTC", clock=clock) as store:
        result = store.verify_history()
        assert result.ok, result.findings
        assert (result.trips, result.links) == (TRIPS, TRIPS)
        record = store.trips.provenance("t00001")
        assert (record.how, record.edited) == ("CSV import", False)
        assert store.trips.provenance("t00003").how == "GPX import"
        head = result.head

        store.trips.edit("t00001", {"notes": "after the upgrade"})
        store.trips.delete("t00002")
        after = store.verify_history()
        assert after.ok, after.findings
        assert after.links == TRIPS + 2 and after.head != head
        assert [c.event for c in store.trips.provenance("t00001").changes] == ["edited"]

    with contextlib.closing(sqlite3.connect(db_path)) as con:
        kept = con.execute(
            "SELECT id, entry_seq, trip_id, at, event, detail FROM journal_event "
            "WHERE hash IS NULL ORDER BY id"
        ).fetchall()
        links = con.execute(
            "SELECT count(*), count(DISTINCT trip_id) FROM journal_event "
            "WHERE event = 'chain started' AND hash IS NOT NULL AND entry_seq IS NOT NULL"
        ).fetchone()
    assert kept[: len(before)] == before  # the events it found, untouched
    assert links == (TRIPS, TRIPS)


def test_an_empty_store_migrates_and_verifies(db_path: Path, clock: StepClock) -> None:
    prepare_file(db_path)
    engine = create_db_engine(db_path)
    ensure_schema(engine, db_path, target="0016")
    engine.dispose()
    with Tracker.open(db_path, timezone="UTC", clock=clock) as store:
        result = store.verify_history()
    assert result.ok and (result.trips, result.links) == (0, 0)

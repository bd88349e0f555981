"""The history chain hashes the same bytes on SQLite and on PostgreSQL: the same trip,
written through the store on each backend, has the same covered row in stored form, the
same state digest (SQLite's, fixed in tests/tracker/test_chain.py) and the same changes
text for the same edit; and each store verifies clean."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.helpers.store import StepClock
from tests.tracker.test_chain import SQLITE_DIGEST, SQLITE_ROW
from tracker.chain import state_digest, stored_form
from tracker.links import covered_row
from tracker.store import Tracker

TRIP: dict[str, Any] = {
    "date": "2026-03-04",
    "distance": "12.50",
    "start_time": "2026-03-04T08:15:00+01:00",
    "end_time": "2026-03-04T09:00:30.25+01:00",
    "start": {
        "lat": "47.376887",
        "lng": "8.541694",
        "address": {"address1": "Bahnhofstrasse 1", "city": "Zürich"},
    },
    "end": {"lat": "-33.8688", "lng": "151.2093"},
    "classification": "business",
    "description": "Kundentermin “Süd”",
    "notes": "a\nb",
    "customer_id": "c-1",
    "class_segment_ids": ["s1", "s2"],
    "custom_data": {"b": 1.5, "a": [True, None]},
}
EDIT: dict[str, Any] = {"date": "2026-03-05", "distance": "7", "custom_data": {"z": "ü"}}
FIXED_ID = SQLITE_ROW[0]


def _written(url: str) -> tuple[tuple[Any, ...], tuple[Any, ...], str]:
    """The rich trip added then edited on the store at ``url``: its covered row in stored
    form after the add (id fixed) and after the edit, and the edit link's changes text."""
    clock = StepClock(datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    with Tracker.open_url(url, timezone="Europe/Zurich", clock=clock) as store:
        trip_id = store.trips.add(TRIP).id
        with store.db.read() as s:
            added = covered_row(s, trip_id)
        clock.advance(60)
        store.trips.edit(trip_id, EDIT)
        with store.db.read() as s:
            edited = covered_row(s, trip_id)
            changes = s.execute(
                text("SELECT changes FROM journal_event WHERE trip_id = :t AND event = 'edited'"),
                {"t": trip_id},
            ).scalar_one()
        assert store.verify_history().ok
    return _fixed(added), _fixed(edited), changes


def _fixed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (FIXED_ID, *(stored_form(v) for v in row[1:]))


def test_a_trip_hashes_the_same_on_both_backends(tmp_path: Path, pg_url: str) -> None:
    on_sqlite = _written(f"sqlite:///{tmp_path / 'home' / 'tracker.db'}")
    on_pg = _written(pg_url)
    assert on_sqlite[0] == SQLITE_ROW
    assert state_digest(on_sqlite[0]) == SQLITE_DIGEST
    assert on_pg[0] == on_sqlite[0]
    assert state_digest(on_pg[0]) == SQLITE_DIGEST
    assert on_pg[1] == on_sqlite[1]
    assert on_pg[2] == on_sqlite[2]
    assert '"date":["2026-03-04","2026-03-05"]' in on_pg[2]

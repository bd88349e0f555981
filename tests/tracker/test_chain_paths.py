"""The history chain on real files: every write path the store has leaves a file that
verifies clean, and a change made with plain ``sqlite3`` outside the tool (a trip row, a
history row, a removed history row) is found and names the trip.

The pull and conflict paths run against the sandbox in tests/sync/test_chain_sync.py; the
CLI (``tracker verify``, exit codes) in tests/cli/test_verify.py. After every test of the
suite each store it left must verify clean too (tests/helpers/chain.py)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers.store import StepClock, claim, record
from tracker.bulkrows import TripRow
from tracker.csvtrips import CsvTrips
from tracker.outcomes import Synced
from tracker.store import Tracker

GPX = Path(__file__).parents[2] / "fixtures" / "gpx" / "city_commute_berlin.gpx"
TRIP = {"date": "2026-03-01", "distance": "12.50", "description": "client visit"}


def _add(store: Tracker, tmp: Path, clock: StepClock) -> str:
    return store.trips.add(TRIP).id


def _bulk(store: Tracker, tmp: Path, clock: StepClock) -> str:
    rows = [TripRow({**TRIP, "distance": str(n + 1)}, import_key=f"k{n}") for n in range(30)]
    assert store.add_trips(rows, chunk_size=7).added == 30
    return store.trips.list()[0].id


def _csv(store: Tracker, tmp: Path, clock: StepClock) -> str:
    path = tmp / "trips.csv"
    path.write_text("date,distance,description\n2026-03-01,12.5,Zürich\n2026-03-02,3,b\n")
    csv = CsvTrips(path, store.rules.timezone)
    assert store.add_trips(csv.rows(f"csv:{csv.digest()}:")).added == 2
    return store.trips.list()[0].id


def _gpx(store: Tracker, tmp: Path, clock: StepClock) -> str:
    (trip,) = store.trips.import_gpx(GPX, {"classification": "business"})
    return trip.id


def _edit(store: Tracker, tmp: Path, clock: StepClock) -> str:
    trip = store.trips.add(TRIP)
    store.trips.edit(trip.id, {"distance": "13", "notes": "corrected", "date": "2026-03-02"})
    store.trips.edit(trip.id, {"classification": "business"})
    return trip.id


def _live(store: Tracker, tmp: Path, clock: StepClock) -> str:
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    trip = store.trips.start({"start_time": start.isoformat()})
    fixes = [(start + timedelta(seconds=10 * n), 52.5 + n / 1000, 13.4) for n in range(20)]
    store.trips.add_points(trip.id, fixes)
    store.trips.stop(trip.id, end_time=start + timedelta(minutes=5))
    return trip.id


def _delete(store: Tracker, tmp: Path, clock: StepClock) -> str:
    trip = store.trips.add(TRIP)
    store.trips.delete(trip.id)
    store.trips.delete(trip.id)  # twice: harmless
    live = store.trips.start({})
    store.trips.delete(live.id)  # a recording deleted
    return trip.id


def _push(store: Tracker, tmp: Path, clock: StepClock) -> str:
    trip = store.trips.add(TRIP)
    (claimed,) = claim(store, "p", 10, timedelta(minutes=5))
    record(store, "p", {claimed.seq: Synced("mlg_1")})
    store.trips.edit(trip.id, {"notes": "after the push"})
    return trip.id


def _gc(store: Tracker, tmp: Path, clock: StepClock) -> str:
    trip_id = _push(store, tmp, clock)
    (claimed,) = claim(store, "p", 10, timedelta(minutes=5))
    record(store, "p", {claimed.seq: Synced("mlg_1")})
    clock.advance(400 * 86400)
    assert store.gc(timedelta(days=30), vacuum=True).entries == 2
    return trip_id


PATHS: dict[str, Callable[[Tracker, Path, StepClock], str]] = {
    "add": _add,
    "add_trips": _bulk,
    "csv import": _csv,
    "gpx import": _gpx,
    "edit": _edit,
    "start, points, stop": _live,
    "delete": _delete,
    "push": _push,
    "gc": _gc,
}


@pytest.mark.parametrize("path", PATHS)
def test_every_write_path_leaves_a_file_that_verifies_clean(
    store: Tracker, tmp_path: Path, clock: StepClock, path: str
) -> None:
    PATHS[path](store, tmp_path, clock)
    result = store.verify_history()
    assert result.ok, result.findings
    assert result.trips == store.trips.count(include_deleted=True) > 0
    assert result.links >= result.trips
    assert result.head == store.verify_history().head  # the same file, the same head


def _sql(db: Path, statement: str, *params: object) -> int:
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        return con.execute(statement, params).rowcount


TAMPERS = {
    "trip row": ("UPDATE trip SET distance = '120.5' WHERE id = ?", "trip row was changed"),
    "history row": (
        "UPDATE journal_event SET changes = replace(changes, '\"13\"', '\"31\"') "
        "WHERE trip_id = ? AND event = 'edited' AND changes LIKE '%distance%'",
        "history link",
    ),
    "deleted history row": (
        "DELETE FROM journal_event WHERE trip_id = ? AND event = 'edited' "
        "AND changes LIKE '%distance%'",
        "history link",
    ),
    "deleted latest history row": (
        "DELETE FROM journal_event WHERE id = "
        "(SELECT max(id) FROM journal_event WHERE trip_id = ? AND hash IS NOT NULL)",
        "trip's fields differ",
    ),
    "deleted trip row": (
        "DELETE FROM trip WHERE id = ?",  # with its foreign keys off, as sqlite3 has them
        "trip row was deleted",
    ),
}


@pytest.mark.tampers
@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_change_outside_the_tool_is_found_and_names_the_trip(
    store: Tracker, db_path: Path, clock: StepClock, tamper: str
) -> None:
    others = [store.trips.add({**TRIP, "distance": str(n + 1)}).id for n in range(3)]
    trip_id = _edit(store, db_path.parent, clock)
    clean = store.verify_history()
    assert clean.ok

    statement, says = TAMPERS[tamper]
    assert _sql(db_path, statement, trip_id) == 1

    result = store.verify_history()
    assert not result.ok and result.problems == 1
    assert result.first is not None and result.first.trip_id == trip_id
    assert says in result.first.reason
    assert trip_id not in others  # the untouched trips are not named
    if tamper != "deleted trip row":
        # The trip's own head is what the file still says: the file head stays comparable.
        assert result.trips == clean.trips


@pytest.mark.tampers
def test_a_rewritten_chain_verifies_but_its_head_differs_from_the_printed_one(
    store: Tracker, db_path: Path
) -> None:
    """What the chain cannot prove alone: someone with the file who rewrites a trip and
    every hash consistently passes; the head printed before does not match any more."""
    from tracker.chain import COVERED, link_hash, state_digest

    trip_id = store.trips.add(TRIP).id
    printed = store.verify_history().head
    with contextlib.closing(sqlite3.connect(db_path)) as con, con:
        con.execute("UPDATE trip SET distance = '99' WHERE id = ?", (trip_id,))
        values = con.execute(f"SELECT {', '.join(COVERED)} FROM trip WHERE id = ?", (trip_id,))
        state = state_digest(values.fetchone())
        at, event, detail = con.execute(
            "SELECT at, event, detail FROM journal_event WHERE trip_id = ? AND hash IS NOT NULL",
            (trip_id,),
        ).fetchone()
        head = link_hash(None, trip_id, at, event, detail, None, state)
        con.execute(
            "UPDATE journal_event SET state = ?, hash = ? WHERE trip_id = ? AND hash IS NOT NULL",
            (state, head, trip_id),
        )
        con.execute("UPDATE trip SET chain_head = ? WHERE id = ?", (head, trip_id))
    result = store.verify_history()
    assert result.ok
    assert result.head != printed


def test_provenance_says_how_and_when_each_trip_was_recorded_and_changed(
    store: Tracker, clock: StepClock, tmp_path: Path
) -> None:
    by_hand = store.trips.add({**TRIP, "date": "2026-03-09"})  # the clock: 2026-03-10 07:00
    clock.advance(3600)
    store.trips.edit(by_hand.id, {"distance": "13", "notes": "corrected"})
    clock.advance(60)
    store.trips.delete(by_hand.id)
    gpx = _gpx(store, tmp_path, clock)
    csv = _csv(store, tmp_path, clock)

    record = store.trips.provenance(by_hand.id)
    assert record.how == "entered by hand"
    assert record.recorded_at == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    # The trip's date ended at midnight in Berlin (23:00 UTC): 8 hours before.
    assert record.recorded_after == timedelta(hours=8)
    assert [(c.event, c.at) for c in record.changes] == [
        ("edited", datetime(2026, 3, 10, 8, 0, tzinfo=UTC)),
        ("deleted", datetime(2026, 3, 10, 8, 1, tzinfo=UTC)),
    ]
    assert record.changes[0].fields == {"distance": ("12.50", "13"), "notes": (None, "corrected")}
    assert set(record.changes[1].fields) == {"lifecycle", "deleted_at"}
    assert record.edited and record.last_changed_at == datetime(2026, 3, 10, 8, 1, tzinfo=UTC)
    assert record.chain_head is not None

    assert store.trips.provenance(gpx).how == "GPX import"
    assert not store.trips.provenance(gpx).edited
    store.trips.edit(gpx, {"classification": "business"})  # what it is already: no change
    unchanged = store.trips.provenance(gpx)
    assert [(c.event, c.fields) for c in unchanged.changes] == [("edited", {})]
    assert not unchanged.edited and unchanged.last_changed_at is None
    assert store.trips.provenance(csv).how == "CSV import"
    live = store.trips.get(_live(store, tmp_path, clock))
    record = store.trips.provenance(live.id)
    assert record.how == "live GPS" and not record.edited  # stopping is part of recording
    assert record.trip_ended_at == live.end_time

"""Bounded history and journal retention: failure streaks on the entry, gc of synced entries."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers.store import BOTH_BACKENDS, StepClock, claim, manual_trips, record
from tests.tracker.snapshot import store_fingerprint
from tracker.db import create_db_engine, prepare_file
from tracker.outcomes import Parked, Retry, Synced
from tracker.retention import ATTEMPT_EVENTS, GcReport, cutoff, failure_event
from tracker.schema import ensure_schema
from tracker.store import Tracker

LEASE = timedelta(minutes=5)
DAY = 24 * 3600.0


def _count(store: Tracker, sql: str) -> int:
    with store.db.read() as s:
        return int(s.connection().exec_driver_sql(sql).scalar_one())


def _events(store: Tracker, trip: str) -> list[str]:
    """The trip's sync events (its record's chain links are tests/tracker/test_chain.py's)."""
    return [e.event for e in store.journal.history(trip)[1] if not e.chained]


def _fail(store: Tracker, clock: StepClock, trip_count: int, *, doubt: bool = False) -> None:
    """One attempt of every due entry, failing (offline)."""
    clock.advance(3600)
    claimed = claim(store, "p", trip_count, LEASE)
    assert len(claimed) == trip_count
    at = clock.value + timedelta(seconds=1)
    verdict = Retry("TRANSPORT", "connection refused", in_doubt=doubt, at=at)
    record(store, "p", {c.seq: verdict for c in claimed})


# ----------------------------------------------------------------------------- pure rules
@pytest.mark.parametrize(
    ("first", "doubt", "written"),
    [(True, False, True), (False, True, True), (True, True, True), (False, False, False)],
)
def test_a_failure_adds_a_row_only_when_it_changes_the_state(
    first: bool, doubt: bool, written: bool
) -> None:
    assert failure_event(first, newly_in_doubt=doubt) is written


def test_the_cutoff_is_the_retention_before_now() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    assert cutoff(now, timedelta(days=30)) == datetime(2026, 2, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="negative"):
        cutoff(now, timedelta(days=-1))


def test_the_report_says_what_went() -> None:
    at = datetime(2026, 3, 10, tzinfo=UTC)
    dry = GcReport(True, at, 3, 9, pages_freed=2, page_size=4096, bytes_before=10, bytes_after=10)
    assert dry.bytes_freed == 8192  # freed inside the file, had it run
    done = GcReport(False, at, 3, 9, 2, 4096, bytes_before=50_000, bytes_after=20_000)
    assert done.to_dict()["bytes_freed"] == 30_000
    assert done.to_dict()["cutoff"] == "2026-03-10T00:00:00+00:00"


# ----------------------------------------------------------------------------- streaks
@BOTH_BACKENDS
def test_an_outage_adds_one_history_row_per_entry_however_long(
    store: Tracker, clock: StepClock
) -> None:
    trips = manual_trips(store, 3)
    _fail(store, clock, 3)
    rows = _count(store, "SELECT count(*) FROM journal_event WHERE hash IS NULL")
    assert rows == 6  # queued + the first failure of the streak, per trip
    for _ in range(50):
        _fail(store, clock, 3)
    assert _count(store, "SELECT count(*) FROM journal_event WHERE hash IS NULL") == rows
    entries, events = store.journal.history(trips[0])
    (entry,) = entries
    assert [e.event for e in events if not e.chained] == ["queued save", "retry"]
    assert entry.attempts == 51
    assert entry.first_failed_at == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert entry.last_failed_at == clock.value
    assert (entry.error_type, entry.error_message) == ("TRANSPORT", "connection refused")


@BOTH_BACKENDS
def test_a_failure_that_makes_an_entry_in_doubt_is_recorded_once(
    store: Tracker, clock: StepClock
) -> None:
    (trip,) = manual_trips(store, 1)
    _fail(store, clock, 1)
    _fail(store, clock, 1, doubt=True)
    _fail(store, clock, 1, doubt=True)
    assert _events(store, trip) == ["queued save", "retry", "retry"]
    assert store.trips.get(trip).sync_state == "in_doubt"


@BOTH_BACKENDS
def test_giving_a_claim_back_leaves_no_row_unless_it_makes_the_entry_in_doubt(
    store: Tracker, clock: StepClock
) -> None:
    (trip,) = manual_trips(store, 1)
    for _ in range(3):
        (c,) = claim(store, "p", 1, LEASE)
        store.outbox.release("p", [c.seq], in_doubt=False)
    assert _events(store, trip) == ["queued save"]
    assert store.journal.history(trip)[0][0].attempts == 0  # refunded
    for _ in range(2):
        (c,) = claim(store, "p", 1, LEASE)
        store.outbox.release("p", [c.seq], in_doubt=True)
    assert _events(store, trip) == ["queued save", "released"]


@BOTH_BACKENDS
def test_expired_claims_are_failures_of_the_streak(store: Tracker, clock: StepClock) -> None:
    (trip,) = manual_trips(store, 1)
    store.trips.edit(trip, {"description": "x"})
    for _ in range(4):
        assert len(claim(store, "dead", 1, LEASE)) == 1  # the last claim expired first
        clock.advance(LEASE.total_seconds() + 1)
    # The first expiry made the create in doubt (one row); the next ones add nothing.
    assert _events(store, trip) == ["queued save", "lease expired"]
    (entry,) = store.journal.history(trip)[0]
    assert entry.attempts == 4
    step = LEASE + timedelta(seconds=1)
    assert entry.first_failed_at is not None
    assert entry.last_failed_at == entry.first_failed_at + 2 * step  # the third expiry


@BOTH_BACKENDS
def test_a_requeue_starts_a_new_streak(store: Tracker, clock: StepClock) -> None:
    (trip,) = manual_trips(store, 1)
    _fail(store, clock, 1)
    clock.advance(2)
    (c,) = claim(store, "p", 1, LEASE)
    record(store, "p", {c.seq: Parked("INVALID_VALUE", "bad", "distance")})
    store.parked.retry(c.seq)
    (entry,) = store.journal.history(trip)[0]
    assert (entry.attempts, entry.first_failed_at, entry.last_failed_at) == (0, None, None)
    _fail(store, clock, 1)
    assert _events(store, trip) == ["queued save", "retry", "parked", "retry requested", "retry"]


# ----------------------------------------------------------------------------- gc
def _synced(store: Tracker, clock: StepClock, n: int) -> list[str]:
    """n trips that failed once, then reached the server."""
    trips = manual_trips(store, n)
    _fail(store, clock, n)
    clock.advance(3600)
    claimed = claim(store, "p", n, LEASE)
    record(store, "p", {c.seq: Synced(f"mlg_{c.seq}", {"id": f"mlg_{c.seq}"}) for c in claimed})
    return trips


def _legacy_claims(store: Tracker, at: str) -> None:
    """A ``claimed`` row per entry, as versions before 0013 wrote on every claim."""
    with store.db.write() as s:
        s.connection().execute(
            text(
                "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail) "
                "SELECT seq, trip_id, :at, 'claimed', 'attempt 1' FROM journal"
            ),
            {"at": at},
        )


@BOTH_BACKENDS
def test_gc_removes_exactly_what_retention_allows(store: Tracker, clock: StepClock) -> None:
    old = _synced(store, clock, 4)
    _legacy_claims(store, "2026-03-10T09:00:00.000000Z")
    clock.advance(40 * DAY)
    recent = _synced(store, clock, 2)
    # Open entries of every kind, however old: none may go.
    pending, parked, flying, failing = manual_trips(store, 4)
    store.trips.edit(old[0], {"description": "edited after its sync"})  # a new pending entry
    claimed = {c.trip_id: c for c in claim(store, "p", 10, LEASE)}
    record(store, "p", {claimed[parked].seq: Parked("INVALID_VALUE", "no", None)})
    at = clock.value + timedelta(hours=1)
    record(store, "p", {claimed[failing].seq: Retry("TRANSPORT", "offline", at=at)})
    store.outbox.release("p", [claimed[pending].seq, claimed[old[0]].seq], in_doubt=False)
    before = store.journal.counts()

    report = store.gc(timedelta(days=30))

    assert (report.entries, report.events) == (4, 4 + 4)  # 4 synced, their 'retry' + 'claimed'
    assert report.pages_freed >= 0 and not report.vacuumed and not report.dry_run
    after = store.journal.counts()
    assert after.synced == before.synced - 4
    assert (after.pending, after.parked, after.in_flight) == (
        before.pending,
        before.parked,
        before.in_flight,
    )
    for trip in old[1:]:
        entries, events = store.journal.history(trip)
        assert entries == []
        assert [e.event for e in events if not e.chained] == [
            "queued save",
            "synced",
        ]  # the audit trail
        assert store.trips.get(trip).sync_state == "synced"
    assert _events(store, old[0]) == [
        "queued save",
        "synced",
        "queued save",
    ]
    assert store.trips.get(old[0]).sync_state == "pending"
    for trip in recent:
        assert _events(store, trip) == ["queued save", "retry", "synced"]
    assert store.trips.get(flying).sync_state == "in_flight"
    assert store.trips.get(parked).sync_state == "parked"
    assert store.gc(timedelta(days=30)).entries == 0  # nothing left to do


@BOTH_BACKENDS
def test_a_dry_run_counts_the_same_and_changes_nothing(store: Tracker, clock: StepClock) -> None:
    _synced(store, clock, 5)
    clock.advance(31 * DAY)
    seen = store_fingerprint(store)
    dry = store.gc(timedelta(days=30), dry_run=True)
    assert store_fingerprint(store) == seen
    real = store.gc(timedelta(days=30))
    assert (dry.entries, dry.events, dry.dry_run) == (real.entries, real.events, True)
    assert (real.entries, real.events) == (5, 5)


@BOTH_BACKENDS
def test_history_pulled_after_compaction_is_kept_by_trip(store: Tracker, clock: StepClock) -> None:
    (trip,) = _synced(store, clock, 1)
    clock.advance(31 * DAY)
    store.gc(timedelta(days=30))
    from tracker.inbox import _say  # the pull's history writer, on a trip with no entry left

    with store.db.write() as s:
        _say(s, trip, clock.value, "changed on the server", ["notes"])
    (*_, last) = store.journal.history(trip)[1]
    assert (last.event, last.entry_seq, last.detail) == ("changed on the server", None, "notes")


# SQLite only: the file's pages and size (printf, VACUUM of a file); gc's VACUUM on
# PostgreSQL is tests/fleet's.
def test_vacuum_shrinks_the_file(store: Tracker, db_path: Path, clock: StepClock) -> None:
    manual_trips(store, 1)
    _legacy_claims(store, "2026-03-10T09:00:00.000000Z")
    with contextlib.closing(sqlite3.connect(db_path)) as con, con:
        # A store that grew with the old per-attempt rows.
        con.execute(
            "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 2001) "
            "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail) "
            "SELECT e.entry_seq, e.trip_id, e.at, 'claimed', printf('attempt %d', n.i) "
            "FROM journal_event AS e, n WHERE e.event = 'claimed'"
        )
    clock.advance(31 * DAY)
    plain = store.gc(timedelta(days=30))
    assert plain.events == 2001 and plain.pages_freed > 10
    shrunk = store.gc(timedelta(days=30), vacuum=True)
    assert shrunk.vacuumed and shrunk.bytes_after < shrunk.bytes_before
    assert shrunk.bytes_freed >= plain.pages_freed * plain.page_size // 2
    assert store.journal.counts().pending == 1  # nothing else touched


# SQLite only: a file made at an old schema version (0012), read with PRAGMAs.
def test_upgrading_keeps_every_event_and_its_id(db_path: Path, clock: StepClock) -> None:
    prepare_file(db_path)
    engine = create_db_engine(db_path)
    ensure_schema(engine, db_path, target="0012")
    engine.dispose()
    with contextlib.closing(sqlite3.connect(db_path)) as con, con:
        con.execute(
            "INSERT INTO trip (id, status, lifecycle, source, date, timezone, distance, "
            "distance_unit, classification, version, created_at, updated_at, "
            "class_segment_ids, custom_data) VALUES ('t1', 'complete', 'active', 'manual', "
            "'2025-01-01', 'UTC', '12.5', 'km', 'business', 1, "
            "'2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z', '[]', '{}')"
        )
        con.execute(
            "INSERT INTO journal (trip_id, op, state, attempts, in_doubt, payload_version, "
            "created_at, updated_at) VALUES ('t1', 'save', 'pending', 2, 0, 1, "
            "'2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')"
        )
        for event_id, event in ((3, "queued save"), (7, "claimed"), (9, "retry")):
            con.execute(
                "INSERT INTO journal_event (id, entry_seq, trip_id, at, event) "
                "VALUES (?, 1, 't1', '2025-01-01T00:00:00.000000Z', ?)",
                (event_id, event),
            )
        before = con.execute("SELECT * FROM journal_event ORDER BY id").fetchall()
    with Tracker.open(db_path, timezone="UTC", clock=clock) as store:
        assert _events(store, "t1") == [
            "queued save",
            "claimed",
            "retry",
        ]
        store.trips.edit("t1", {"notes": "after the upgrade"})  # coalesces: no new row
        store.trips.delete("t1")
    with contextlib.closing(sqlite3.connect(db_path)) as con:
        after = con.execute("SELECT * FROM journal_event ORDER BY id").fetchall()
        # 0018 added the chain's three columns, empty on every event it found.
        assert [row[:6] for row in after[:3]] == before
        assert {row[6:] for row in after[:3]} == {(None, None, None)}
        assert con.execute("PRAGMA foreign_key_list(journal_event)").fetchall() == []
        # AUTOINCREMENT: an id once used is never handed out again.
        (top,) = con.execute("SELECT max(id) FROM journal_event").fetchone()
        con.execute("DELETE FROM journal_event WHERE id = ?", (top,))
        con.execute(
            "INSERT INTO journal_event (entry_seq, trip_id, at, event) "
            "VALUES (1, 't1', '2025-01-02T00:00:00.000000Z', 'x')"
        )
        assert con.execute("SELECT max(id) FROM journal_event").fetchone() == (top + 1,)


def test_gc_deletes_the_attempt_level_events_the_rules_name() -> None:
    from tracker import gc

    listed = gc._EVENTS_SQL.split("IN (", 1)[1].split(")", 1)[0]
    assert {name.strip(" '") for name in listed.split(",")} == ATTEMPT_EVENTS

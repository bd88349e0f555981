"""Costs in the local store, on a real SQLite file: upsert rules, page + checkpoint in one
transaction, quarantine, "not seen" only after a complete walk, links to trips, reads."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bench.costs_rewrite import counting_frames
from tests.helpers.store import BOTH_BACKENDS, StepClock
from tracker.costs import (
    CostIn,
    CostNotFoundError,
    FinishedPull,
    PullStart,
    QuarantineIn,
    StoredPage,
    link_tolerance,
    links,
    walked,
)
from tracker.costs.store import UNCHANGED_PAGES_PER_CHECKPOINT
from tracker.costs.upsert import repeated_ids
from tracker.costs.views import UNKNOWN
from tracker.db import create_db_engine, prepare_file
from tracker.errors import (
    AmbiguousIdError,
    DatabaseBusyError,
    InvalidInputError,
    NotFoundError,
    StateError,
    StorageFullError,
)
from tracker.lookup import ID_END, MAX_DIGITS, digit_prefix_ranges
from tracker.schema import HEAD, ensure_schema
from tracker.store import Tracker

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TOLERANCE = timedelta(minutes=5)


def cost(ident: int, **fields: Any) -> CostIn:
    values: dict[str, Any] = {
        "id": ident,
        "last_updated": T0,
        "amount": Decimal("1.50"),
        "currency": "EUR",
        "raw": {"ID": ident},
    }
    values.update(fields)
    if "raw" not in fields:
        values["raw"] = {
            "ID": ident,
            "v": str(values["last_updated"]),
            "a": str(values["amount"]),
            "g": values.get("trip_guid"),
        }
    return CostIn(**values)


def reject(cost_id: str | None, raw: str = "{}", reason: str = "Amount: bad") -> QuarantineIn:
    return QuarantineIn(cost_id=cost_id, raw=raw, reason=reason)


def page(
    store: Tracker,
    run: PullStart,
    items: list[CostIn],
    rejects: list[QuarantineIn] | None = None,
    n: int = 1,
) -> StoredPage:
    return store.costs.store_page(
        items,
        rejects or [],
        run_id=run.run_id,
        checkpoint={"page": n + 1},
        pages=n,
        items=len(items),
        link_tolerance=TOLERANCE,
    )


def pull(store: Tracker, *pages: list[CostIn]) -> FinishedPull:
    """A complete walk over ``pages``."""
    run = store.costs.begin_run()
    for n, items in enumerate(pages, start=1):
        page(store, run, items, n=n)
    return store.costs.finish_run(run_id=run.run_id, complete=True, stop_reason="empty_page")


def stored(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- upsert


@BOTH_BACKENDS
def test_insert_then_unchanged_then_updated(store: Tracker) -> None:
    run = store.costs.begin_run()
    assert page(store, run, [cost(1), cost(2)]).inserted == 2
    again = page(store, run, [cost(1), cost(2)], n=2)
    assert (again.inserted, again.unchanged, again.updated) == (0, 2, 0)
    newer = cost(1, last_updated=T0 + timedelta(hours=1), amount=Decimal("2.00"))
    assert page(store, run, [newer], n=3).updated == 1
    assert store.costs.get(1).amount == Decimal("2.00")


@BOTH_BACKENDS
def test_an_older_last_updated_never_overwrites(store: Tracker) -> None:
    pull(store, [cost(1, last_updated=T0, amount=Decimal("9.99"))])
    run = store.costs.begin_run()
    older = cost(1, last_updated=T0 - timedelta(seconds=1), amount=Decimal("1.00"))
    result = page(store, run, [older])
    assert (result.stale, result.updated) == (1, 0)
    view = store.costs.get(1)
    assert view.amount == Decimal("9.99")
    assert view.last_updated == T0


@BOTH_BACKENDS
def test_on_a_last_updated_tie_the_copy_read_last_wins(store: Tracker) -> None:
    pull(store, [cost(1, amount=Decimal("1.00"))])
    run = store.costs.begin_run()
    assert page(store, run, [cost(1, amount=Decimal("1.01"))]).updated == 1
    assert store.costs.get(1).amount == Decimal("1.01")


@BOTH_BACKENDS
def test_ids_at_the_ends_of_int64_are_found_again(store: Tracker) -> None:
    # Stored costs are looked up by ids passed as one JSON array: no id may lose precision.
    ids = [2**63 - 1, -(2**63), 2**53 + 1]
    run = store.costs.begin_run()
    assert page(store, run, [cost(i) for i in ids]).inserted == 3
    assert page(store, run, [cost(i) for i in ids], n=2).unchanged == 3


@BOTH_BACKENDS
def test_duplicate_ids_on_one_page_keep_the_newest(store: Tracker) -> None:
    run = store.costs.begin_run()
    result = page(
        store,
        run,
        [
            cost(1, amount=Decimal("3"), last_updated=T0 + timedelta(hours=2)),
            cost(1, amount=Decimal("1"), last_updated=T0),
        ],
    )
    assert result.inserted == 1
    assert store.costs.get(1).amount == Decimal("3")


def test_amounts_are_stored_as_exact_text(store: Tracker, db_path: Path) -> None:
    pull(
        store,
        [
            cost(1, amount=Decimal("10.30")),
            cost(2, amount=Decimal("-0.10")),
            cost(3, amount=Decimal("999999999999999.99")),
        ],
    )
    assert stored(db_path, "SELECT id, amount FROM cost ORDER BY id") == [
        (1, "10.30"),
        (2, "-0.10"),
        (3, "999999999999999.99"),
    ]
    assert store.costs.get(1).to_json()["amount"] == "10.30"


@BOTH_BACKENDS
def test_cost_input_is_validated_before_any_row(store: Tracker) -> None:
    with pytest.raises(ValueError, match="finite"):
        cost(1, amount=Decimal("NaN"))
    with pytest.raises(ValueError, match="timezone"):
        cost(1, last_updated=datetime(2026, 3, 1))  # naive: refused
    with pytest.raises(ValueError, match="currency"):
        cost(1, currency="euro")
    with pytest.raises(ValueError, match="less than"):
        cost(2**63)
    with pytest.raises(ValueError, match="unicode"):
        cost(1, notes="a\ud800")
    with pytest.raises(ValueError, match="pattern"):  # no NUL bytes
        cost(1, label="a\x00")


# ---------------------------------------------------------------- page + checkpoint


@BOTH_BACKENDS
def test_page_and_checkpoint_commit_together(store: Tracker) -> None:
    run = store.costs.begin_run()
    page(store, run, [cost(1)], n=1)
    state = store.costs.pull_status()
    assert state is not None
    assert (state.pages, state.in_progress, state.complete) == (1, True, False)
    resumed = store.costs.begin_run()
    assert resumed.resumed
    assert resumed.run_id == run.run_id
    assert resumed.checkpoint == {"page": 2}


def test_a_failed_page_writes_nothing_and_keeps_the_checkpoint(db_path: Path) -> None:
    with Tracker.open(db_path, timezone="UTC", busy_timeout=0.2) as store:
        run = store.costs.begin_run()
        page(store, run, [cost(1)], n=1)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseBusyError):
                page(store, run, [cost(2), cost(3)], n=2)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.costs.begin_run().checkpoint == {"page": 2}  # still after page 1
        assert [c.id for c in store.costs.list()] == [1]


def test_disk_full_during_a_page_keeps_old_data_and_checkpoint(
    store: Tracker, db_path: Path
) -> None:
    run = store.costs.begin_run()
    page(store, run, [cost(1)], n=1)
    count = stored(db_path, "PRAGMA page_count")[0][0]

    @event.listens_for(store.db.engine, "connect")
    def _cap(dbapi_conn: sqlite3.Connection, _rec: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {count}")

    store.db.engine.dispose()
    big = [cost(i, notes="x" * 5000) for i in range(2, 200)]
    with pytest.raises(StorageFullError):
        page(store, run, big, n=2)
    event.remove(store.db.engine, "connect", _cap)
    store.db.engine.dispose()
    assert [c.id for c in store.costs.list()] == [1]
    assert store.costs.begin_run().checkpoint == {"page": 2}


@BOTH_BACKENDS
def test_a_superseded_run_cannot_write(store: Tracker) -> None:
    old = store.costs.begin_run()
    store.costs.begin_run(fresh=True)
    with pytest.raises(StateError, match="superseded"):
        page(store, old, [cost(1)])
    with pytest.raises(StateError):
        store.costs.finish_run(run_id=old.run_id, complete=True, stop_reason=None)
    assert store.costs.list() == []


@BOTH_BACKENDS
def test_a_finished_run_is_not_resumed(store: Tracker) -> None:
    first = store.costs.begin_run()
    page(store, first, [cost(1)])
    store.costs.finish_run(run_id=first.run_id, complete=True, stop_reason="short_page")
    second = store.costs.begin_run()
    assert not second.resumed
    assert second.run_id != first.run_id


# ---------------------------------------------------------------- not seen


@BOTH_BACKENDS
def test_items_gone_are_marked_not_seen_after_a_complete_walk_only(store: Tracker) -> None:
    pull(store, [cost(1), cost(2)], [cost(3)])
    run = store.costs.begin_run()
    page(store, run, [cost(1), cost(3)])
    # guarded stop (e.g. a repeated page): nothing is marked
    done = store.costs.finish_run(run_id=run.run_id, complete=False, stop_reason="page_cap")
    assert done.marked_not_seen == 0
    assert all(c.seen_in_last_pull for c in store.costs.list())
    state = store.costs.pull_status()
    assert state is not None
    assert (state.complete, state.stop_reason, state.in_progress) == (False, "page_cap", False)
    # a complete walk without cost 2 marks it, keeps it
    assert pull(store, [cost(1)], [cost(3)]).marked_not_seen == 1
    seen = {c.id: c.seen_in_last_pull for c in store.costs.list()}
    assert seen == {1: True, 2: False, 3: True}
    # and it comes back when it reappears
    pull(store, [cost(1), cost(2), cost(3)])
    assert all(c.seen_in_last_pull for c in store.costs.list())


def test_a_resumed_run_counts_pages_stored_before_the_crash(
    db_path: Path, clock: StepClock
) -> None:
    with Tracker.open(db_path, timezone="UTC", clock=clock) as first:
        pull(first, [cost(1), cost(2)])
        run = first.costs.begin_run()
        # a page that changes something is stored with its checkpoint at once
        page(first, run, [cost(1, amount=Decimal("2.00"))], n=1)
    # ... the process dies here; another resumes the same run and reads the rest
    with Tracker.open(db_path, timezone="UTC", clock=clock) as second:
        resumed = second.costs.begin_run()
        assert resumed.run_id == run.run_id
        assert resumed.checkpoint == {"page": 2}
        page(second, resumed, [cost(2)], n=2)
        done = second.costs.finish_run(run_id=resumed.run_id, complete=True, stop_reason=None)
        assert done.marked_not_seen == 0
        assert all(c.seen_in_last_pull for c in second.costs.list())


def test_a_pull_of_unchanged_costs_writes_next_to_nothing(store: Tracker, db_path: Path) -> None:
    pages = [[cost(n * 100 + i) for i in range(100)] for n in range(25)]
    with counting_frames(db_path) as first:
        pull(store, *pages)
    before = stored(db_path, "SELECT * FROM cost ORDER BY id")
    with counting_frames(db_path) as second:
        done = pull(store, *pages)
    # begin, one checkpoint after 20 unchanged pages, finish: a handful of pages, where
    # marking each cost seen rewrote the whole table (~20 pages per 100 costs)
    assert done.marked_not_seen == 0
    assert 0 < second.frames <= 12 < first.frames / 20
    assert stored(db_path, "SELECT * FROM cost ORDER BY id") == before
    assert stored(db_path, "SELECT count(*) FROM pull_seen") == [(0,)]  # cleared at the end


@BOTH_BACKENDS
def test_unchanged_pages_are_checkpointed_every_so_often(store_url: str, clock: StepClock) -> None:
    every = UNCHANGED_PAGES_PER_CHECKPOINT
    pages = [[cost(n * 10 + i) for i in range(10)] for n in range(every + 3)]
    with Tracker.open_url(store_url, timezone="UTC", clock=clock) as first:
        pull(first, *pages, [cost(999)])
        run = first.costs.begin_run()
        for n, items in enumerate(pages, start=1):
            page(first, run, items, n=n)
    # killed after every + 3 unchanged pages: the checkpoint of page `every` was written
    with Tracker.open_url(store_url, timezone="UTC", clock=clock) as second:
        resumed = second.costs.begin_run()
        assert resumed.run_id == run.run_id
        assert resumed.checkpoint == {"page": every + 1}
        for n, items in enumerate(pages[every:], start=every + 1):
            page(second, resumed, items, n=n)
        done = second.costs.finish_run(run_id=resumed.run_id, complete=True, stop_reason=None)
        # the IDs read before the kill count: only cost 999, on no page this time, is unseen
        assert done.marked_not_seen == 1
        assert [c.id for c in second.costs.list() if not c.seen_in_last_pull] == [999]


@BOTH_BACKENDS
def test_save_progress_writes_the_checkpoint_of_unchanged_pages(
    store_url: str, clock: StepClock
) -> None:
    with Tracker.open_url(store_url, timezone="UTC", clock=clock) as first:
        pull(first, [cost(1)], [cost(2)], [cost(3)])
        run = first.costs.begin_run()
        page(first, run, [cost(1)], n=1)
        page(first, run, [cost(2)], n=2)
        first.costs.save_progress(run_id=run.run_id)  # a stop: the pull ends here
    with Tracker.open_url(store_url, timezone="UTC", clock=clock) as second:
        resumed = second.costs.begin_run()
        assert resumed.checkpoint == {"page": 3}
        page(second, resumed, [cost(3)], n=3)
        done = second.costs.finish_run(run_id=resumed.run_id, complete=True, stop_reason=None)
        assert done.marked_not_seen == 0


@BOTH_BACKENDS
def test_a_cost_marked_not_seen_is_seen_again_when_read_unchanged(store: Tracker) -> None:
    pull(store, [cost(1), cost(2)])
    pull(store, [cost(1)])
    assert not store.costs.get(2).seen_in_last_pull
    assert pull(store, [cost(1), cost(2)]).marked_not_seen == 0
    assert store.costs.get(2).seen_in_last_pull


@BOTH_BACKENDS
def test_mark_gone(store: Tracker) -> None:
    pull(store, [cost(1)])
    assert store.costs.mark_gone(1)
    assert not store.costs.get(1).seen_in_last_pull
    assert not store.costs.mark_gone(2)


# ---------------------------------------------------------------- quarantine


@BOTH_BACKENDS
def test_quarantine_is_kept_updated_and_resolved(store: Tracker) -> None:
    run = store.costs.begin_run()
    result = page(store, run, [cost(1)], [reject("7", reason="Amount: bad"), reject(None, "[1]")])
    assert (result.inserted, result.quarantined) == (1, 2)
    page(store, run, [], [reject("7", reason="Amount: worse"), reject(None, "[1]")], n=2)
    rows = store.costs.quarantine()
    assert sorted((r.cost_id, r.reason) for r in rows if r.cost_id) == [("7", "Amount: worse")]
    assert len(rows) == 2  # no duplicate rows for the same item
    # A valid twin read in the same run does not clear it: the list holds both copies.
    twin = page(store, run, [cost(7)], n=3)
    assert (twin.resolved, twin.inserted) == (0, 1)
    assert len(store.costs.quarantine()) == 2
    store.costs.finish_run(run_id=run.run_id, complete=False, stop_reason="repeated_page")
    # The next run reads only the valid copy: the entry leaves quarantine.
    fixed = page(store, store.costs.begin_run(), [cost(7, amount=Decimal("2"))])
    assert fixed.resolved == 1
    assert [r.cost_id for r in store.costs.quarantine()] == [None]


@BOTH_BACKENDS
def test_a_last_updated_from_the_future_is_refused_by_the_store(store: Tracker) -> None:
    now = store.now()
    run = store.costs.begin_run()
    result = page(store, run, [cost(3, last_updated=now + timedelta(days=2)), cost(4)])
    assert (result.inserted, result.quarantined, len(result.refused)) == (1, 1, 1)
    assert "from the future" in store.costs.quarantine()[0].reason
    # Within the slack (clock skew) it is stored.
    assert page(store, run, [cost(3, last_updated=now + timedelta(hours=20))], n=2).inserted == 1
    alone = store.costs.store_cost(
        cost(5, last_updated=now + timedelta(days=400)), link_tolerance=TOLERANCE
    )
    assert (alone.inserted, alone.quarantined) == (0, 1)


def test_repeated_ids_compare_valid_ids_and_quarantine_keys_as_text() -> None:
    assert repeated_ids([cost(1), cost(2), cost(1)], [reject("2"), reject(None), reject("9")]) == [
        "1",
        "2",
    ]
    assert repeated_ids([cost(1)], [reject(None), reject(None)]) == []


@BOTH_BACKENDS
def test_quarantine_not_read_again_is_dropped_after_a_complete_walk(store: Tracker) -> None:
    run = store.costs.begin_run()
    page(store, run, [], [reject("7"), reject(None, "[1]")])
    store.costs.finish_run(run_id=run.run_id, complete=True, stop_reason=None)
    assert len(store.costs.quarantine()) == 2
    run = store.costs.begin_run()
    page(store, run, [], [reject("7")])
    store.costs.finish_run(run_id=run.run_id, complete=False, stop_reason="repeated_page")
    assert len(store.costs.quarantine()) == 2  # an incomplete walk proves nothing
    done = pull(store, [])
    assert done.quarantine_cleared == 2
    assert store.costs.quarantine() == []


@BOTH_BACKENDS
def test_a_stored_cost_whose_new_version_is_quarantined_stays_seen(store: Tracker) -> None:
    pull(store, [cost(5, amount=Decimal("4.00"))])
    run = store.costs.begin_run()
    page(store, run, [], [reject("5")])
    store.costs.finish_run(run_id=run.run_id, complete=True, stop_reason=None)
    view = store.costs.get(5)
    assert view.seen_in_last_pull
    assert view.amount == Decimal("4.00")  # the last valid version is kept


@BOTH_BACKENDS
def test_single_item_storage_outside_a_pull(store: Tracker) -> None:
    assert store.costs.store_rejects([reject("8")]) == 1
    result = store.costs.store_cost(cost(8), link_tolerance=TOLERANCE)
    assert (result.inserted, result.resolved) == (1, 1)
    assert store.costs.quarantine() == []
    assert store.costs.store_cost(cost(8), link_tolerance=TOLERANCE).unchanged == 1


# ---------------------------------------------------------------- links


def add_trip(store: Tracker, start: datetime, minutes: int, **extra: Any) -> str:
    trip = store.trips.add(
        {
            "distance": "10",
            "start_time": start,
            "end_time": start + timedelta(minutes=minutes),
            **extra,
        }
    )
    return trip.id


@pytest.fixture
def trips(store: Tracker) -> dict[str, str]:
    return {
        "morning": add_trip(store, T0, 60),  # 08:00-09:00
        "noon": add_trip(store, T0 + timedelta(hours=4), 30),  # 12:00-12:30
        "noon_overlap": add_trip(store, T0 + timedelta(hours=4, minutes=20), 30),  # 12:20-12:50
    }


@BOTH_BACKENDS
def test_link_by_trip_guid_whatever_its_case_or_braces(
    store: Tracker, trips: dict[str, str]
) -> None:
    morning = trips["morning"]
    far = T0 + timedelta(days=30)
    pull(
        store,
        [
            cost(1, trip_guid=morning.upper(), start_time=far),
            cost(2, trip_guid="{" + morning + "}"),
        ],
    )
    for ident in (1, 2):
        view = store.costs.get(ident)
        assert (view.trip_id, view.link) == (morning, "trip_guid")
    assert store.costs.get(1).trip_guid == morning  # stored canonical


@BOTH_BACKENDS
def test_link_by_time_overlap_within_the_tolerance(store: Tracker, trips: dict[str, str]) -> None:
    unknown_guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    after_end = T0 + timedelta(hours=1, minutes=4)  # 4 min after the morning trip
    too_late = T0 + timedelta(hours=1, minutes=6)
    result = pull(
        store,
        [
            cost(1, trip_guid=unknown_guid, start_time=T0 + timedelta(minutes=30)),
            cost(2, start_time=after_end, end_time=after_end),
            cost(3, start_time=too_late),
            cost(4, end_time=T0 - timedelta(minutes=3)),  # only an end time, 3 min early
            cost(5),  # no times, no guid
        ],
    )
    assert result.marked_not_seen == 0
    links = {c.id: (c.trip_id, c.link) for c in store.costs.list()}
    assert links == {
        1: (trips["morning"], "time"),
        2: (trips["morning"], "time"),
        3: (None, "none"),
        4: (trips["morning"], "time"),
        5: (None, "none"),
    }


@BOTH_BACKENDS
def test_an_ambiguous_overlap_stays_unlinked_and_is_reported(
    store: Tracker, trips: dict[str, str]
) -> None:
    run = store.costs.begin_run()
    at = T0 + timedelta(hours=4, minutes=25)  # inside both noon trips
    result = page(store, run, [cost(1, start_time=at)])
    assert [(a.cost_id, set(a.trip_ids)) for a in result.ambiguous] == [
        (1, {trips["noon"], trips["noon_overlap"]})
    ]
    view = store.costs.get(1)
    assert (view.trip_id, view.link) == (None, "ambiguous")


@BOTH_BACKENDS
def test_deleted_and_recording_trips_are_not_linked_by_time(store: Tracker) -> None:
    gone = add_trip(store, T0, 60)
    store.trips.delete(gone)
    store.trips.start({"start_time": T0})  # still recording: no end yet
    pull(store, [cost(1, start_time=T0 + timedelta(minutes=10))])
    assert store.costs.get(1).link == "none"
    pull(store, [cost(2, trip_guid=gone)])  # a GUID names the trip, deleted or not
    assert store.costs.get(2).trip_id == gone


@BOTH_BACKENDS
def test_links_are_recomputed_when_the_cost_is_read_again(store: Tracker) -> None:
    at = T0 + timedelta(days=2)
    pull(store, [cost(1, start_time=at)])
    assert store.costs.get(1).link == "none"
    trip = add_trip(store, at - timedelta(minutes=10), 20)  # recorded later
    pull(store, [cost(1, start_time=at)])
    assert store.costs.get(1).trip_id == trip


@BOTH_BACKENDS
def test_one_page_mixes_every_kind_of_link(store: Tracker, trips: dict[str, str]) -> None:
    # The links of a page are looked up together: each cost still gets its own.
    pull(store, [cost(9, last_updated=T0 + timedelta(hours=1), start_time=T0)])  # morning
    run = store.costs.begin_run()
    result = page(
        store,
        run,
        [
            cost(1, trip_guid=trips["noon"], start_time=T0),  # the GUID wins over the time
            cost(2, start_time=T0 + timedelta(minutes=10)),  # morning, by time
            cost(3, start_time=T0 + timedelta(hours=4, minutes=25)),  # both noon trips
            cost(4, start_time=T0 + timedelta(days=3)),  # no trip then
            cost(5),  # no times
            # older than the stored copy: its link follows the stored times (morning)
            cost(9, start_time=T0 + timedelta(hours=4, minutes=5)),
        ],
    )
    assert (result.stale, result.inserted) == (1, 5)
    assert (result.linked_by_guid, result.linked_by_time, result.unlinked) == (1, 2, 2)
    assert [(a.cost_id, set(a.trip_ids)) for a in result.ambiguous] == [
        (3, {trips["noon"], trips["noon_overlap"]})
    ]
    links = {c.id: (c.trip_id, c.link) for c in store.costs.list()}
    assert links == {
        1: (trips["noon"], "trip_guid"),
        2: (trips["morning"], "time"),
        3: (None, "ambiguous"),
        4: (None, "none"),
        5: (None, "none"),
        9: (trips["morning"], "time"),
    }


@BOTH_BACKENDS
def test_an_ambiguous_cost_lists_the_first_overlapping_trips_by_start(store: Tracker) -> None:
    starts = [T0 + timedelta(minutes=m) for m in (50, 10, 40, 0, 30, 20)]
    ids = {start: add_trip(store, start, 120) for start in starts}
    run = store.costs.begin_run()
    result = page(store, run, [cost(1, start_time=T0 + timedelta(minutes=55))])
    first_five = [ids[start] for start in sorted(starts)[: links.MAX_CANDIDATES]]
    assert [list(a.trip_ids) for a in result.ambiguous] == [first_five]


def test_a_refresh_updates_without_touching_the_pull_bookkeeping(store: Tracker) -> None:
    pull(store, [cost(8)])
    before = stored_seen(store, 8)
    newer = cost(8, last_updated=T0 + timedelta(hours=1), amount=Decimal("8.80"))
    result = store.costs.store_cost(newer, link_tolerance=TOLERANCE)
    assert (result.updated, result.inserted, result.unchanged) == (1, 0, 0)
    assert store.costs.get(8).amount == Decimal("8.80")
    assert stored_seen(store, 8) == before


def stored_seen(store: Tracker, ident: int) -> tuple[Any, ...]:
    return stored(store.path, f"SELECT seen_in_last_pull, seen_run FROM cost WHERE id = {ident}")[0]


def test_checked_cost_input_needs_every_field() -> None:
    values = cost(1).model_dump()
    assert CostIn.checked(dict(values)) == cost(1)
    with pytest.raises(TypeError, match=r"missing \['notes'\]"):
        CostIn.checked({k: v for k, v in values.items() if k != "notes"})
    with pytest.raises(TypeError, match=r"extra \['surprise'\]"):
        CostIn.checked({**values, "surprise": 1})


def test_link_tolerance_from_settings() -> None:
    assert link_tolerance(300) == timedelta(minutes=5)
    assert link_tolerance(1e12) == links.MAX_TOLERANCE
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(InvalidInputError):
            link_tolerance(bad)


# ---------------------------------------------------------------- reads


@BOTH_BACKENDS
def test_list_by_trip_show_and_counts(store: Tracker, trips: dict[str, str]) -> None:
    pull(
        store,
        [
            cost(1, trip_guid=trips["morning"], cost_type=42, payment_status=None),
            cost(2, start_time=T0 + timedelta(minutes=5)),
            cost(3, start_time=T0 + timedelta(hours=4, minutes=25)),
            cost(4),
        ],
    )
    morning = trips["morning"]
    assert [c.id for c in store.costs.list(trip_id=morning)] == [2, 1]
    assert [c.id for c in store.costs.list(trip_id=morning[:6])] == [2, 1]
    with pytest.raises(NotFoundError):
        store.costs.list(trip_id="nope")
    assert [c.id for c in store.costs.list()] == [3, 2, 4, 1]  # no start time: last
    view = store.costs.get(1)
    assert (view.cost_type, view.cost_type_name) == (42, UNKNOWN)
    assert (view.payment_status, view.payment_status_name) == (None, None)
    with pytest.raises(CostNotFoundError, match="tracker costs list"):
        store.costs.get(99)
    counts = store.costs.counts()
    assert counts.model_dump(exclude={"pull"}) == {
        "total": 4,
        "linked_by_guid": 1,
        "linked_by_time": 1,
        "ambiguous": 1,
        "unlinked": 1,
        "not_seen": 0,
        "quarantined": 0,
    }
    assert counts.pull is not None
    assert counts.pull.complete


@BOTH_BACKENDS
def test_empty_store_counts(store: Tracker, clock: StepClock) -> None:
    counts = store.costs.counts()
    assert (counts.total, counts.quarantined, counts.pull) == (0, 0, None)
    assert store.costs.pull_status() is None


# ---------------------------------------------------------------- upgrade (migration 0009)

_OLD_TS = "2025-01-01T00:00:00.000000Z"


def test_a_pull_interrupted_before_the_upgrade_keeps_what_it_read(
    db_path: Path, clock: StepClock
) -> None:
    """A run stopped under 0008 marked what it read by ``seen_run`` only: once upgraded and
    resumed, those costs still count as read."""
    prepare_file(db_path)
    engine = create_db_engine(db_path)
    ensure_schema(engine, db_path, target="0008")
    engine.dispose()
    con = sqlite3.connect(db_path)
    for ident, run in ((1, "run-a"), (2, "run-a"), (3, "run-old")):
        con.execute(
            "INSERT INTO cost (id, link, amount, currency, raw, seen_in_last_pull, seen_run, "
            "first_seen_at, updated_at) VALUES (?, 'none', '1.50', 'EUR', ?, 1, ?, ?, ?)",
            (ident, json.dumps({"ID": ident}), run, _OLD_TS, _OLD_TS),
        )
    con.execute(
        "INSERT INTO pull_state (name, run_id, checkpoint, pages, items, complete, started_at) "
        "VALUES ('costs', 'run-a', '{\"page\": 3}', 2, 2, 0, ?)",
        (_OLD_TS,),
    )
    con.commit()
    con.close()
    with Tracker.open(db_path, timezone="UTC", clock=clock) as upgraded:
        resumed = upgraded.costs.begin_run()
        assert (resumed.run_id, resumed.checkpoint) == ("run-a", {"page": 3})
        page(upgraded, resumed, [cost(4)], n=3)
        done = upgraded.costs.finish_run(run_id="run-a", complete=True, stop_reason=None)
        assert done.marked_not_seen == 1
        seen = {c.id: c.seen_in_last_pull for c in upgraded.costs.list()}
        assert seen == {1: True, 2: True, 3: False, 4: True}
    assert stored(db_path, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert stored(db_path, "SELECT count(*) FROM pull_seen") == [(0,)]


# ---------------------------------------------------------------- the IDs a walk read


def test_ranges_compress_ids_and_find_the_ones_outside() -> None:
    assert walked.to_ranges([5, 3, 4, 9, 3, 1]) == [(1, 1), (3, 5), (9, 9)]
    assert walked.to_ranges([]) == []
    assert walked.merge([(7, 9), (1, 3), (4, 5), (2, 2), (11, 11)]) == [(1, 5), (7, 9), (11, 11)]
    ranges = walked.merge([(1, 5), (7, 9)])
    assert list(walked.outside([0, 1, 5, 6, 7, 9, 10, 20], ranges)) == [0, 6, 10, 20]
    assert list(walked.outside([1, 2], [])) == [1, 2]


def test_digit_prefix_ranges_cover_exactly_the_longer_ids_with_that_prefix() -> None:
    assert digit_prefix_ranges("48", max_digits=5) == [(480, 490), (4800, 4900), (48000, 49000)]
    assert digit_prefix_ranges("0123") == []  # no id is written with a leading zero
    assert digit_prefix_ranges("12a") == []
    assert digit_prefix_ranges("9" * MAX_DIGITS) == []
    assert digit_prefix_ranges("9223372036854775")[-1] == (9223372036854775000, ID_END)
    for low, high in digit_prefix_ranges("4821"):
        assert str(low).startswith("4821") and str(high - 1).startswith("4821")
        assert not str(high).startswith("4821")


@BOTH_BACKENDS
def test_a_cost_is_named_by_its_id_or_a_unique_prefix_of_its_digits(store: Tracker) -> None:
    ids = [48213399, 48219, 77, 9_223_372_036_854_775_807, -(2**63)]
    pull(store, [cost(i) for i in ids])
    assert store.costs.get(-(2**63)).id == -(2**63)
    assert store.costs.get("4821339").id == 48213399
    assert store.costs.get("48213399").id == 48213399
    assert store.costs.get(77).id == 77  # a short id, named whole
    assert store.costs.get("9223372036").id == 9_223_372_036_854_775_807
    with pytest.raises(AmbiguousIdError, match="ambiguous") as many:
        store.costs.get("4821")
    assert sorted(many.value.candidates) == ["48213399", "48219"]
    with pytest.raises(CostNotFoundError, match="no cost with id 48"):
        store.costs.get("48")  # a short number is a whole id, not a prefix
    with pytest.raises(CostNotFoundError, match="no cost with id 5555"):
        store.costs.get("5555")
    with pytest.raises(NotFoundError):
        store.costs.get("toll")

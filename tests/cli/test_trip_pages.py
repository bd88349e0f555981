"""Trip lists are paged in SQL (issue 15): a default page of 50 with a "N more" line,
``--limit``, ``--after`` cursors, ``--all``; the library's ``store.trips.page``. Pages keep a
stable order and, while trips are added between pages, show no trip twice and skip none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers.cli import run, run_json
from tests.helpers.store import claim, manual_trips, record
from tracker.enums import SyncState
from tracker.outcomes import Parked, Synced
from tracker.store import Tracker
from tracker.triplist import DEFAULT_PAGE, PAGE_SQL, page_params


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Tracker]:
    # The CLI's own file (TRACKER_HOME is tmp_path/home, see tests/conftest.py).
    with Tracker.open(tmp_path / "home" / "tracker.db", timezone="UTC") as opened:
        yield opened


def _add(store: Tracker, n: int, day: str = "2026-03-01") -> list[str]:
    return [store.trips.add({"date": day, "distance": f"{i}.5"}).id for i in range(n)]


def test_the_default_page_is_50_with_a_line_saying_how_many_more(
    capsys: pytest.CaptureFixture[str], store: Tracker
) -> None:
    manual_trips(store, DEFAULT_PAGE + 5)
    code, out, _ = run(capsys, "trip", "list")
    assert code == 0
    assert f"{DEFAULT_PAGE} trips" in out
    assert "5 more: use --all or --limit" in out
    code, out, _ = run(capsys, "trip", "list", "--all")
    assert code == 0
    assert "more:" not in out
    assert f"{DEFAULT_PAGE + 5} trips" in out
    listed = run_json(capsys, "trip", "list", "--all")
    ids = [t["id"] for t in listed["trips"]]
    assert len(ids) == len(set(ids)) == DEFAULT_PAGE + 5
    assert (listed["more"], listed["next"]) == (0, None)


def test_json_pages_follow_their_cursor_to_the_end_in_the_all_order(
    capsys: pytest.CaptureFixture[str], store: Tracker
) -> None:
    manual_trips(store, 23)
    _add(store, 4, day="2026-03-05")  # ties on the date: the order still total
    everything = [t["id"] for t in run_json(capsys, "trip", "list", "--all")["trips"]]
    first = run_json(capsys, "trip", "list", "--limit", "10")
    assert (len(first["trips"]), first["more"]) == (10, 17)
    seen = [t["id"] for t in first["trips"]]
    after = first["next"]
    while after:
        page = run_json(capsys, "trip", "list", "--limit", "10", "--after", after)
        seen += [t["id"] for t in page["trips"]]
        after = page["next"]
    assert seen == everything
    dates = [t["date"] for t in run_json(capsys, "trip", "list", "--all")["trips"]]
    assert dates == sorted(dates, reverse=True)  # newest first


def test_pages_show_no_trip_twice_and_skip_none_while_trips_are_added(store: Tracker) -> None:
    before = set(_add(store, 30))
    seen: list[str] = []
    page = store.trips.page(limit=7)
    added: set[str] = set()
    while True:
        seen += [t.id for t in page.trips]
        # Another device records meanwhile: same day (ties) and newer days.
        added |= set(_add(store, 2)) | set(_add(store, 1, day="2026-04-01"))
        if page.next is None:
            break
        page = store.trips.page(limit=7, after=page.next)
    assert len(seen) == len(set(seen))  # no duplicates
    assert before <= set(seen)  # no gaps: every trip that was there is listed once
    assert set(seen) <= before | added


def test_a_page_is_filtered_in_sql_by_the_same_sync_state_rule_as_a_trip(
    store: Tracker,
) -> None:
    ids = manual_trips(store, 8)
    store.trips.start({})  # recording
    lease = timedelta(minutes=5)
    first = claim(store, "pusher", 4, lease)  # in flight
    record(store, "pusher", {first[0].seq: Parked("INVALID_VALUE", "no")})  # parked
    record(store, "pusher", {first[1].seq: Synced(remote_id="mlg_1")})  # synced
    store.outbox.release("pusher", [first[2].seq], in_doubt=True)  # in doubt
    store.trips.delete(ids[7])  # a tombstone (its delete waits: pending)
    every = store.trips.list(include_deleted=True)
    assert len(every) == 9
    states = {t.id: t.sync_state for t in every}
    assert set(states.values()) >= {
        "recording",
        "pending",
        "in_flight",
        "in_doubt",
        "parked",
        "synced",
    }
    for state in SyncState:
        paged = store.trips.page(limit=100, include_deleted=True, sync_state=state)
        assert {t.id for t in paged.trips} == {i for i, s in states.items() if s == state}
        assert all(t.sync_state == state for t in paged.trips)


def test_a_bad_cursor_is_a_data_error_and_a_bad_state_a_usage_error(
    capsys: pytest.CaptureFixture[str], store: Tracker
) -> None:
    manual_trips(store, 2)
    code, out, err = run(capsys, "trip", "list", "--after", "not-a-cursor")
    assert code == 65
    assert "cursor" in err and "Traceback" not in err + out
    code, _, err = run(capsys, "trip", "list", "--state", "sideways")
    assert code == 2  # refused by the parser, which names the states it knows
    assert "'pending'" in err and "Traceback" not in err
    with pytest.raises(ValueError, match="limit"):
        store.trips.page(limit=0)


def test_the_sync_state_filter_looks_entries_up_by_trip_not_by_state(store: Tracker) -> None:
    # By state, SQLite read every pending entry for every trip: minutes on 100k trips.
    from tracker.triplist import PAGE_SQL, page_params

    manual_trips(store, 3)
    params = page_params(include_deleted=False, sync_state=SyncState.PENDING, after=None, limit=50)
    with store.db.read() as s:
        plan = [
            row[3]
            for row in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {PAGE_SQL}", params)
        ]
    lookups = [step for step in plan if "SEARCH j " in step]
    assert len(lookups) == 4, plan
    assert all("ix_journal_trip_seq (trip_id=?)" in step for step in lookups), plan


def test_the_count_after_a_page_stops_at_its_cap(store: Tracker) -> None:
    _add(store, 12)
    page = store.trips.page(limit=3, count_up_to=5)
    assert (len(page.trips), page.more, page.more_exact) == (3, 5, False)
    assert page.next is not None
    exact = store.trips.page(limit=3, count_up_to=9)
    assert (exact.more, exact.more_exact) == (9, True)
    assert store.trips.page(limit=3).to_json()["more_exact"] is True


def test_a_page_walks_the_list_order_index_and_sorts_nothing(store: Tracker) -> None:
    _add(store, 3)
    params = page_params(include_deleted=False, sync_state=None, after=None, limit=50)
    with store.db.engine.connect() as conn:
        plan = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + PAGE_SQL, params)]
    assert any("USING INDEX ix_trip_list_order" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan

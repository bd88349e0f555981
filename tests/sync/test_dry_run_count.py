"""``tracker sync --dry-run`` counts the whole push exactly (issue 15): the number of
requests it announces is the number the real push then sends, for a backlog larger than
what it shows in full."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxServer
from sync.settings import Settings
from tests.helpers.cli import run, run_json
from tests.helpers.migrations import migrate
from tests.helpers.remote import fast_mileage
from tests.helpers.store import BOTH_BACKENDS, claim, manual_trips, record
from tests.tracker.test_accounts import ACME
from tracker.coltypes import utc_text
from tracker.outbox import count_from_tally
from tracker.outcomes import Retry, Synced
from tracker.pushcount import (
    END_OF_TIME,
    PENDING_RECOUNT_SQL,
    PENDING_TALLY_SQL,
    PUSH_COUNT_SQL,
    PushCount,
    from_totals,
)
from tracker.schema import HEAD
from tracker.store import Tracker


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, server: SandboxServer, home: Path) -> Path:
    monkeypatch.setenv("TRACKER_HOME", str(home))
    monkeypatch.setenv("TRACKER_MILEAGE_URL", server.tight_url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("TRACKER_MILEAGE_BATCH_SIZE", "100")
    return home


def _sent(sandbox: Sandbox) -> int:
    return len(sandbox.requests)


@BOTH_BACKENDS
def test_250_creates_at_batch_100_are_3_requests_and_the_push_sends_3(
    capsys: pytest.CaptureFixture[str], cli_env: Path, store: Tracker, sandbox: Sandbox
) -> None:
    manual_trips(store, 250)
    plan = run_json(capsys, "sync", "--push", "--dry-run")
    assert plan["push"]["requests"] == 3
    assert (plan["push"]["entries"], plan["push"]["batches"]) == (250, 3)
    assert (plan["push"]["creates"], plan["push"]["saves"]) == (250, 3)
    # Shown in full: every request here (3 batches); nothing left out, nothing sent.
    assert [len(r["body"]["data"]) for r in plan["requests"]] == [100, 100, 50]
    assert plan["not_shown"] == 0
    assert _sent(sandbox) == 0
    code, out, _ = run(capsys, "sync", "--push", "--dry-run")
    assert code == 0
    assert "3 request(s) would be sent for 250 change(s) due" in out
    assert run(capsys, "sync", "--push")[0] == 0
    assert _sent(sandbox) == 3
    assert store.journal.counts().synced == 250


@BOTH_BACKENDS
def test_deletes_cost_one_request_each_and_the_count_matches_the_push(
    capsys: pytest.CaptureFixture[str], cli_env: Path, store: Tracker, sandbox: Sandbox
) -> None:
    pushed = manual_trips(store, 7)
    assert run(capsys, "sync", "--push")[0] == 0
    before = _sent(sandbox)
    for trip_id in pushed[:5]:
        store.trips.delete(trip_id)  # on the server: one DELETE each
    local = manual_trips(store, 1)
    store.trips.delete(local[0])  # never pushed: costs nothing
    manual_trips(store, 120)  # 120 creates: after the deletes, in 2 batches
    plan = run_json(capsys, "sync", "--push", "--dry-run")
    push = plan["push"]
    # Batches of 100 in journal order: [6 deletes + 94 creates], [26 creates]; the delete
    # of the trip never pushed is due but sends nothing.
    assert (push["deletes"], push["deletes_sent"], push["saves"]) == (6, 5, 2)
    assert push["requests"] == 7
    assert _sent(sandbox) == before
    assert run(capsys, "sync", "--push")[0] == 0
    assert _sent(sandbox) - before == 7
    assert store.journal.counts().pending == 0


@BOTH_BACKENDS
def test_the_library_counts_in_sql_what_a_claim_would_take(store: Tracker) -> None:
    ids = manual_trips(store, 12)
    count = store.outbox.push_count(5)
    assert (count.entries, count.batches, count.requests) == (12, 3, 3)
    # A recording trip is not pushed before it stops; a held retry counts only by hand.
    store.trips.start({})
    assert store.outbox.push_count(5).entries == 12
    store.trips.delete(ids[0])  # queued behind its create: due once the create is sent
    assert store.outbox.push_count(100).requests == 1
    assert store.outbox.push_count(100, retry_waiting=True).entries == 12


@BOTH_BACKENDS
def test_a_dry_run_over_the_shown_batches_says_how_many_are_left_out(
    capsys: pytest.CaptureFixture[str],
    cli_env: Path,
    store: Tracker,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manual_trips(store, 9)
    monkeypatch.setenv("TRACKER_MILEAGE_BATCH_SIZE", "2")
    code, out, _ = run(capsys, "sync", "--push", "--dry-run")
    assert code == 0
    assert out.count("POST ") == 3  # the first 3 batches in full
    assert "... and 2 more request(s) not shown" in out
    assert "5 request(s) would be sent for 9 change(s) due" in out
    assert run(capsys, "sync", "--push")[0] == 0
    assert _sent(sandbox) == 5


def _counted_in_batches(store: Tracker, batch_size: int, *, retry_waiting: bool) -> PushCount:
    """The count by the per-batch SQL alone (what the totals' shortcut must agree with)."""
    due = END_OF_TIME if retry_waiting else utc_text(store.now())
    with store.db.read() as s:
        row = s.connection().exec_driver_sql(
            PUSH_COUNT_SQL, {"size": batch_size, "due": due, "account": ""}
        )
        return PushCount(*(int(v) for v in row.one()))


def test_the_totals_give_the_count_only_when_every_due_entry_is_a_save_and_none_in_doubt() -> None:
    assert from_totals(250, 200, 50, 0, 100) == PushCount(
        batches=3,
        entries=250,
        creates=200,
        updates=50,
        deletes=0,
        saves=3,
        deletes_sent=0,
        reconciles=0,
    )
    assert from_totals(0, 0, 0, 0, 100) == PushCount(0, 0, 0, 0, 0, 0, 0, 0)
    assert from_totals(100, 100, 0, 0, 100) is not None
    assert from_totals(100, 100, 0, 0, 100).batches == 1  # type: ignore[union-attr]
    assert from_totals(101, 100, 1, 0, 100).batches == 2  # type: ignore[union-attr]
    assert from_totals(10, 9, 0, 0, 100) is None  # a delete is due: its batch matters
    assert from_totals(10, 10, 0, 1, 100) is None  # in doubt: a reconcile may be sent
    assert from_totals(10, 10, 0, 0, 0) is None


@BOTH_BACKENDS
def test_the_shortcut_and_the_batch_count_agree_on_a_mixed_store(
    capsys: pytest.CaptureFixture[str], cli_env: Path, store: Tracker, sandbox: Sandbox
) -> None:
    pushed = manual_trips(store, 30)
    assert run(capsys, "sync", "--push")[0] == 0
    for trip_id in pushed[:12]:
        store.trips.edit(trip_id, {"notes": "changed"})  # updates of trips the server has
    manual_trips(store, 7)  # creates
    store.trips.start({})  # recording: not due
    sizes = (1, 3, 5, 100)

    def both_agree() -> None:
        for size in sizes:
            for waiting in (False, True):
                expected = _counted_in_batches(store, size, retry_waiting=waiting)
                assert store.outbox.push_count(size, retry_waiting=waiting) == expected

    both_agree()  # saves only: the shortcut answers
    assert store.outbox.push_count(5, retry_waiting=True).updates == 12
    store.trips.delete(pushed[20])  # a delete due: the batches are counted
    both_agree()
    assert store.outbox.push_count(100).deletes_sent == 1
    run(capsys, "sync", "--push")  # exit 75: the recording trip's change stays queued
    assert store.journal.counts().pending == 1
    both_agree()  # nothing due
    assert store.outbox.push_count(100).entries == 0


# ---------------------------------------------------- the kept counts (SQLite, migration 0025)
def _kept(store: Tracker, batch_size: int, *, retry_waiting: bool = True) -> PushCount | None:
    """The count from the counts kept by triggers alone (None: they do not determine it)."""
    due = END_OF_TIME if retry_waiting else utc_text(store.now())
    with store.db.read() as s:
        return count_from_tally(s.connection(), due, "", batch_size, retry_waiting)


def _agree(store: Tracker, *, kept: bool) -> None:
    """Every batch size gives the per-batch SQL's count; the kept counts answer (or not)."""
    for size in (1, 3, 7, 100):
        expected = _counted_in_batches(store, size, retry_waiting=True)
        assert (_kept(store, size) is not None) is kept
        if kept:
            assert _kept(store, size) == expected
        assert store.outbox.push_count(size, retry_waiting=True) == expected


def test_the_kept_counts_answer_past_recording_conflicted_and_other_accounts_trips(
    store: Tracker, home: Path, server: SandboxServer, sandbox: Sandbox
) -> None:
    store.accounts.add(ACME)
    with SyncEngine(Settings(home=home, mileage=fast_mileage(server.tight_url)), store) as engine:
        pushed = manual_trips(store, 6)
        engine.run(push=True, retry_waiting=True).raise_for_failure()
        remote_id = store.trips.get(pushed[0]).remote_id
        assert remote_id is not None
        sandbox.edit_record(remote_id, {"description": "theirs"})
        store.trips.edit(pushed[0], {"description": "mine"})
        engine.run(push=True, pull=True)
    assert store.conflicts.count() == 1  # its change is pending, and not due
    for trip_id in pushed[1:4]:
        store.trips.edit(trip_id, {"notes": "changed"})  # updates
    manual_trips(store, 5)  # creates
    manual_trips(store.for_account("acme"), 4)  # another account's
    store.trips.start({})  # recording: its change is pending, and not due
    _agree(store, kept=True)
    assert _kept(store, 3) == PushCount(
        batches=3, entries=8, creates=5, updates=3, deletes=0, saves=3, deletes_sent=0,
        reconciles=0,
    )  # fmt: skip
    acme = store.for_account("acme").outbox.push_count(100, retry_waiting=True)
    assert (acme.entries, acme.creates) == (4, 4)


def test_an_entry_behind_another_of_its_trip_a_delete_or_a_wait_leave_it_to_the_sql(
    store: Tracker,
) -> None:
    ids = manual_trips(store, 4)
    _agree(store, kept=True)
    [held] = claim(store, "pusher", 1, timedelta(minutes=5))
    store.trips.edit(held.trip_id, {"notes": "edited in flight"})  # waits behind it
    _agree(store, kept=False)
    record(store, "pusher", {held.seq: Synced(remote_id="mlg_1")})
    _agree(store, kept=True)  # the trip's one open entry is now an update
    assert _kept(store, 100).updates == 1  # type: ignore[union-attr]
    store.trips.delete(ids[1])  # a delete of a trip the server never had costs nothing...
    _agree(store, kept=False)  # ...but where it falls in the batches is the SQL's to say


def test_an_entry_waiting_for_its_retry_leaves_the_count_to_the_sql_unless_retried(
    store: Tracker,
) -> None:
    manual_trips(store, 3)
    [held] = claim(store, "pusher", 1, timedelta(minutes=5))
    later = store.now() + timedelta(hours=1)
    record(store, "pusher", {held.seq: Retry("TIMEOUT", "no answer", at=later)})
    assert _kept(store, 100, retry_waiting=False) is None  # the SQL knows which are due
    assert store.outbox.push_count(100).entries == 2
    assert _kept(store, 100) == _counted_in_batches(store, 100, retry_waiting=True)
    assert store.outbox.push_count(100, retry_waiting=True).entries == 3


def test_the_upgrade_counts_the_store_as_it_is_and_the_downgrade_forgets_it(
    store: Tracker,
) -> None:
    store.accounts.add(ACME)
    ids = manual_trips(store, 5)
    [held] = claim(store, "pusher", 1, timedelta(minutes=5))
    record(store, "pusher", {held.seq: Synced(remote_id="mlg_1")})
    with store.db.engine.connect() as conn, conn.begin():
        migrate(conn, "0024")  # no triggers: what happens now is counted by the upgrade
        assert not conn.exec_driver_sql("SELECT 1 FROM tally WHERE key LIKE 'pending:%'").all()
    store.trips.edit(held.trip_id, {"notes": "an update"})
    store.trips.delete(ids[1])
    manual_trips(store.for_account("acme"), 2)
    with store.db.engine.connect() as conn, conn.begin():
        migrate(conn, HEAD)
        kept = dict(conn.exec_driver_sql(PENDING_TALLY_SQL).all())
        counted = dict(conn.exec_driver_sql(PENDING_RECOUNT_SQL).all())
    assert {k: n for k, n in kept.items() if k.startswith("pending:") and n} == {
        "pending:save:new:": 3,
        "pending:save:known:": 1,
        "pending:delete:new:": 1,
        "pending:save:new:acme": 2,
    }
    assert kept["journal:open_trips"] == counted["journal:open_trips"] == 7  # a trip each
    assert store.outbox.push_count(2, retry_waiting=True) == _counted_in_batches(
        store, 2, retry_waiting=True
    )


def test_the_body_shown_is_the_body_sent_one_line_per_trip(
    capsys: pytest.CaptureFixture[str], cli_env: Path, store: Tracker
) -> None:
    manual_trips(store, 3)
    plan = run_json(capsys, "sync", "--push", "--dry-run")
    code, out, _ = run(capsys, "sync", "--push", "--dry-run")
    assert code == 0
    text = out.split("Content-Type: application/json\n", 1)[1].split("\n\n", 1)[0]
    assert json.loads(text) == plan["requests"][0]["body"]
    assert len(text.splitlines()) == 3 + 4  # "{", '"data": [', a line a trip, "]", "}"

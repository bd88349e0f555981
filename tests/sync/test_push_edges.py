"""Push edge cases: total deadline, unsendable stored rows, the rate budget, and the
``tracker sync`` command (exit codes, summary, --dry-run)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from sync.cli import main
from sync.sandbox import DEFAULT_TOKEN, Drip, ItemRule, Sandbox, SandboxServer, Status
from tests.helpers.remote import KEY, EngineFactory, push
from tests.helpers.store import BOTH_BACKENDS, claim, manual_trips
from tests.helpers.wait import retry_due
from tracker.store import Tracker

pytestmark = BOTH_BACKENDS  # the same push on a SQLite file and on PostgreSQL


@pytest.mark.slow
def test_a_dripping_server_is_cut_off_at_the_total_deadline(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    ids = manual_trips(store, 2)
    sandbox.add_fault(Drip(path="/v6/mileage", method="POST", chunk=1, interval=0.2))
    engine = make_engine(deadline=1.0, read_timeout=1.0, backoff_initial=30, backoff_max=30)
    started = time.monotonic()
    report = push(engine)
    elapsed = time.monotonic() - started
    assert elapsed < 4.0  # one deadline plus at most one read timeout, not minutes
    assert report.in_doubt == 2  # stored by the server, answer never completed
    assert all(store.trips.get(i).sync_state == "in_doubt" for i in ids)


@pytest.mark.tampers  # writes a row the tool would refuse, with plain SQL
def test_a_stored_row_that_cannot_be_sent_is_parked_not_blocking(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory, backend: str
) -> None:
    good = manual_trips(store, 3)
    (bad,) = manual_trips(store, 1)
    # Legacy/imported data that bypassed validation: a NaN in SQLite's text; PostgreSQL's json
    # refuses NaN but keeps a number too large for a float, read back as infinity.
    unsendable = '{"k": NaN}' if backend == "sqlite" else '{"k": 1e400}'
    with store.db.write() as session:
        session.connection().exec_driver_sql(
            "UPDATE trip SET custom_data = ? WHERE id = ?", (unsendable, bad)
        )
    report = push(make_engine())
    assert report.synced == 3
    assert [(p.trip_id, p.error_type) for p in report.parked] == [(bad, "LOCAL_INVALID")]
    assert sandbox.stored_count_by_custom(KEY, bad) == 0
    assert all(sandbox.stored_count_by_custom(KEY, g) == 1 for g in good)


def test_a_batch_whose_claims_were_taken_over_is_not_sent(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # Fleet mode: a worker whose claims expired while it waited (for the shared request
    # budget, say) must not send them: another worker owns them now and may send them too.
    ids = manual_trips(store, 3)
    taken: list[str] = []

    def take_over(point: str) -> None:
        if point == "after_claim" and not taken:
            with store.db.read() as s:
                (owner,) = (
                    s.connection()
                    .exec_driver_sql(
                        "SELECT DISTINCT lease_owner FROM journal WHERE state = 'in_flight'"
                    )
                    .one()
                )
            store.outbox.expire_claims(owner)
            taken.extend(c.trip_id for c in claim(store, "other-worker", 10, timedelta(minutes=5)))

    report = push(make_engine(hook=take_over))
    assert sorted(taken) == sorted(ids)
    assert sandbox.request_count("/v6/mileage", method="POST") == 0  # nothing went
    assert report.fenced == 3 and report.synced == 0
    with store.db.read() as s:
        owners = s.connection().exec_driver_sql("SELECT lease_owner FROM journal").scalars().all()
    assert owners == ["other-worker"] * 3  # still the other worker's, untouched


@pytest.mark.slow
def test_the_client_budget_prevents_429s(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    sandbox.rate.limit = 4
    sandbox.rate.window = 1.0
    ids = manual_trips(store, 12)
    # The same window as the server's: grants count from their answers, so the latency of
    # a loaded machine (a request arriving late) cannot put a fifth request in a window.
    engine = make_engine(batch_size=1, rate_limit=4, rate_window=1.0)
    started = time.monotonic()
    report = push(engine)
    assert report.synced == 12
    assert sandbox.request_count(status=429) == 0
    assert time.monotonic() - started >= 2.0  # 12 requests at 4 per second
    assert all(sandbox.stored_count_by_custom(KEY, i) == 1 for i in ids)


# ------------------------------------------------------------------------- the CLI
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, server: SandboxServer, home: Path) -> Path:
    monkeypatch.setenv("TRACKER_HOME", str(home))
    monkeypatch.setenv("TRACKER_MILEAGE_URL", server.tight_url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("TRACKER_MILEAGE_BACKOFF_INITIAL", "0.01")
    monkeypatch.setenv("TRACKER_MILEAGE_BACKOFF_MAX", "0.02")
    return home


def test_sync_command_exit_codes_and_summary(
    capsys: pytest.CaptureFixture[str], cli_env: Path, store: Tracker, sandbox: Sandbox
) -> None:
    manual_trips(store, 3)
    code, out, _ = _cli(capsys, "sync", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["push"]["synced"] == 3
    assert doc["journal"]["pending"] == 0
    sandbox.add_fault(ItemRule.description_contains("BAD"))
    manual_trips(store, 1, description="BAD one")
    code, out, _ = _cli(capsys, "sync")
    assert code == 65
    assert "INVALID_VALUE" in out
    assert "description" in out


def test_sync_command_temporary_and_auth_failures(
    capsys: pytest.CaptureFixture[str],
    cli_env: Path,
    store: Tracker,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manual_trips(store, 2)
    sandbox.add_fault(Status(status=503, path="/v6/mileage", times=None))
    code, _, _ = _cli(capsys, "sync", "--push")
    assert code == 75
    assert store.journal.counts().pending == 2
    sandbox.clear_faults()
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "tok_CANARY_123")
    code, out, err = _cli(capsys, "sync")
    assert code == 77
    assert "TRACKER_MILEAGE_TOKEN" in err
    assert "tok_CANARY_123" not in out + err
    monkeypatch.setenv("TRACKER_MILEAGE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TRACKER_MILEAGE_RETRIES", "0")
    code, _, _ = _cli(capsys, "sync")
    assert code == 75


def test_dry_run_shows_what_would_be_sent_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], cli_env: Path, store: Tracker, sandbox: Sandbox
) -> None:
    ids = manual_trips(store, 3)
    before = store.journal.counts()
    code, out, _ = _cli(capsys, "sync", "--dry-run", "--json")
    assert code == 0
    plan = json.loads(out)
    # No flag: both directions, so the pull's first request comes first (nothing is sent).
    (request,) = [r for r in plan["requests"] if not r.get("pull")]
    assert request["method"] == "POST"
    assert request["headers"]["Authorization"] == "Bearer ***"
    assert [item["customData"][KEY] for item in request["body"]["data"]] == ids
    assert DEFAULT_TOKEN not in out
    assert sandbox.requests == []
    assert store.journal.counts() == before
    code, out, _ = _cli(capsys, "sync", "--push", "--dry-run")
    assert "1 request(s) would be sent" in out
    assert os.environ["TRACKER_MILEAGE_TOKEN"] not in out
    # The text shows what would go on the wire too: headers (redacted) and the body.
    assert "Authorization: Bearer ***" in out
    body = out.split("Content-Type: application/json\n", 1)[1].split("\n\n", 1)[0]
    assert [item["customData"][KEY] for item in json.loads(body)["data"]] == ids


def test_only_item_errors_count_toward_giving_up(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    (flaky,) = manual_trips(store, 1, description="always fails")
    (outage,) = manual_trips(store, 1, description="fine")
    sandbox.add_fault(
        ItemRule.description_contains("always", error_type="UNKNOWN_ERROR", status_code=500)
    )
    engine = make_engine(max_attempts=2)
    for _ in range(3):
        push(engine)
        assert retry_due(store)
    (parked,) = store.parked.list()
    assert (parked.trip_id, parked.error_type) == (flaky, "GAVE_UP")
    assert "UNKNOWN_ERROR" in (parked.error_message or "")
    assert store.trips.get(outage).sync_state == "synced"
    # A whole-request outage, however long, never parks anything.
    (later,) = manual_trips(store, 1)
    sandbox.add_fault(Status(status=503, path="/v6/mileage", times=None))
    for _ in range(4):
        push(make_engine(max_attempts=2, retries=0))
        assert retry_due(store)
    assert store.trips.get(later).sync_state == "pending"


def test_named_hook_points_fire_in_order(store: Tracker, make_engine: EngineFactory) -> None:
    manual_trips(store, 1)
    points: list[str] = []
    push(make_engine(hook=points.append))
    assert points == ["after_claim", "after_send", "after_response", "before_commit"]


# ----------------------------------------------------------------------------- the pipeline
@pytest.mark.slow
def test_a_failure_while_a_batch_is_on_the_wire_loses_and_duplicates_nothing(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    """The claim of the next batch fails (here: the hook raises, as an interrupt would)
    while batch 1 is being sent: batch 1 goes back in doubt, batch 2's claim runs out, and
    the next runs reconcile and send each trip exactly once."""
    ids = manual_trips(store, 25)
    claims = 0

    def hook(point: str) -> None:
        nonlocal claims
        if point == "after_claim":
            claims += 1
            if claims == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        push(make_engine(hook=hook, batch_size=10, lease_seconds=1.0))
    first = store.journal.counts()
    assert first.synced == 0
    assert first.in_doubt == 10  # batch 1: sent, answer never recorded
    assert first.in_flight == 10  # batch 2: claimed ahead, its lease runs out
    assert sandbox.request_count("/v6/mileage", method="POST") == 1
    time.sleep(1.2)
    report = push(make_engine(batch_size=10))
    assert report.reconciled_found == 10
    assert store.journal.counts().synced == 25
    counts = sandbox.stored_counts_by_custom(KEY)
    assert {i: counts[i] for i in ids} == dict.fromkeys(ids, 1)


def test_stop_mid_run_gives_the_batch_claimed_ahead_back(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    manual_trips(store, 30)
    stop = threading.Event()

    def hook(point: str) -> None:
        if point == "after_send":
            stop.set()  # a shutdown arrives while batch 1 is on the wire

    report = push(make_engine(hook=hook, batch_size=10), stop=stop)
    counts = store.journal.counts()
    assert (report.batches, counts.synced, counts.pending, counts.in_flight) == (1, 10, 20, 0)
    assert sandbox.request_count("/v6/mileage", method="POST") == 1
    pending = [
        e
        for t in store.trips.list()
        for e in store.journal.history(t.id)[0]
        if e.state == "pending"
    ]
    assert len(pending) == 20 and all(e.attempts == 0 and not e.in_doubt for e in pending)


def test_sync_by_hand_tries_waiting_changes_now_the_scheduler_waits(
    capsys: pytest.CaptureFixture[str],
    cli_env: Path,
    store: Tracker,
    sandbox: Sandbox,
    make_engine: EngineFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = manual_trips(store, 3)
    monkeypatch.setenv("TRACKER_MILEAGE_BACKOFF_INITIAL", "600")  # next try in >= 10 min
    monkeypatch.setenv("TRACKER_MILEAGE_BACKOFF_MAX", "600")
    sandbox.add_fault(Status(status=503, path="/v6/mileage", times=1))
    assert _cli(capsys, "sync", "--push")[0] == 75
    assert sandbox.request_count("/v6/mileage") == 1
    # The scheduler's run (what the daemon does) keeps to the retry time: nothing is sent.
    report = push(make_engine(backoff_initial=600, backoff_max=600))
    assert (report.requests, store.journal.counts().pending) == (0, 3)
    # The dry run shows what a sync by hand sends: the waiting changes.
    code, out, _ = _cli(capsys, "sync", "--push", "--dry-run", "--json")
    assert code == 0 and len(json.loads(out)["requests"]) == 1
    # `tracker sync` was asked for now: the waiting changes go now.
    assert _cli(capsys, "sync", "--push")[0] == 0
    assert store.journal.counts().synced == 3
    counts = sandbox.stored_counts_by_custom(KEY)
    assert {i: counts[i] for i in ids} == dict.fromkeys(ids, 1)

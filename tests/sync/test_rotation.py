"""Fleet mode: every account in turns (``sync.rotation``) against the loopback sandbox.

Turns are measured on a manual clock that each request moves by one second (the engine's
``after_send`` hook), so "a turn of 2.5 s" is exactly three requests, whatever the machine.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from sync.budget import RequestBudget
from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.rotation import RotatingEngine, _TurnEnd, engine_for, next_turn
from sync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxServer
from sync.settings import ScheduleSettings, Settings
from tests.helpers.cli import run as cli
from tests.helpers.remote import KEY, fast_mileage
from tests.helpers.store import claim
from tracker.store import Tracker

DAY = "2026-11-20"


def test_the_next_turn_is_the_account_served_longest_ago() -> None:
    served = {None: 5.0, "acme": 1.0, "beta": 3.0}
    due = {"beta": 10, None: 10, "acme": 10}
    assert next_turn(due, served) == "acme"
    assert next_turn({"beta": 10, None: 1}, served) == "beta"
    # An account whose first change just arrived has never been served: it goes next.
    assert next_turn({**due, "new": 500}, served) == "new"
    # A worker that never served any: the smallest backlog first, then the implicit
    # account, then by name.
    assert next_turn({"big": 25_000, "quiet": 1, None: 300}, {}) == "quiet"
    assert next_turn({"zed": 2, None: 2, "new": 2}, {}) is None
    assert next_turn({"zed": 2, "new": 2}, {}) == "new"


def add_account(store: Tracker, name: str, secret: Path) -> None:
    store.accounts.add(
        {
            "name": name,
            "tight_client_id": DEFAULT_CLIENT_ID,
            "tight_user_id": f"user-{name}",
            "tight_secret_ref": f"file:{secret}",
        }
    )


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text(DEFAULT_CLIENT_SECRET)
    return path


def rotating(
    home: Path, store: Tracker, server: SandboxServer, **mileage: object
) -> RotatingEngine:
    clock = ManualClock()
    settings = Settings(
        home=home,
        mileage=fast_mileage(server.tight_url, **mileage),
        schedule=ScheduleSettings(account_turn=2.5),
        sync_accounts="all",
    )
    engine = engine_for(settings, store, clock=clock, hook=lambda point: clock.advance(1.0))
    assert isinstance(engine, RotatingEngine)
    return engine


def test_a_quiet_accounts_trip_waits_one_turn_not_the_backlog(
    home: Path, store: Tracker, server: SandboxServer, sandbox: Sandbox, secret: Path
) -> None:
    add_account(store, "acme", secret)
    add_account(store, "beta", secret)
    big = [store.trips.add({"date": DAY, "distance": "1"}, account="acme").id for _ in range(50)]
    (quiet,) = [store.trips.add({"date": DAY, "distance": "2"}, account="beta").id]
    mine = store.trips.add({"date": DAY, "distance": "3"}).id  # the implicit account's
    with rotating(home, store, server, batch_size=5) as engine:
        report = engine.run(push=True, pull=False)
    assert report.failures == {}
    assert report.push is not None and report.push.synced == 52
    # A turn ends between batches: nothing was cut in flight, nothing left for later.
    assert (report.push.in_doubt, report.push.retried, report.push.stopped) == (0, 0, None)
    assert set(report.accounts) == {"default", "acme", "beta"}
    created = [d.item["customData"][KEY] for d in sandbox.deliveries if d.outcome == "created"]
    assert sorted(created) == sorted([*big, quiet, mine])
    # The small backlogs first (the implicit account's one trip, then beta's), then acme's
    # 50 in turns: the quiet trip does not wait for the backlog.
    assert created.index(mine) == 0
    assert created.index(quiet) == 1
    for trip_id in [*big, quiet]:
        remote = store.trips.get(trip_id).remote_id
        assert remote is not None
        owner = sandbox.owner_of(remote)
        assert owner == ("user-beta" if trip_id == quiet else "user-acme")


def test_an_account_that_cannot_sync_fails_alone(
    home: Path, store: Tracker, server: SandboxServer, sandbox: Sandbox, secret: Path
) -> None:
    add_account(store, "acme", secret)
    store.accounts.add({"name": "gone", "tight_token_ref": "env:TRACKER_TEST_NO_SUCH_VAR"})
    store.trips.add({"date": DAY, "distance": "1"}, account="gone")
    store.trips.add({"date": DAY, "distance": "2"}, account="acme")
    store.accounts.add({"name": "off", "tight_token_ref": "env:TRACKER_TEST_NO_SUCH_VAR"})
    store.trips.add({"date": DAY, "distance": "3"}, account="off")
    store.accounts.disable("off")  # disabled: not even tried
    with rotating(home, store, server) as engine:
        report = engine.run(push=True, pull=False)
    assert list(report.failures) == ["push:gone"]
    assert "TRACKER_TEST_NO_SUCH_VAR" in str(report.failures["push:gone"])
    assert report.push is not None and report.push.synced == 1
    assert store.accounts.get("gone").pending == 1 and store.accounts.get("off").pending == 1
    assert len(sandbox.records) == 1


def test_tracker_sync_with_every_account(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    store: Tracker,
    server: SandboxServer,
    secret: Path,
) -> None:
    add_account(store, "acme", secret)
    store.trips.add({"date": DAY, "distance": "1"}, account="acme")
    store.trips.add({"date": DAY, "distance": "2"})
    monkeypatch.setenv("TRACKER_HOME", str(home))
    monkeypatch.setenv("TRACKER_MILEAGE_URL", server.tight_url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "sandbox-token")
    code, _, err = cli(capsys, "sync", "--push")  # the implicit account's work only
    assert code == 0, err
    assert store.accounts.get("acme").pending == 1
    monkeypatch.setenv("TRACKER_SYNC_ACCOUNTS", "all")
    code, out, err = cli(capsys, "sync", "--push", "--json")
    assert code == 0, err
    assert store.accounts.get("acme").pending == 0
    assert '"acme"' in out


def test_a_plain_engine_without_the_setting(home: Path, store: Tracker) -> None:
    settings = Settings(home=home)
    engine = engine_for(settings, store)
    assert type(engine) is SyncEngine
    engine.close()


def test_a_dead_workers_claims_come_back_to_their_account(
    home: Path, store: Tracker, server: SandboxServer, sandbox: Sandbox, secret: Path
) -> None:
    # Only in-flight entries, claimed by a worker that died (lease already over): no account
    # has anything pending, yet the rotation must release them and push them.
    add_account(store, "acme", secret)
    for _ in range(3):
        store.trips.add({"date": DAY, "distance": "1"}, account="acme")
    assert len(claim(store.for_account("acme"), "dead-worker", 10, timedelta(0))) == 3
    with rotating(home, store, server) as engine:
        report = engine.run(push=True, pull=False)
    assert report.push is not None and report.push.synced == 3
    assert store.accounts.get("acme").pending == 0


def test_a_trip_that_arrives_during_a_backlog_goes_after_one_turn(
    home: Path, store: Tracker, server: SandboxServer, sandbox: Sandbox, secret: Path
) -> None:
    add_account(store, "acme", secret)
    add_account(store, "beta", secret)
    for _ in range(50):
        store.trips.add({"date": DAY, "distance": "1"}, account="acme")
    arrived: list[str] = []
    clock = ManualClock()

    def moved(point: str) -> None:
        clock.advance(1.0)
        if point == "after_send" and not arrived and sandbox.request_count("/v6/mileage") == 2:
            arrived.append(store.trips.add({"date": DAY, "distance": "2"}, account="beta").id)

    settings = Settings(
        home=home,
        mileage=fast_mileage(server.tight_url, batch_size=5),
        schedule=ScheduleSettings(account_turn=2.5),
        sync_accounts="all",
    )
    with engine_for(settings, store, clock=clock, hook=moved) as engine:
        report = engine.run(push=True, pull=False)
    assert report.push is not None and report.push.synced == 51
    created = [d.item["customData"][KEY] for d in sandbox.deliveries if d.outcome == "created"]
    # It arrived during acme's first turn (after its second batch): it goes when that turn
    # ends, before the rest of acme's 50.
    assert 10 <= created.index(arrived[0]) <= 15


class CreepingClock(ManualClock):
    """Each reading of the monotonic clock takes 10 ms: a loaded machine, on which a turn
    of 5 ms is over before the account's run has claimed anything."""

    def monotonic(self) -> float:
        self.advance(0.01)
        return super().monotonic()


def test_a_turn_over_before_its_first_request_still_sends_a_batch(
    home: Path, store: Tracker, server: SandboxServer, secret: Path
) -> None:
    """A slow start (the account's first engine, its lease, a connection) must not leave
    its turn empty: the quiet account's trip would then wait a whole round of turns."""
    add_account(store, "acme", secret)
    add_account(store, "quiet", secret)
    for _ in range(30):
        store.trips.add({"date": DAY, "distance": "1"}, account="acme")
    quiet = store.trips.add({"date": DAY, "distance": "2"}, account="quiet").id
    settings = Settings(
        home=home,
        mileage=fast_mileage(server.tight_url, batch_size=10),
        schedule=ScheduleSettings(account_turn=0.005),
        sync_accounts="all",
    )
    with engine_for(settings, store, clock=CreepingClock()) as engine:
        report = engine.run(push=True)
    assert report.push is not None and report.push.synced == 31
    # One batch a turn: the quiet account's trip went in the first (the smaller backlog).
    assert store.trips.get(quiet).remote_id is not None
    assert report.accounts["quiet"].push is not None
    assert report.accounts["quiet"].push.synced == 1


def test_a_turn_over_before_its_first_request_ends_when_the_budget_is_spent() -> None:
    clock = ManualClock()
    budget = RequestBudget(limit=1, window=60.0, clock=clock)
    turn = _TurnEnd(None, clock, clock.monotonic() + 1.0, budget)
    assert not turn.is_set()
    clock.advance(2.0)
    assert not turn.is_set()  # over, but nothing claimed yet and the budget has room
    assert budget.try_acquire()
    assert turn.is_set()  # the account cannot send now anyway: the next account's turn
    other = _TurnEnd(None, clock, clock.monotonic() + 1.0, RequestBudget(clock=clock))
    other.sent()
    assert not other.is_set()
    clock.advance(1.0)
    assert other.is_set()  # a request went out: the turn ends on time
    stop = threading.Event()
    stopped = _TurnEnd(stop, clock, clock.monotonic() + 100.0, RequestBudget(clock=clock))
    stop.set()
    assert stopped.is_set()  # the run's own stop ends it at once

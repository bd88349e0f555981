"""Fleet mode: every account in turns (``sync.rotation``) against the loopback sandbox.

Turns are measured on a manual clock that each request moves by one second (the engine's
``after_send`` hook), so "a turn of 2.5 s" is exactly three requests, whatever the machine.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.rotation import RotatingEngine, engine_for, next_turn
from sync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxServer
from sync.settings import ScheduleSettings, Settings
from tests.helpers.cli import run as cli
from tests.helpers.remote import KEY, fast_mileage
from tests.helpers.store import claim
from tracker.store import Tracker

DAY = "2026-11-20"


def test_the_next_turn_is_the_account_served_longest_ago() -> None:
    served = {None: 5.0, "acme": 1.0, "beta": 3.0}
    assert next_turn(["beta", None, "acme"], served) == "acme"
    assert next_turn(["beta", None], served) == "beta"
    # An account whose first change just arrived has never been served: it goes next.
    assert next_turn(["beta", None, "acme", "new"], served) == "new"
    # Never served, both: the implicit account first, then by name.
    assert next_turn(["zed", None, "new"], {}) is None
    assert next_turn(["zed", "new"], {}) == "new"


class InOrder(random.Random):
    """Orders a worker's first round by name, the implicit account first (each worker's
    first round is in a random order): the order the assertions follow."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def random(self) -> float:
        self.calls += 1
        return 1.0 - self.calls / 1000  # decreasing: the first asked is served first


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
    engine = engine_for(
        settings, store, clock=clock, hook=lambda point: clock.advance(1.0), rng=InOrder()
    )
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
    # The implicit account's one trip, acme's first turn (its token and at most three
    # batches of 5), then beta's: one turn, not acme's backlog of 50.
    assert created.index(mine) == 0
    assert 1 + 5 <= created.index(quiet) <= 1 + 15
    assert len(created) - created.index(quiet) > 30  # most of acme's came after it
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

"""Accounts against the sandbox over loopback: each account's run sends its own trips with
its own token (minted for its userId, its secret read from a file the store only names), and
no pull of one account adopts or copies another account's records.

The sandbox shows each token the records of its userId only, and a token minted without
one (a partner-level token, like the static token of the implicit account here) every record:
what Tight documents (api-facts 1.6).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.errors import ConfigError
from sync.report import SyncReport
from sync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxServer
from sync.settings import Settings
from tests.helpers.remote import KEY, fast_mileage, save_item
from tracker.errors import NotFoundError, StateError
from tracker.store import Tracker

DAY = "2026-11-20"  # inside the default pull window
USERS = {"acme": "user-acme", "beta": "user-beta"}


@pytest.fixture
def settings(home: Path, server: SandboxServer) -> Settings:
    return Settings(home=home, mileage=fast_mileage(server.tight_url))


@pytest.fixture
def accounts(store: Tracker, tmp_path: Path) -> dict[str, str]:
    """Two accounts of one platform client, a token per user; the secret in a file."""
    secret = tmp_path / "client-secret"
    secret.write_text(DEFAULT_CLIENT_SECRET + "\n")
    for name, user in USERS.items():
        store.accounts.add(
            {
                "name": name,
                "tight_client_id": DEFAULT_CLIENT_ID,
                "tight_user_id": user,
                "tight_secret_ref": f"file:{secret}",
            }
        )
    return USERS


@pytest.fixture
def engines(
    settings: Settings, store: Tracker, accounts: dict[str, str]
) -> Iterator[dict[str | None, SyncEngine]]:
    built: dict[str | None, SyncEngine] = {None: SyncEngine(settings, store)}
    for name in accounts:
        built[name] = SyncEngine(settings, store, account=name)
    yield built
    for engine in built.values():
        engine.close()


def run(engine: SyncEngine, *, push: bool = True) -> SyncReport:
    report = engine.run(push=push, pull=True, retry_waiting=True)
    report.raise_for_failure()
    return report


def trips_of(store: Tracker, account: str | None, n: int) -> list[str]:
    view = store if account is None else store.for_account(account)
    return [view.trips.add({"date": DAY, "distance": f"{i + 1}"}).id for i in range(n)]


def test_each_account_pushes_its_own_trips_with_its_own_token(
    store: Tracker, sandbox: Sandbox, engines: dict[str | None, SyncEngine]
) -> None:
    mine = {None: trips_of(store, None, 3), "acme": trips_of(store, "acme", 4)}
    mine["beta"] = trips_of(store, "beta", 2)
    for account in ("acme", "beta", None):
        report = run(engines[account])
        assert report.push is not None and report.push.synced == len(mine[account])
        assert report.push.parked == []
    for account, ids in mine.items():
        owner = None if account is None else USERS[account]
        for trip_id in ids:
            remote_id = store.trips.get(trip_id).remote_id
            assert remote_id is not None
            # Created with the account's own token: the record is its user's.
            assert sandbox.owner_of(remote_id) == owner
    assert len(sandbox.records) == 9
    # Each account's budget is its own (one window per identity in the store).
    keys = {engine.budget._shape.key for engine in engines.values()}
    assert len(keys) == 3


def test_no_pull_adopts_or_copies_another_accounts_records(
    store: Tracker, sandbox: Sandbox, engines: dict[str | None, SyncEngine]
) -> None:
    acme = trips_of(store, "acme", 2)
    beta = trips_of(store, "beta", 1)
    run(engines["acme"])
    run(engines["beta"])
    # The implicit account's partner-level token sees every record: none is taken.
    report = run(engines[None], push=False)
    assert report.mileage is not None
    assert (report.mileage.created, report.mileage.adopted, report.mileage.others) == (0, 0, 3)
    # A record of beta's user carrying one of acme's local ids is not acme's trip, and beta's
    # pull does not copy it either (it is acme's trip by its local id).
    sandbox.add_record(save_item(acme[0], date=DAY), owner=USERS["beta"])
    # A record made by acme's user elsewhere (their phone) is acme's new trip.
    sandbox.add_record(
        save_item("phone-1", date=DAY, description="from the phone"), owner=USERS["acme"]
    )
    beta_pull = run(engines["beta"], push=False).mileage
    assert beta_pull is not None and (beta_pull.created, beta_pull.others) == (0, 1)
    acme_pull = run(engines["acme"], push=False).mileage
    assert acme_pull is not None and acme_pull.created == 1
    counts = {a.name: a.trips for a in store.accounts.list()}
    assert counts == {"default": 0, "acme": 3, "beta": 1}
    phone = [t for t in store.trips.list() if t.id not in acme + beta]
    assert [t.description for t in phone] == ["from the phone"]
    assert store.trips.get(beta[0]).sync_state == "synced"


def test_a_disabled_or_unknown_account_is_refused_before_anything_is_sent(
    store: Tracker, sandbox: Sandbox, settings: Settings, accounts: dict[str, str]
) -> None:
    store.accounts.disable("acme")
    with pytest.raises(StateError, match="disabled"):
        SyncEngine(settings, store, account="acme")
    with pytest.raises(NotFoundError):
        SyncEngine(settings, store, account="nope")
    store.accounts.add({"name": "gone", "tight_token_ref": "env:TRACKER_TEST_NO_SUCH_VAR"})
    with pytest.raises(ConfigError, match="TRACKER_TEST_NO_SUCH_VAR is not set"):
        SyncEngine(settings, store, account="gone")
    assert sandbox.requests == []


def test_the_token_reference_is_read_at_each_engine(
    store: Tracker, sandbox: Sandbox, settings: Settings, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("not-a-token")
    store.accounts.add({"name": "solo", "tight_token_ref": f"file:{token}"})
    (trip,) = trips_of(store, "solo", 1)
    with SyncEngine(settings, store, account="solo") as engine:
        report = engine.run(push=True, pull=False)
    assert "push" in report.failures  # refused: 401
    token.write_text(sandbox.issue_token(user_id="user-solo"))  # rotated in place
    with SyncEngine(settings, store, account="solo") as engine:
        pushed = run(engine, push=True)
    assert pushed.push is not None and pushed.push.synced == 1
    remote_id = store.trips.get(trip).remote_id
    assert remote_id is not None and sandbox.owner_of(remote_id) == "user-solo"
    assert KEY in (sandbox.record(remote_id) or {}).get("customData", {})

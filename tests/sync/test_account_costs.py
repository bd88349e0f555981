"""Costs per account (fleet mode) against the sandbox over loopback: an account with a costs
token pulls its own user's list with its own token; its walk marks, links and quarantines its
own costs only; one without a token pulls no costs.

The sandbox serves each costs user added with ``add_costs_user`` its own list (the platform's
list is "the current user's", api-facts 2) and every other costs token the shared list.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.events import Progress
from sync.report import SyncReport
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxServer
from sync.settings import CostsSettings, Settings
from tests.helpers.remote import fast_mileage
from tests.helpers.store import BOTH_BACKENDS
from tracker.store import Tracker

pytestmark = BOTH_BACKENDS  # the same rules on a SQLite file and on PostgreSQL

DAY = "2026-11-20"
COSTS_TOKENS = {"acme": "costs-acme", "beta": "costs-beta"}


@pytest.fixture
def settings(home: Path, server: SandboxServer) -> Settings:
    return Settings(
        home=home,
        mileage=fast_mileage(server.tight_url),
        costs=CostsSettings(url=server.costs_url, token=DEFAULT_TOKEN),
    )


@pytest.fixture
def accounts(
    store: Tracker, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """acme and beta with a costs token each (acme's from the environment, beta's from a
    file), gamma without one; Tight through the sandbox's static token."""
    tight = tmp_path / "tight-token"
    tight.write_text(DEFAULT_TOKEN)
    beta_costs = tmp_path / "beta-costs"
    beta_costs.write_text(COSTS_TOKENS["beta"] + "\n")
    monkeypatch.setenv("ACME_COSTS", COSTS_TOKENS["acme"])
    refs = {"acme": "env:ACME_COSTS", "beta": f"file:{beta_costs}", "gamma": None}
    for name, ref in refs.items():
        data = {"name": name, "tight_token_ref": f"file:{tight}"}
        if ref is not None:
            data["costs_token_ref"] = ref
        store.accounts.add(data)
    for token in COSTS_TOKENS.values():
        sandbox.add_costs_user(token)


@pytest.fixture
def engines(
    settings: Settings, store: Tracker, accounts: None
) -> Iterator[dict[str | None, SyncEngine]]:
    built: dict[str | None, SyncEngine] = {None: SyncEngine(settings, store)}
    for name in ("acme", "beta", "gamma"):
        built[name] = SyncEngine(settings, store, account=name)
    yield built
    for engine in built.values():
        engine.close()


def pull(engine: SyncEngine) -> SyncReport:
    report = engine.run(push=False, pull=True)
    report.raise_for_failure()
    return report


def ids(store: Tracker, account: str | None) -> set[int]:
    view = store if account is None else store.for_account(account)
    return {cost.id for cost in view.costs.list()}


def test_each_account_pulls_its_own_users_costs_with_its_own_token(
    store: Tracker, sandbox: Sandbox, engines: dict[str | None, SyncEngine]
) -> None:
    shared = {c["ID"] for c in sandbox.seed_costs(4, seed=1)}
    acme = {c["ID"] for c in sandbox.seed_costs(5, seed=2, token=COSTS_TOKENS["acme"])}
    beta = {c["ID"] for c in sandbox.seed_costs(3, seed=3, token=COSTS_TOKENS["beta"])}
    for account, expected in ((None, shared), ("acme", acme), ("beta", beta)):
        report = pull(engines[account])
        assert report.costs is not None and report.costs.inserted == len(expected)
        assert report.costs.complete
    assert ids(store, "acme") == acme and ids(store, "beta") == beta
    assert ids(store, None) == shared | acme | beta  # the whole store
    assert store.for_account("acme").costs.counts().total == len(acme)
    assert store.for_account("acme").costs.pull_status() is not None
    # gamma has no costs token: its run has no costs step at all.
    assert engines["gamma"].run(push=False, pull=True).costs is None


def test_one_accounts_walk_marks_only_its_own_costs_not_seen(
    store: Tracker, sandbox: Sandbox, engines: dict[str | None, SyncEngine]
) -> None:
    shared = [c["ID"] for c in sandbox.seed_costs(3, seed=1)]
    acme = [c["ID"] for c in sandbox.seed_costs(3, seed=2, token=COSTS_TOKENS["acme"])]
    for account in (None, "acme"):
        pull(engines[account])
    # acme's list loses one cost; the implicit account's walk does not list acme's at all.
    sandbox.remove_cost(acme[0], token=COSTS_TOKENS["acme"])
    report = pull(engines[None])
    assert report.costs is not None and report.costs.marked_not_seen == 0
    report = pull(engines["acme"])
    assert report.costs is not None and report.costs.marked_not_seen == 1
    unseen = {c.id for c in store.costs.list() if not c.seen_in_last_pull}
    assert unseen == {acme[0]}
    assert {c.id for c in store.costs.list()} >= set(shared)


def test_costs_link_to_their_own_accounts_trips_only(
    store: Tracker, sandbox: Sandbox, engines: dict[str | None, SyncEngine]
) -> None:
    acme_trip = store.for_account("acme").trips.add({"date": DAY, "distance": "5"}).id
    beta_trip = store.for_account("beta").trips.add({"date": DAY, "distance": "7"}).id
    acme_token = COSTS_TOKENS["acme"]
    mine = sandbox.seed_costs(1, seed=4, trip_guids=[acme_trip], token=acme_token)[0]
    # A cost in acme's list naming beta's trip (a platform mix-up): acme may not link it.
    foreign = sandbox.seed_costs(1, seed=5, trip_guids=[beta_trip], token=acme_token)[0]
    report = pull(engines["acme"])
    assert report.costs is not None
    assert (report.costs.linked_by_guid, report.costs.unlinked) == (1, 1)
    assert store.costs.get(mine["ID"]).trip_id == acme_trip
    assert store.costs.get(foreign["ID"]).trip_id is None


def test_a_cost_another_account_holds_is_left_alone(
    store: Tracker, sandbox: Sandbox, engines: dict[str | None, SyncEngine]
) -> None:
    cost = sandbox.seed_costs(1, seed=6, token=COSTS_TOKENS["acme"])[0]
    pull(engines["acme"])
    # The same cost (same platform ID) seen through beta's token, changed: not beta's to take.
    sandbox.add_cost({**cost, "Amount": Decimal("99.00")}, token=COSTS_TOKENS["beta"])
    report = pull(engines["beta"])
    assert report.costs is not None
    assert (report.costs.others, report.costs.inserted, report.costs.updated) == (1, 0, 0)
    assert (
        store.for_account("acme").costs.get(cost["ID"]).amount == store.costs.get(cost["ID"]).amount
    )
    assert str(store.costs.get(cost["ID"]).amount) != "99.00"
    assert ids(store, "beta") == set()


def test_two_accounts_pulls_interleaved_keep_each_walk(
    store: Tracker, sandbox: Sandbox, settings: Settings, engines: dict[str | None, SyncEngine]
) -> None:
    """An account's pull started while another's is under way (stopped after a page) does not
    forget what the first walk read: its resumed walk marks nothing it read as not seen."""
    acme = [c["ID"] for c in sandbox.seed_costs(6, seed=7, token=COSTS_TOKENS["acme"])]
    sandbox.seed_costs(2, seed=8, token=COSTS_TOKENS["beta"])
    small = settings.model_copy(
        update={"costs": settings.costs.model_copy(update={"page_size": 2})}
    )
    stop = threading.Event()

    def after_a_page(event: object) -> None:
        if isinstance(event, Progress):
            stop.set()

    with SyncEngine(small, store, account="acme", listener=after_a_page) as first:
        report = first.run(push=False, pull=True, stop=stop)
    assert report.costs is not None and report.costs.pages == 1
    assert not report.costs.complete
    pull(engines["beta"])  # starts (and ends) beta's run meanwhile
    with SyncEngine(small, store, account="acme") as again:
        report = again.run(push=False, pull=True)
    report.raise_for_failure()
    assert report.costs is not None and report.costs.complete
    assert report.costs.marked_not_seen == 0
    assert ids(store, "acme") == set(acme)


def test_refreshing_another_accounts_cost_leaves_it_alone(
    store: Tracker, sandbox: Sandbox, engines: dict[str | None, SyncEngine]
) -> None:
    cost = sandbox.seed_costs(1, seed=9, token=COSTS_TOKENS["acme"])[0]
    pull(engines["acme"])
    sandbox.add_cost({**cost, "Amount": Decimal("5.00")}, token=COSTS_TOKENS["beta"])
    result = engines["beta"].refresh_cost(cost["ID"])
    assert result.outcome == "others"
    assert store.costs.get(cost["ID"]).account == "acme"
    assert store.costs.get(cost["ID"]).amount != Decimal("5.00")

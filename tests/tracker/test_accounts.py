"""Accounts (fleet mode): credentials by reference only, trips that belong to one account,
and an outbox that gives each account's run that account's changes only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers.migrations import migrate
from tests.helpers.store import claim, manual_trips
from tracker.accounts import IMPLICIT_ACCOUNT
from tracker.errors import InvalidInputError, NotFoundError, StateError
from tracker.schema import HEAD
from tracker.store import Tracker

ACME = {
    "name": "acme",
    "tight_client_id": "client-1",
    "tight_user_id": "user-acme",
    "tight_secret_ref": "env:ACME_SECRET",
}


@pytest.fixture
def store(tmp_path: Path) -> Tracker:
    with Tracker.open(tmp_path / "tracker.db", timezone="UTC") as opened:
        yield opened


def test_an_account_keeps_references_never_secrets(store: Tracker) -> None:
    added = store.accounts.add(ACME)
    assert (added.name, added.tight_secret_ref, added.active) == ("acme", "env:ACME_SECRET", True)
    store.accounts.add({"name": "beta", "tight_token_ref": "file:/run/secrets/beta"})
    for ref in ("hunter2", "file:relative/path", "env:", "env:1BAD", "file:/"):
        with pytest.raises(InvalidInputError) as refused:
            store.accounts.add({**ACME, "name": "gamma", "tight_secret_ref": ref})
        assert "not the secret" in str(refused.value)
    names = [a.name for a in store.accounts.list()]
    assert names == [IMPLICIT_ACCOUNT, "acme", "beta"]  # the implicit one first


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({**ACME, "tight_token_ref": "env:T"}, "not both"),
        ({"name": "x", "tight_client_id": "c"}, "together"),
        ({**ACME, "name": IMPLICIT_ACCOUNT}, "implicit account"),
        ({**ACME, "name": "Has Space"}, "pattern"),
    ],
)
def test_an_account_needs_one_whole_way_in(store: Tracker, data: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        store.accounts.add(data)
    assert says in str(refused.value)
    assert [a.name for a in store.accounts.list()] == [IMPLICIT_ACCOUNT]


def test_names_are_unique_and_lookups_say_what_to_do(store: Tracker) -> None:
    store.accounts.add(ACME)
    with pytest.raises(InvalidInputError, match="exists"):
        store.accounts.add(ACME)
    with pytest.raises(NotFoundError, match="tracker account list"):
        store.accounts.get("nope")
    with pytest.raises(StateError, match="implicit"):
        store.accounts.disable(IMPLICIT_ACCOUNT)


def test_a_trip_belongs_to_an_active_account(store: Tracker) -> None:
    store.accounts.add(ACME)
    mine = store.trips.add({"date": "2026-03-01", "distance": "12"}, account="acme")
    store.trips.add({"date": "2026-03-01", "distance": "3"})
    with pytest.raises(InvalidInputError, match="add it with"):
        store.trips.add({"date": "2026-03-01", "distance": "1"}, account="nope")
    disabled = store.accounts.disable("acme")
    assert not disabled.active and disabled.trips == 1 and disabled.pending == 1
    with pytest.raises(InvalidInputError, match="is disabled"):
        store.trips.add({"date": "2026-03-02", "distance": "1"}, account="acme")
    with pytest.raises(StateError, match="is disabled"):
        store.accounts.active("acme")
    assert store.accounts.enable("acme").active
    # A view adds its account's trips; "default" is the implicit account.
    viewed = store.for_account("acme").trips.add({"date": "2026-03-03", "distance": "2"})
    counts = {a.name: (a.trips, a.pending) for a in store.accounts.list()}
    assert counts == {IMPLICIT_ACCOUNT: (1, 1), "acme": (2, 2)}
    assert store.accounts.get("acme").trips == 2
    assert mine.id != viewed.id
    with pytest.raises(NotFoundError):
        store.for_account("nope")


def test_each_accounts_outbox_claims_its_own_trips_only(store: Tracker) -> None:
    store.accounts.add(ACME)
    store.accounts.add({**ACME, "name": "beta", "tight_user_id": "user-beta"})
    implicit = set(manual_trips(store, 3))
    acme = set(manual_trips(store.for_account("acme"), 4))
    beta = set(manual_trips(store.for_account("beta"), 2))
    lease = timedelta(minutes=5)
    assert store.for_account("acme").outbox.due_count() == 4
    assert {c.trip_id for c in claim(store.for_account("acme"), "a", 100, lease)} == acme
    assert {c.trip_id for c in claim(store, "i", 100, lease)} == implicit
    beta_view = store.for_account("beta")
    assert beta_view.outbox.push_count(100).entries == 2
    assert {c.trip_id for c in beta_view.outbox.peek(100)} == beta
    assert {c.trip_id for c in claim(beta_view, "b", 100, lease)} == beta


def test_the_migration_goes_down_and_up_with_accounts_in_the_store(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    with Tracker.open(path, timezone="UTC") as store:
        store.accounts.add(ACME)
        store.trips.add({"date": "2026-03-01", "distance": "12"}, account="acme")
        for target in ("0020", HEAD):
            with store.db.engine.connect() as conn, conn.begin():
                migrate(conn, target)
        # Down dropped the account (a trip of none is the implicit account's), not the trip.
        assert [(a.name, a.trips) for a in store.accounts.list()] == [(IMPLICIT_ACCOUNT, 1)]


def test_a_bulk_import_gives_every_trip_to_its_account(store: Tracker) -> None:
    store.accounts.add(ACME)
    rows = [{"date": "2026-03-01", "distance": f"{i + 1}"} for i in range(5)]
    report = store.add_trips(rows, account="acme", chunk_size=2)
    assert report.added == 5
    assert store.for_account("acme").add_trips(rows[:1]).added == 1  # a view's default
    assert store.accounts.get("acme").pending == 6
    assert store.accounts.get(IMPLICIT_ACCOUNT).trips == 0
    store.accounts.disable("acme")
    with pytest.raises(InvalidInputError, match="disabled"):
        store.add_trips(rows, account="acme")
    assert store.accounts.get("acme").trips == 6

"""The history chain through the sync, against the sandbox on loopback: every way a pull and
a conflict change a trip's record here leaves a file that verifies clean, and the trip's
record names the change and what it changed (tracker.provenance). The push writes only
bookkeeping: the chain does not move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.sandbox import Sandbox, SandboxServer
from sync.settings import Settings
from tests.helpers.remote import fast_mileage
from tracker.store import Tracker

DAY = "2026-11-20"  # inside the default pull window


@pytest.fixture
def engine(home: Path, store: Tracker, server: SandboxServer) -> Iterator[SyncEngine]:
    built = SyncEngine(Settings(home=home, mileage=fast_mileage(server.tight_url)), store)
    yield built
    built.close()


def _sync(engine: SyncEngine) -> None:
    engine.run(push=True, pull=True, retry_waiting=True).raise_for_failure()


def _synced(store: Tracker, engine: SyncEngine, **fields: str) -> tuple[str, str]:
    trip = store.trips.add({"date": DAY, "distance": "12.5", **fields})
    _sync(engine)
    remote_id = store.trips.get(trip.id).remote_id
    assert remote_id is not None
    return trip.id, remote_id


def _clean(store: Tracker) -> str:
    result = store.verify_history()
    assert result.ok, result.findings
    return result.head


def test_a_push_leaves_the_chain_where_it_was(store: Tracker, engine: SyncEngine) -> None:
    trip = store.trips.add({"date": DAY, "distance": "12.5"})
    before = _clean(store)
    _sync(engine)
    assert store.trips.get(trip.id).remote_id is not None
    assert _clean(store) == before  # remote id, server copy, synced_at: bookkeeping


def test_a_change_on_the_server_is_a_link_naming_what_changed(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    trip_id, remote_id = _synced(store, engine, description="before")
    sandbox.edit_record(remote_id, {"description": "after", "mileageStatus": "BUSINESS"})
    _sync(engine)
    _clean(store)
    [change] = store.trips.provenance(trip_id).changes
    assert change.event == "changed on the server"
    assert change.fields == {
        "description": ("before", "after"),
        "classification": ("unclassified", "business"),
    }


def test_a_trip_made_on_the_server_is_pulled_with_its_first_link(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    made = sandbox.add_record(
        {"date": DAY, "distance": {"type": "MILE", "value": "7"}, "description": "from the app"}
    )
    _sync(engine)
    _clean(store)
    [trip] = store.trips.list()
    assert trip.remote_id == made
    record = store.trips.provenance(trip.id)
    assert (record.how, record.edited) == ("pulled from the server", False)


def test_a_delete_on_the_server_is_a_link(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    trip_id, remote_id = _synced(store, engine)
    assert sandbox.remove_record(remote_id)
    _sync(engine)
    _clean(store)
    [change] = store.trips.provenance(trip_id).changes
    assert change.event == "deleted on the server"
    assert change.fields["lifecycle"] == ("active", "deleted")


@pytest.mark.parametrize("take", ["local", "remote"])
def test_a_resolved_conflict_is_a_link(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox, take: str
) -> None:
    trip_id, remote_id = _synced(store, engine, description="base")
    sandbox.edit_record(remote_id, {"description": "theirs"})
    store.trips.edit(trip_id, {"description": "mine"})
    engine.run(push=True, pull=True)
    assert store.conflicts.count() == 1
    _clean(store)
    store.conflicts.resolve(trip_id, take)  # type: ignore[arg-type]
    _clean(store)
    _sync(engine)
    _clean(store)
    changes = store.trips.provenance(trip_id).changes
    assert [c.event for c in changes] == ["edited", "conflict resolved"]
    if take == "remote":
        assert changes[-1].fields == {"description": ("mine", "theirs")}
    else:
        assert changes[-1].fields == {}


@pytest.mark.parametrize("take", ["local", "remote"])
def test_a_resolved_delete_conflict_is_a_link(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox, take: str
) -> None:
    trip_id, remote_id = _synced(store, engine)
    sandbox.remove_record(remote_id)
    store.trips.edit(trip_id, {"notes": "edited offline"})
    engine.run(push=True, pull=True)
    store.conflicts.resolve(trip_id, take)  # type: ignore[arg-type]
    _sync(engine)
    _clean(store)
    last = store.trips.provenance(trip_id).changes[-1]
    assert last.event == "conflict resolved"
    assert ("lifecycle" in last.fields) == (take == "remote")

"""Two-way mileage sync against the sandbox over loopback: every case of the merge, asserted
on both sides (the local store and the records the sandbox stored).

The sandbox plays "another client" (Tight's app, an accountant, the user's other device)
through ``edit_record`` / ``remove_record`` / ``add_record``, exactly as its HTTP control
endpoints and ``tracker sandbox edit/remove`` do.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.errors import ProtocolError
from sync.events import ConflictFound, Progress, SyncEvent, TripPulled
from sync.report import SyncReport
from sync.sandbox import DEFAULT_TOKEN, Rewrite, Sandbox, SandboxServer, Status
from sync.settings import Settings
from sync.tight.fresh import FreshReads
from sync.tight.pull import PendingUpdate
from tests.helpers.remote import KEY, fast_mileage
from tests.helpers.store import BOTH_BACKENDS
from tests.helpers.wait import wait_for
from tracker.enums import SyncState
from tracker.store import Tracker
from tracker.views import TripView

DAY = "2026-11-20"  # inside the default window (from the start of the previous year)


def sync(engine: SyncEngine) -> SyncReport:
    """What ``tracker sync`` does: pull mileage, then push; failures raised."""
    report = engine.run(push=True, pull=True, retry_waiting=True)
    report.raise_for_failure()
    return report


def server_copy(sandbox: Sandbox, store: Tracker, trip_id: str) -> dict[str, Any]:
    remote_id = store.trips.get(trip_id).remote_id
    assert remote_id is not None
    record = sandbox.record(remote_id)
    assert record is not None
    return record


def by_local_id(sandbox: Sandbox) -> dict[str, list[str]]:
    """Local id -> the ids of the server records carrying it."""
    out: dict[str, list[str]] = {}
    for remote_id, record in sandbox.records.items():
        local = (record.get("customData") or {}).get(KEY)
        if local is not None:
            out.setdefault(local, []).append(remote_id)
    return out


@pytest.fixture
def engine(home: Path, store: Tracker, server: SandboxServer) -> Iterator[SyncEngine]:
    built = SyncEngine(Settings(home=home, mileage=fast_mileage(server.tight_url)), store)
    yield built
    built.close()


def synced_trip(store: Tracker, engine: SyncEngine, **fields: Any) -> str:
    trip = store.trips.add({"date": DAY, "distance": "12.5", **fields})
    sync(engine)
    assert store.trips.get(trip.id).sync_state == SyncState.SYNCED
    return trip.id


def miles(trip: TripView) -> Decimal:
    value = trip.distance / Decimal("1.609344") if trip.unit == "km" else trip.distance
    return value.quantize(Decimal("0.001"))


def pending_entries(store: Tracker) -> int:
    return store.journal.counts().pending


# ------------------------------------------------------------------- the lost update
@BOTH_BACKENDS
def test_lost_update_scenario_keeps_both_edits(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    """The issue's scenario: set BUSINESS and a note on the server, edit only the description
    here, sync: nothing of either side is lost."""
    trip_id = synced_trip(store, engine, description="visit")
    remote_id = store.trips.get(trip_id).remote_id
    assert remote_id is not None
    assert sandbox.record(remote_id)["mileageStatus"] == "PENDING"  # type: ignore[index]
    sandbox.edit_record(remote_id, {"mileageStatus": "BUSINESS", "notes": "from accountant"})
    store.trips.edit(trip_id, {"description": "client visit Milan"})

    report = sync(engine)

    assert report.push is not None and report.push.synced == 1
    stored = sandbox.record(remote_id)
    assert stored is not None
    assert stored["mileageStatus"] == "BUSINESS"
    assert stored["notes"] == "from accountant"
    assert stored["description"] == "client visit Milan"
    here = store.trips.get(trip_id)
    assert (here.classification, here.notes, here.description) == (
        "business",
        "from accountant",
        "client visit Milan",
    )
    assert here.sync_state == SyncState.SYNCED
    _, events = store.journal.history(trip_id)
    assert any("classified as business on the server" in (e.detail or "") for e in events)


@BOTH_BACKENDS
def test_server_normalisation_is_no_change(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    """km pushed as MILE, 12.5 vs 12.50, coordinates as strings, nested customer, expanded
    segments: reading it all back changes nothing and writes nothing."""
    car = store.cars.add({"name": "Golf", "remote_id": "car_1"})
    trip = store.trips.add(
        {
            "date": DAY,
            "distance": "12.50",
            "unit": "km",
            "description": "normalised",
            "customer_id": "cus_1",
            "class_segment_ids": ["cls_b", "cls_a"],
            "car_id": car.id,
            "start_time": "2026-11-20T08:00:00.123456+00:00",
            "end_time": "2026-11-20T12:00:00+00:00",
            "start": {"lat": 52.52, "lng": 13.405, "address": {"city": "Berlin"}},
            "end": {"lat": "48.1374", "lng": "11.5755"},
        }
    )
    sync(engine)
    stored = server_copy(sandbox, store, trip.id)
    assert stored["customer"]["id"] == "cus_1"  # the server's spelling is not ours
    before = store.trips.get(trip.id)
    seq = store.journal.counts()

    report = sync(engine)

    assert report.mileage is not None
    assert (report.mileage.unchanged, report.mileage.updated) == (1, 0)
    assert report.mileage.conflicts == []
    assert store.trips.get(trip.id).version == before.version
    assert store.journal.counts() == seq
    assert sandbox.record(stored["id"]) == stored


# ------------------------------------------------------------- server changes applied
@BOTH_BACKENDS
def test_server_edit_without_local_change_is_taken(
    store: Tracker, home: Path, server: SandboxServer, sandbox: Sandbox
) -> None:
    seen: list[SyncEvent] = []
    settings = Settings(home=home, mileage=fast_mileage(server.tight_url))
    with SyncEngine(settings, store, listener=seen.append) as engine:
        trip_id = synced_trip(store, engine, description="before")
        stored = server_copy(sandbox, store, trip_id)
        sandbox.edit_record(
            stored["id"],
            {
                "description": "after",
                "notes": "n",
                "distance": {"type": "MILE", "value": "20"},
                "date": "2026-11-21",
                "customerId": "cus_9",
            },
        )
        deliveries = len(sandbox.deliveries)
        report = sync(engine)
        assert report.mileage is not None and report.mileage.updated == 1
        here = store.trips.get(trip_id)
        assert (here.description, here.notes, here.customer_id) == ("after", "n", "cus_9")
        assert (str(here.date), here.unit, here.distance) == ("2026-11-21", "mile", 20)
        assert here.sync_state == SyncState.SYNCED
        assert pending_entries(store) == 0
        assert len(sandbox.deliveries) == deliveries  # nothing pushed back
        assert TripPulled(trip_id, "updated") in seen


@BOTH_BACKENDS
def test_clean_merge_of_changes_on_both_sides(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    """Different fields on each side merge; the same new value on both sides is no conflict."""
    trip_id = synced_trip(store, engine, description="d0", notes="n0")
    remote_id = server_copy(sandbox, store, trip_id)["id"]
    sandbox.edit_record(remote_id, {"notes": "n1", "description": "same"})
    store.trips.edit(trip_id, {"description": "same", "classification": "personal"})

    report = sync(engine)

    assert report.mileage is not None and report.mileage.conflicts == []
    stored = sandbox.record(remote_id)
    assert stored is not None
    assert (stored["notes"], stored["description"], stored["mileageStatus"]) == (
        "n1",
        "same",
        "NOT_BUSINESS",
    )
    here = store.trips.get(trip_id)
    assert (here.notes, here.description, here.classification) == ("n1", "same", "personal")
    assert store.conflicts.count() == 0


@BOTH_BACKENDS
def test_record_made_elsewhere_becomes_a_local_trip_and_is_not_pushed_back(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    other_device = "0c0ffee0-0000-4000-8000-000000000001"
    remote_id = sandbox.add_record(
        {
            "date": DAY,
            "mileageStatus": "BUSINESS",
            "description": "from the phone",
            "distance": {"type": "MILE", "value": "3.5"},
            "carId": "car_web1",
            "customData": {KEY: other_device, "app": "phone"},
        }
    )
    deliveries = len(sandbox.deliveries)

    report = sync(engine)

    assert report.mileage is not None and report.mileage.created == 1
    [trip] = [t for t in store.trips.list() if t.remote_id == remote_id]
    assert (trip.description, trip.classification, trip.origin) == (
        "from the phone",
        "business",
        "server",
    )
    assert trip.sync_state == SyncState.SYNCED
    assert pending_entries(store) == 0
    sync(engine)
    assert len(sandbox.deliveries) == deliveries  # never pushed back
    assert store.trips.count() == 1

    # A later local edit keeps the originating device's id, so its reconciliation finds it.
    store.trips.edit(trip.id, {"notes": "edited here"})
    sync(engine)
    stored = sandbox.record(remote_id)
    assert stored is not None
    assert stored["notes"] == "edited here"
    assert stored["customData"][KEY] == other_device
    assert stored["customData"]["app"] == "phone"
    assert stored["car"]["id"] == "car_web1"  # a car unknown here is kept, not taken off
    assert [c.remote_id for c in store.cars.list()] == ["car_web1"]
    assert len(sandbox.records) == 1


# ------------------------------------------------------------------------ conflicts
def conflicting(store: Tracker, engine: SyncEngine, sandbox: Sandbox) -> tuple[str, str]:
    trip_id = synced_trip(store, engine, description="base")
    remote_id = server_copy(sandbox, store, trip_id)["id"]
    sandbox.edit_record(remote_id, {"description": "theirs", "notes": "their note"})
    store.trips.edit(trip_id, {"description": "mine", "classification": "business"})
    return trip_id, remote_id


@BOTH_BACKENDS
def test_conflict_is_held_and_nothing_is_lost(
    store: Tracker, home: Path, server: SandboxServer, sandbox: Sandbox
) -> None:
    seen: list[SyncEvent] = []
    settings = Settings(home=home, mileage=fast_mileage(server.tight_url))
    with SyncEngine(settings, store, listener=seen.append) as engine:
        trip_id, remote_id = conflicting(store, engine, sandbox)
        report = engine.run(push=True, pull=True)
        assert report.mileage is not None and report.mileage.conflicts == [trip_id]
        assert ConflictFound(trip_id) in seen
        # What merged cleanly is applied on both sides; the conflicting field waits.
        stored = sandbox.record(remote_id)
        assert stored is not None
        assert (stored["description"], stored["notes"]) == ("theirs", "their note")
        assert stored["mileageStatus"] == "PENDING"  # the held change is not pushed
        here = store.trips.get(trip_id)
        assert (here.description, here.notes, here.classification) == (
            "mine",
            "their note",
            "business",
        )
        assert here.sync_state == SyncState.CONFLICT
        assert store.journal.counts().conflicts == 1
        [held] = store.conflicts.list()
        assert [(f.name, f.base, f.local, f.server) for f in held.fields] == [
            ("description", "base", "mine", "theirs")
        ]
        engine.run(push=True, pull=True)  # held again, not pushed, not lost
        assert sandbox.record(remote_id)["description"] == "theirs"  # type: ignore[index]
        assert store.conflicts.count() == 1


@BOTH_BACKENDS
@pytest.mark.parametrize("take", ["local", "remote"])
def test_conflict_resolved_either_way(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox, take: str
) -> None:
    trip_id, remote_id = conflicting(store, engine, sandbox)
    engine.run(push=True, pull=True)
    store.conflicts.resolve(trip_id, take)  # type: ignore[arg-type]
    assert store.conflicts.count() == 0

    sync(engine)

    want = "mine" if take == "local" else "theirs"
    stored = sandbox.record(remote_id)
    assert stored is not None
    assert stored["description"] == want
    assert stored["notes"] == "their note"
    assert stored["mileageStatus"] == "BUSINESS"  # the cleanly merged local change went out
    here = store.trips.get(trip_id)
    assert (here.description, here.sync_state) == (want, SyncState.SYNCED)
    assert pending_entries(store) == 0


@BOTH_BACKENDS
def test_conflict_resolved_per_field(store: Tracker, engine: SyncEngine, sandbox: Sandbox) -> None:
    trip_id = synced_trip(store, engine, description="base", notes="base note")
    remote_id = server_copy(sandbox, store, trip_id)["id"]
    sandbox.edit_record(remote_id, {"description": "theirs", "notes": "their note"})
    store.trips.edit(trip_id, {"description": "mine", "notes": "my note"})
    engine.run(push=True, pull=True)
    assert {f.name for f in store.conflicts.get(trip_id).fields} == {"description", "notes"}

    store.conflicts.resolve(trip_id, fields={"description": "local", "notes": "remote"})
    sync(engine)

    stored = sandbox.record(remote_id)
    assert stored is not None
    assert (stored["description"], stored["notes"]) == ("mine", "their note")
    here = store.trips.get(trip_id)
    assert (here.description, here.notes) == ("mine", "their note")


@BOTH_BACKENDS
@pytest.mark.parametrize("policy", ["local", "remote"])
def test_conflict_policies_decide_without_asking(
    store: Tracker, home: Path, server: SandboxServer, sandbox: Sandbox, policy: str
) -> None:
    settings = Settings(home=home, mileage=fast_mileage(server.tight_url), sync_conflicts=policy)
    with SyncEngine(settings, store) as engine:
        trip_id, remote_id = conflicting(store, engine, sandbox)
        sync(engine)
    assert store.conflicts.count() == 0
    want = "mine" if policy == "local" else "theirs"
    stored = sandbox.record(remote_id)
    assert stored is not None
    assert (stored["description"], stored["notes"], stored["mileageStatus"]) == (
        want,
        "their note",
        "BUSINESS",
    )
    assert store.trips.get(trip_id).description == want


# --------------------------------------------------------------------- server deletes
@BOTH_BACKENDS
def test_server_delete_is_applied_and_never_undone(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    trip_id = synced_trip(store, engine)
    remote_id = server_copy(sandbox, store, trip_id)["id"]
    assert sandbox.remove_record(remote_id)

    report = sync(engine)

    assert report.mileage is not None and report.mileage.deleted == 1
    here = store.trips.get(trip_id)
    assert (here.lifecycle, here.deleted_by) == ("deleted", "server")
    assert store.trips.count() == 0
    assert [t.id for t in store.trips.list(include_deleted=True)] == [trip_id]
    for _ in range(2):
        sync(engine)
    assert sandbox.records == {}
    assert pending_entries(store) == 0


@BOTH_BACKENDS
def test_server_delete_of_an_edited_trip_is_a_conflict(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    trip_id = synced_trip(store, engine)
    sandbox.remove_record(server_copy(sandbox, store, trip_id)["id"])
    store.trips.edit(trip_id, {"notes": "edited offline"})

    engine.run(push=True, pull=True)

    held = store.conflicts.get(trip_id)
    assert held.kind == "deleted"
    assert sandbox.records == {}  # not re-created behind the user's back
    assert store.trips.get(trip_id).lifecycle == "active"

    store.conflicts.resolve(trip_id, "local")  # keep it: re-created on Tight
    sync(engine)
    [stored] = sandbox.records.values()
    assert stored["notes"] == "edited offline"
    assert stored["customData"][KEY] == trip_id
    assert store.trips.get(trip_id).remote_id == stored["id"]


@BOTH_BACKENDS
def test_only_a_complete_walk_proves_a_delete(
    home: Path, store: Tracker, server: SandboxServer, sandbox: Sandbox
) -> None:
    """A walk stopped half way, or a trip dated before the window, deletes nothing."""
    stop = threading.Event()

    def stop_after_a_page(event: SyncEvent) -> None:
        if isinstance(event, Progress) and event.step == "mileage":
            stop.set()

    mileage = fast_mileage(server.tight_url, query_page_size=1)
    engine = SyncEngine(Settings(home=home, mileage=mileage), store, listener=stop_after_a_page)
    old = store.trips.add({"date": "2020-01-01", "distance": "1"})
    recent = [store.trips.add({"date": DAY, "distance": str(i + 1)}).id for i in range(3)]
    keep = [store.trips.add({"date": DAY, "distance": f"9{i}"}).id for i in range(3)]
    engine.run(push=True, pull=False)
    for trip_id in [old.id, *recent]:
        sandbox.remove_record(server_copy(sandbox, store, trip_id)["id"])

    half = engine.run(push=False, pull=True, stop=stop)
    assert half.mileage is not None and not half.mileage.complete
    assert store.trips.count() == 7

    engine.listener = None
    resumed = sync(engine).mileage
    assert resumed is not None and resumed.resumed and resumed.complete
    assert resumed.deleted == 0  # what the first half saw is not kept: no proof of absence
    report = sync(engine)
    engine.close()

    assert report.mileage is not None and report.mileage.complete
    assert report.mileage.deleted == 3
    assert {t.id for t in store.trips.list()} == {old.id, *keep}  # old: outside the window


# ----------------------------------------------------------- two devices, one account
# SQLite only: two devices, each with its own file (fleet workers share one database and
# have tests/fleet).
def test_two_devices_converge_without_duplicates(
    tmp_path: Path, server: SandboxServer, sandbox: Sandbox
) -> None:
    homes = [tmp_path / "laptop", tmp_path / "phone"]
    stores = [Tracker.open(h / "tracker.db", timezone="Europe/Berlin") for h in homes]
    engines = [
        SyncEngine(Settings(home=h, mileage=fast_mileage(server.tight_url)), s)
        for h, s in zip(homes, stores, strict=True)
    ]
    try:
        laptop, phone = stores
        a = laptop.trips.add({"date": DAY, "distance": "10", "description": "laptop trip"})
        b = phone.trips.add({"date": DAY, "distance": "20", "description": "phone trip"})
        for engine in engines * 2:
            sync(engine)
        # Each device edits the other's trip, in different fields.
        [b_on_laptop] = [t for t in laptop.trips.list() if t.description == "phone trip"]
        [a_on_phone] = [t for t in phone.trips.list() if t.description == "laptop trip"]
        laptop.trips.edit(b_on_laptop.id, {"notes": "laptop note"})
        phone.trips.edit(a_on_phone.id, {"classification": "business"})
        phone.trips.edit(b.id, {"description": "phone trip, renamed"})
        for engine in engines * 2:
            sync(engine)

        def state(store: Tracker) -> set[tuple[Any, ...]]:
            # Tight keeps miles (the default conversion): compare at its precision.
            return {
                (t.remote_id, t.description, t.notes, t.classification, miles(t))
                for t in store.trips.list()
            }

        assert state(laptop) == state(phone)
        assert len(state(laptop)) == 2
        assert ("phone trip, renamed", "laptop note") in {
            (t.description, t.notes) for t in laptop.trips.list()
        }
        assert {len(ids) for ids in by_local_id(sandbox).values()} == {1}
        assert len(sandbox.records) == 2
        assert by_local_id(sandbox).keys() == {a.id, b.id}  # the originating ids are kept
        assert all(s.journal.counts().pending == 0 for s in stores)
        assert all(s.conflicts.count() == 0 for s in stores)
    finally:
        for engine in engines:
            engine.close()
        for store in stores:
            store.close()


# -------------------------------------------------------------------- push after pull
@BOTH_BACKENDS
def test_updates_wait_when_the_server_copies_cannot_be_read(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    """No update is sent blind: without a fresh read of the server's copy it waits, while
    creates still go out."""
    trip_id = synced_trip(store, engine, description="before")
    remote_id = server_copy(sandbox, store, trip_id)["id"]
    sandbox.edit_record(remote_id, {"notes": "theirs"})
    store.trips.edit(trip_id, {"description": "after"})
    fresh = store.trips.add({"date": DAY, "distance": "2"})
    sandbox.add_fault(Status(status=500, path="/v6/mileage/query", method="POST", times=None))

    report = engine.run(push=True, pull=False, retry_waiting=True)

    assert report.push is not None and report.push.updates_held == 1
    assert store.trips.get(fresh.id).sync_state == SyncState.SYNCED
    assert sandbox.record(remote_id)["description"] == "before"  # type: ignore[index]
    assert sandbox.record(remote_id)["notes"] == "theirs"  # type: ignore[index]
    sandbox.clear_faults()
    sync(engine)
    stored = sandbox.record(remote_id)
    assert stored is not None
    assert (stored["description"], stored["notes"]) == ("after", "theirs")


# ------------------------------------------------------------ a pull killed mid-walk
@BOTH_BACKENDS
@pytest.mark.slow
def test_pull_killed_mid_walk_resumes_and_converges(
    home: Path, store: Tracker, server: SandboxServer, sandbox: Sandbox
) -> None:
    """A real ``tracker sync --pull`` process, SIGKILLed while the sandbox holds its fifth
    page: the four pages before are applied with their checkpoints; the next sync resumes
    after them and ends with every record here exactly once and nothing pushed back."""
    remote_ids = [
        sandbox.add_record(
            {
                "date": DAY,
                "mileageStatus": "BUSINESS",
                "description": f"made on the phone {i}",
                "distance": {"type": "MILE", "value": str(i + 1)},
                "customData": {KEY: f"phone-{i}"},
            }
        )
        for i in range(12)
    ]
    reached, release = threading.Event(), threading.Event()
    queries = itertools.count()

    def hold_the_fifth_page(real: Any) -> Any:
        if next(queries) == 4:
            reached.set()
            release.wait(60)
        return real

    sandbox.add_fault(
        Rewrite(path="/v6/mileage/query", method="POST", transform=hold_the_fifth_page, times=None)
    )
    # The child opens the test's store: the file in TRACKER_HOME, or TRACKER_DATABASE_URL's.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRACKER_") or k == "TRACKER_DATABASE_URL"
    }
    env.update(
        TRACKER_HOME=str(home),
        TRACKER_MILEAGE_URL=server.tight_url,
        TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
        TRACKER_MILEAGE_QUERY_PAGE_SIZE="1",
    )
    child = subprocess.Popen(
        [str(Path(sys.executable).parent / "tracker"), "sync", "--pull"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert reached.wait(60), "the child never asked for the fifth page"
        # Four pages, each applied with its checkpoint: the fourth may still be stored while
        # the fifth is asked for (the next page travels while one is applied), never more.
        assert wait_for(lambda: store.trips.count() == 4, 30)
        child.kill()
        assert child.wait(30) == -signal.SIGKILL
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
            child.wait(30)
    sandbox.clear_faults()
    # An hour later (the killed process's lease has expired), with the same page size.
    later = ManualClock(datetime.now(UTC) + timedelta(hours=1))
    settings = Settings(home=home, mileage=fast_mileage(server.tight_url, query_page_size=1))
    with SyncEngine(settings, store, clock=later) as engine:
        report = sync(engine)
    assert report.mileage is not None
    assert (report.mileage.resumed, report.mileage.complete) == (True, True)
    assert report.mileage.created == 8
    trips = store.trips.list()
    assert sorted(t.remote_id or "" for t in trips) == sorted(remote_ids)
    assert len(sandbox.records) == 12  # nothing pushed back, no duplicate
    assert store.journal.counts().pending == 0


@BOTH_BACKENDS
def test_each_batch_of_updates_is_read_right_before_it_is_sent(
    home: Path, store: Tracker, server: SandboxServer, sandbox: Sandbox
) -> None:
    """The read-to-save window is one batch: reads and saves alternate, each read covering
    only the batch sent next, and an edit made on Tight before a batch's read is kept."""
    settings = Settings(home=home, mileage=fast_mileage(server.tight_url, batch_size=2))
    with SyncEngine(settings, store) as engine:
        days = [f"2026-11-{day:02d}" for day in range(1, 7)]
        trips = [store.trips.add({"date": day, "distance": "1"}).id for day in days]
        sync(engine)
        for trip_id in trips:
            store.trips.edit(trip_id, {"description": "edited here"})
        last = server_copy(sandbox, store, trips[-1])["id"]
        sandbox.edit_record(last, {"notes": "edited on Tight"})
        before = len(sandbox.requests)

        report = engine.run(push=True, pull=False)

        assert report.push is not None and report.push.synced == 6
        calls = [(r.method, r.path) for r in sandbox.requests[before:]]
        read, save = ("POST", "/v6/mileage/query"), ("POST", "/v6/mileage")
        assert calls == [read, save] * 3
        stored = sandbox.record(last)
        assert stored is not None
        assert (stored["description"], stored["notes"]) == ("edited here", "edited on Tight")


def test_fresh_reads_hand_out_one_chunk_at_a_time() -> None:
    asked: list[list[str]] = []

    def read(chunk: Sequence[PendingUpdate]) -> set[str]:
        asked.append([trip_id for trip_id, _, _ in chunk])
        if chunk[0][0] == "c":
            raise ProtocolError("the mileage query answered an unexpected shape")
        return {trip_id for trip_id, _, _ in chunk if trip_id != "b"} | {"not asked"}

    pending = [(name, f"mlg_{name}", None) for name in "abcde"]
    fresh = FreshReads(pending, read, chunk=2)
    assert (fresh.allowed, fresh.more) == (frozenset(), True)
    fresh.read_next()
    assert fresh.allowed == {"a"}  # b was not read; an id not asked for is ignored
    fresh.claimed(["a"])
    assert fresh.allowed == frozenset()
    fresh.read_next()  # c, d: the read fails, they wait
    fresh.read_next()
    assert (fresh.allowed, fresh.more) == ({"e"}, False)
    assert asked == [["a", "b"], ["c", "d"], ["e"]]
    assert (fresh.reads, fresh.unread) == (3, 3)


@BOTH_BACKENDS
def test_what_a_local_trip_cannot_hold_survives_a_local_edit(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox
) -> None:
    """A record typed in Tight's app: its start is an address with no coordinates, its end a
    named location. Edited here, the save sends them back as they were, not erased."""
    remote_id = sandbox.add_record(
        {
            "date": DAY,
            "mileageStatus": "BUSINESS",
            "distance": {"type": "MILE", "value": "4"},
            "start": {"time": "2026-11-20T08:00:00Z", "address": {"city": "Hamburg"}},
            "end": {"lat": "53.55", "lng": "9.99", "locationId": "loc_office"},
        }
    )
    sync(engine)
    [trip] = store.trips.list()
    assert trip.start is None  # no place without coordinates here
    assert trip.end is not None
    quiet = sync(engine).mileage
    assert quiet is not None and (quiet.unchanged, quiet.updated) == (1, 0)

    store.trips.edit(trip.id, {"description": "edited here"})
    sync(engine)

    stored = sandbox.record(remote_id)
    assert stored is not None
    assert stored["description"] == "edited here"
    assert stored["start"]["address"]["city"] == "Hamburg"
    assert stored["start"]["time"].startswith("2026-11-20T08:00:00")
    assert (stored["end"]["location"] or {}).get("id") == "loc_office"
    assert sync(engine).mileage.updated == 0  # type: ignore[union-attr]

"""Two-way sync races the reliability campaigns found (A8, F5 in tests/reliability), each
replayed deterministically: an edit made on Tight must never be overwritten by a push that
did not merge it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from sync.engine import SyncEngine
from sync.events import StepStarted, SyncEvent
from sync.sandbox import Sandbox, SandboxServer
from sync.sandbox.faults import StoreThenDrop
from sync.settings import Settings
from sync.tight.paths import QUERY_PATH
from tests.helpers.remote import KEY, EngineFactory, fast_mileage, push
from tracker.store import Tracker
from tracker.tables import JournalEntry
from tracker.views import TripView

EDIT = {"mileageStatus": "BUSINESS", "notes": "by the accountant"}


def _in_doubt_create(store: Tracker, sandbox: Sandbox, make_engine: EngineFactory) -> str:
    """A personal trip whose create the server stored while the answer was lost; returns
    the record's id."""
    trip = store.trips.add({"date": "2026-03-02", "distance": "12.5", "classification": "personal"})

    def hook(point: str) -> None:
        if point == "after_response":
            raise KeyboardInterrupt  # answered, not recorded: in doubt

    with pytest.raises(KeyboardInterrupt):
        push(make_engine(hook=hook))
    assert store.journal.counts().in_doubt == 1
    (record,) = sandbox.records_with_custom(KEY, trip.id)
    return str(record["id"])


def test_an_in_doubt_create_edited_on_tight_is_adopted_with_a_conflict_not_overwritten(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    record_id = _in_doubt_create(store, sandbox, make_engine)
    sandbox.edit_record(record_id, EDIT)
    report = make_engine().run(push=True, pull=True)
    assert report.mileage is not None and report.mileage.adopted == 1
    stored = sandbox.record(record_id)
    assert stored is not None and (stored["mileageStatus"], stored["notes"]) == (
        "BUSINESS",
        "by the accountant",
    )
    (conflict,) = store.conflicts.list()
    assert {f.name for f in conflict.fields} == {"mileageStatus", "notes"}


def test_a_push_alone_does_not_send_an_in_doubt_create_found_changed(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    record_id = _in_doubt_create(store, sandbox, make_engine)
    sandbox.edit_record(record_id, EDIT)
    report = push(make_engine())
    assert report.reconciled_found == 1
    assert report.synced == 0
    stored = sandbox.record(record_id)
    assert stored is not None and stored["notes"] == "by the accountant"
    # The next run reads the copy first: no base to tell who changed what, so a conflict.
    make_engine().run(push=True, pull=True)
    assert sandbox.record(record_id) == stored
    assert store.conflicts.count() == 1


def _in_doubt_then_edited(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> tuple[str, str]:
    """An in-doubt create (stored, answer lost) whose trip was edited here since; returns
    the record's id and the trip's."""
    record_id = _in_doubt_create(store, sandbox, make_engine)
    (trip,) = store.trips.list()
    store.trips.edit(trip.id, {"notes": "edited here"})
    return record_id, trip.id


def _pushed_as_ours(store: Tracker, sandbox: Sandbox, trip_id: str, notes: str) -> None:
    """The trip's latest notes are on its one record, with no conflict and nothing left."""
    assert store.conflicts.count() == 0
    (stored,) = sandbox.records_with_custom(KEY, trip_id)
    assert stored["notes"] == notes
    assert store.trips.get(trip_id).remote_id == stored["id"]
    counts = store.journal.counts()
    assert (counts.pending, counts.in_flight, counts.in_doubt) == (0, 0, 0)


def test_an_in_doubt_create_edited_here_since_is_our_own_write_not_a_conflict(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # Campaign A1 (under load): a create reached the server, the process died before
    # recording the answer, the trip was edited here; the copy found by reconciliation is
    # exactly what the create sent, so it is the base and the edit is pushed, not held.
    _, trip_id = _in_doubt_then_edited(store, sandbox, make_engine)
    first = push(make_engine())
    assert first.reconciled_found == 1 and first.synced == 0  # read and merged first
    push(make_engine())
    _pushed_as_ours(store, sandbox, trip_id, "edited here")


def test_a_create_sent_beside_an_in_doubt_one_is_recognised_as_ours_too(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # A batch holding an in-doubt create is built after its reconciliation, by the sender;
    # the other creates of that batch are still kept as sent when claimed, so when their
    # answers are lost too their copies are our own writes (campaign A1 under load).
    _in_doubt_create(store, sandbox, make_engine)
    fresh = store.trips.add({"date": "2026-03-03", "distance": "7.5", "notes": "first"})

    def hook(point: str) -> None:
        if point == "after_response":
            raise KeyboardInterrupt  # both stored on the server, neither answer recorded

    with pytest.raises(KeyboardInterrupt):
        push(make_engine(hook=hook))
    (record,) = sandbox.records_with_custom(KEY, fresh.id)
    store.trips.edit(fresh.id, {"notes": "second"})
    push(make_engine())
    push(make_engine())
    assert sandbox.records_with_custom(KEY, fresh.id)[0]["id"] == record["id"]
    _pushed_as_ours(store, sandbox, fresh.id, "second")


def test_an_in_doubt_create_deleted_here_since_is_deleted_on_the_server(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    record_id, trip_id = _in_doubt_then_edited(store, sandbox, make_engine)
    store.trips.delete(trip_id)
    push(make_engine())
    push(make_engine())
    assert sandbox.record(record_id) is None
    assert sandbox.records_with_custom(KEY, trip_id) == []
    assert store.conflicts.count() == 0
    counts = store.journal.counts()
    assert (counts.pending, counts.in_flight, counts.in_doubt) == (0, 0, 0)


def test_an_update_queued_after_the_run_read_the_copies_waits_for_the_next_run(
    store: Tracker, sandbox: Sandbox, server: SandboxServer
) -> None:
    trip = store.trips.add({"date": "2026-03-02", "distance": "12.5", "classification": "personal"})
    settings = Settings(home=store.path.parent, mileage=fast_mileage(server.tight_url))
    with SyncEngine(settings, store) as engine:
        push(engine)
    (record,) = sandbox.records_with_custom(KEY, trip.id)
    sandbox.edit_record(record["id"], EDIT)

    def edit_here(event: SyncEvent) -> None:
        # After this run read the copies of its pending updates (none), before it claims.
        if isinstance(event, StepStarted) and event.step == "push":
            store.trips.edit(trip.id, {"description": "edited here"})

    with SyncEngine(settings, store, listener=edit_here) as engine:
        report = push(engine)
    assert report.synced == 0  # given back unsent: the edit on Tight stands
    assert sandbox.records_with_custom(KEY, trip.id)[0]["notes"] == "by the accountant"
    with SyncEngine(settings, store) as engine:
        push(engine)
    stored = sandbox.record(record["id"])
    assert stored is not None
    assert (stored["description"], stored["notes"], stored["mileageStatus"]) == (
        "edited here",
        "by the accountant",
        "BUSINESS",
    )
    assert store.trips.get(trip.id).notes == "by the accountant"


def _lost_update_answer(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> tuple[TripView, dict[str, Any]]:
    """A synced trip whose next update (notes "second") the server stored while the answer
    was lost (the process stopped before recording it); returns the trip and its record."""
    trip = store.trips.add({"date": "2026-03-02", "distance": "12.5", "notes": "first"})
    push(make_engine())
    store.trips.edit(trip.id, {"notes": "second"})

    def hook(point: str) -> None:
        if point == "after_response":
            raise KeyboardInterrupt  # stored on the server, not recorded here

    with pytest.raises(KeyboardInterrupt):
        push(make_engine(hook=hook))
    (record,) = sandbox.records_with_custom(KEY, trip.id)
    return trip, record


def test_an_update_whose_answer_was_lost_is_our_own_write_not_a_conflict(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # Campaign A1: an update reached the server, the process died before recording the
    # answer, the trip was edited again; the next run saw the first update on the server as
    # an edit made there and held the trip in a conflict with its own earlier state.
    trip, record = _lost_update_answer(store, sandbox, make_engine)
    assert record["notes"] == "second"
    store.trips.edit(trip.id, {"notes": "third"})
    make_engine().run(push=True, pull=True)
    assert store.conflicts.count() == 0
    (record,) = sandbox.records_with_custom(KEY, trip.id)
    assert record["notes"] == "third"
    assert store.journal.counts().pending == 0


def test_a_server_edit_after_a_lost_answer_is_still_someone_elses(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # What we sent is recognised only while the server holds exactly that: an edit made
    # there after our lost save is someone else's, and the same field changed here too is a
    # conflict, never overwritten.
    trip, record = _lost_update_answer(store, sandbox, make_engine)
    sandbox.edit_record(record["id"], {"notes": "theirs"})
    store.trips.edit(trip.id, {"notes": "third"})
    make_engine().run(push=True, pull=True)
    (record,) = sandbox.records_with_custom(KEY, trip.id)
    assert record["notes"] == "theirs"
    (conflict,) = store.conflicts.list()
    assert [f.name for f in conflict.fields] == ["notes"]


def test_a_lost_update_stays_ours_after_a_newer_claim_that_was_never_sent(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # Campaign A1 under load: an update reached the server and its answer was lost; the trip
    # was edited and claimed again (its body kept) by a process that died before sending
    # it. Every body sent since the last answer is kept, so the server's copy is still known
    # as ours and the newest edit is pushed, not held as a conflict with itself.
    trip, record = _lost_update_answer(store, sandbox, make_engine)
    store.trips.edit(trip.id, {"notes": "third"})

    def hook(point: str) -> None:
        if point == "after_claim":
            raise KeyboardInterrupt  # claimed (body kept), never sent

    with pytest.raises(KeyboardInterrupt):
        push(make_engine(hook=hook))
    assert sandbox.record(record["id"]) == record  # still "second"
    with store.db.read() as s:
        (owner,) = s.exec(
            select(JournalEntry.lease_owner).where(JournalEntry.state == "in_flight")
        ).all()
    assert owner is not None
    store.outbox.expire_claims(owner)  # its process died: as a take-over does
    push(make_engine())
    push(make_engine())
    assert store.conflicts.count() == 0
    stored = sandbox.record(record["id"])
    assert stored is not None and stored["notes"] == "third"
    assert store.journal.counts().pending == 0


def _said(store: Tracker, trip_id: str) -> str:
    """Everything the trip's history says (where the file would name a Tight id it learned)."""
    _, events = store.journal.history(trip_id)
    return " | ".join(f"{e.event}: {e.detail}" for e in events)


def test_an_in_doubt_create_read_but_never_stored_then_deleted_on_tight_is_created_again(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # Campaign A8's "created again after it was deleted on Tight": a child read the page
    # with the record of its in-doubt create and was SIGKILLed before storing the page; the
    # record was deleted on Tight; the next child proved the create absent and sent it
    # again. Here the read's answer is dropped after the server ran the query, as the kill
    # dropped it: the file learns nothing, so the delete cannot be told from a create that
    # never arrived (the unknown-outcome window, docs/sync-guarantees.md).
    record_id = _in_doubt_create(store, sandbox, make_engine)
    (trip,) = store.trips.list()
    queries = sandbox.add_fault(StoreThenDrop(path=QUERY_PATH, method="POST", times=None))
    report = make_engine().run(push=True, pull=True)
    assert queries.hits >= 1 and report.failures  # served, never stored
    assert store.journal.counts().in_doubt == 1
    assert store.trips.get(trip.id).remote_id is None
    assert record_id not in _said(store, trip.id)
    sandbox.clear_faults()
    assert sandbox.remove_record(record_id)
    report = make_engine().run(push=True, pull=True)
    assert report.push is not None and report.push.reconciled_absent == 1
    (again,) = sandbox.records_with_custom(KEY, trip.id)
    assert again["id"] != record_id
    assert store.trips.get(trip.id).remote_id == again["id"]


def test_an_in_doubt_create_whose_read_was_stored_is_deleted_here_when_tight_deletes_it(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    # The same interleaving with the read stored: the trip adopted the record, so its
    # delete on Tight deletes the trip here and nothing is created again.
    record_id = _in_doubt_create(store, sandbox, make_engine)
    (trip,) = store.trips.list()
    report = make_engine().run(push=False, pull=True)
    assert report.mileage is not None and report.mileage.adopted == 1
    assert f"found on the server as {record_id}" in _said(store, trip.id)
    assert sandbox.remove_record(record_id)
    report = make_engine().run(push=True, pull=True)
    assert report.push is not None and report.push.synced == 0
    assert sandbox.records_with_custom(KEY, trip.id) == []
    # Adopted, its create is still queued (an update now): "deleted on the server, edited
    # here" holds it until the user says (docs/sync-guarantees.md, "Two-way sync").
    (held,) = store.conflicts.list()
    assert (held.trip_id, held.kind) == (trip.id, "deleted")

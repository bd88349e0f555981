"""The push engine against the sandbox over real HTTP: every outcome, asserting both the
sandbox's delivery log and the local journal."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from sync.errors import AlreadyRunningError, AuthError, EndpointMissingError
from sync.events import Progress, StepStarted, SyncEvent
from sync.sandbox import (
    ItemRule,
    Rewrite,
    Sandbox,
    SandboxServer,
    Status,
    StoreThenDrop,
    Truncate,
    fewer_items,
    more_items,
    truncated_json,
    without_field,
)
from tests.helpers.remote import KEY, EngineFactory, push
from tests.helpers.store import BOTH_BACKENDS, manual_trips
from tests.helpers.wait import retry_due
from tracker.store import Tracker


def stored_once(sandbox: Sandbox, ids: list[str]) -> None:
    counts = sandbox.stored_counts_by_custom(KEY)
    assert {i: counts[i] for i in ids} == dict.fromkeys(ids, 1)
    assert sandbox.duplicates_by_custom(KEY) == {}


@BOTH_BACKENDS
@pytest.mark.parametrize("in_process", [False, True], ids=["loopback", "in-process"])
def test_batches_all_succeed_and_nothing_is_sent_twice(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory, in_process: bool
) -> None:
    ids = manual_trips(store, 250, classification="business")
    engine = make_engine(in_process=in_process)
    report = push(engine)
    assert (report.synced, report.batches, report.requests) == (250, 3, 3)
    stored_once(sandbox, ids)
    trip = store.trips.get(ids[0])
    assert trip.sync_state == "synced"
    assert trip.remote_id is not None
    assert trip.remote_id.startswith("mlg_")
    record = sandbox.record(trip.remote_id)
    assert record is not None
    assert record["mileageStatus"] == "BUSINESS"
    assert record["customData"][KEY] == ids[0]
    assert store.journal.counts().pending == 0
    again = push(engine)
    assert (again.synced, again.requests) == (0, 0)
    assert sandbox.delivery_counts_by_custom(KEY)[ids[0]] == 1


@BOTH_BACKENDS
def test_wire_format(store: Tracker, sandbox: Sandbox, make_engine: EngineFactory) -> None:
    trip = store.trips.add(
        {
            "distance": "16.093",
            "unit": "km",
            "start_time": "2026-03-10T23:30:00+00:00",  # 00:30 on the 11th in Berlin
            "end_time": "2026-03-11T00:15:00+00:00",
            "start": {"lat": "52.520008", "lng": "13.404954", "address": {"city": "Berlin"}},
            "end": {"lat": "52.4", "lng": "13.05"},
            "classification": "personal",
            "custom_data": {"project": "X"},
            "customer_id": "cus_1",
            "class_segment_ids": ["cls_9"],
        }
    )
    push(make_engine())
    (delivery,) = sandbox.deliveries
    item = delivery.item
    assert "id" not in item  # a create
    assert item["date"] == "2026-03-11"
    assert item["distance"] == {"type": "MILE", "value": "10.000"}
    assert item["start"]["lat"] == "52.520008"
    assert item["start"]["time"] == "2026-03-10T23:30:00.000Z"
    assert item["duration"] == 45 * 60 * 1000
    assert item["mileageStatus"] == "NOT_BUSINESS"
    assert item["customData"] == {"project": "X", KEY: trip.id}
    assert item["customerId"] == "cus_1"
    assert item["classSegmentIds"] == ["cls_9"]
    assert "deduction" not in item


@BOTH_BACKENDS
def test_updates_carry_the_id_and_deletes_remove(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    engine = make_engine()
    (trip_id,) = manual_trips(store, 1)
    push(engine)
    remote = store.trips.get(trip_id).remote_id
    assert remote is not None
    store.trips.edit(trip_id, {"description": "after sync", "distance": Decimal("7.25")})
    push(engine)
    assert sandbox.deliveries[-1].item["id"] == remote
    record = sandbox.record(remote)
    assert record is not None
    assert record["description"] == "after sync"
    stored_once(sandbox, [trip_id])
    store.trips.delete(trip_id)
    report = push(engine)
    assert report.deleted == 1
    assert sandbox.record(remote) is None
    assert store.trips.get(trip_id).sync_state == "synced"


@BOTH_BACKENDS
def test_delete_before_any_push_costs_no_request(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    (trip_id,) = manual_trips(store, 1)
    store.trips.delete(trip_id)
    report = push(make_engine())
    assert report.requests == 0
    assert sandbox.requests == []
    assert store.trips.get(trip_id).sync_state == "local"


@BOTH_BACKENDS
def test_delete_of_a_record_already_gone_is_done(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    engine = make_engine()
    (trip_id,) = manual_trips(store, 1)
    push(engine)
    remote = store.trips.get(trip_id).remote_id
    assert remote is not None
    sandbox.delete(remote)  # someone deleted it on the server
    store.trips.delete(trip_id)
    assert push(engine).deleted == 1
    assert store.journal.counts().pending == 0


@BOTH_BACKENDS
def test_a_poison_item_never_blocks_its_batch_mates(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    sandbox.add_fault(ItemRule.description_contains("POISON"))
    good = manual_trips(store, 9)
    (bad,) = manual_trips(store, 1, description="POISON pill")
    engine = make_engine()
    report = push(engine)
    assert report.synced == 9
    assert [(p.trip_id, p.error_type, p.param) for p in report.parked] == [
        (bad, "INVALID_VALUE", "description")
    ]
    stored_once(sandbox, good)
    assert sandbox.stored_count_by_custom(KEY, bad) == 0
    (entry,) = store.parked.list()
    assert entry.error_message == "description must not contain 'POISON'"
    # Never retried on its own.
    assert push(engine).requests == 0
    # Editing the trip re-queues it.
    store.trips.edit(bad, {"description": "fixed"})
    assert push(engine).synced == 1
    stored_once(sandbox, [*good, bad])
    assert sandbox.delivery_counts_by_custom(KEY)[good[0]] == 1


@BOTH_BACKENDS
def test_validation_failures_from_the_server_are_parked_with_its_words(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    (trip_id,) = manual_trips(store, 1)
    engine = make_engine(status_unclassified="MAYBE")  # not a value Tight knows
    report = push(engine)
    (parked,) = report.parked
    assert parked.trip_id == trip_id
    assert parked.error_type == "INVALID_VALUE"
    assert parked.param == "mileageStatus"
    assert store.trips.get(trip_id).sync_state == "parked"


@BOTH_BACKENDS
def test_success_items_of_a_207_are_never_resent(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    sandbox.add_fault(
        ItemRule.description_contains("flaky", error_type="UNKNOWN_ERROR", status_code=500, times=1)
    )
    ok = manual_trips(store, 5)
    (flaky,) = manual_trips(store, 1, description="flaky")
    engine = make_engine()
    first = push(engine)
    assert (first.synced, first.retried) == (5, 1)
    assert store.trips.get(flaky).sync_state == "pending"
    assert push(engine, retry_waiting=True).synced == 1  # tried now, not at its retry time
    counts = sandbox.delivery_counts_by_custom(KEY)
    assert [counts[i] for i in ok] == [1] * 5
    assert counts[flaky] == 2
    stored_once(sandbox, [*ok, flaky])


@BOTH_BACKENDS
def test_store_then_drop_stores_every_trip_exactly_once(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    ids = manual_trips(store, 30)
    sandbox.add_fault(StoreThenDrop(path="/v6/mileage", method="POST"))
    engine = make_engine(batch_size=10)
    report = push(engine)
    assert report.in_doubt == 10  # the first batch: stored, answer lost
    found = absent = synced = 0
    for _ in range(5):  # the backoff is tiny: the next runs come back to them
        found, absent = found + report.reconciled_found, absent + report.reconciled_absent
        synced += report.synced
        if store.journal.counts().pending == 0:
            break
        assert retry_due(store)
        report = push(engine)
    # Reconciled: found on the server and adopted, never sent again.
    assert (found, absent) == (10, 0)
    assert synced == 30
    stored_once(sandbox, ids)
    assert sandbox.request_count("/v6/mileage/query") >= 1
    assert store.journal.counts().pending == 0
    for trip_id in ids:
        trip = store.trips.get(trip_id)
        assert trip.sync_state == "synced"
        record = sandbox.record(trip.remote_id or "")
        assert record is not None
        assert record["customData"][KEY] == trip_id


@BOTH_BACKENDS
def test_a_500_is_in_doubt_and_proven_absent_before_resending(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    ids = manual_trips(store, 5)
    sandbox.add_fault(Status(status=500, path="/v6/mileage", method="POST"))
    # A long backoff: the in-doubt entries wait for the next run.
    engine = make_engine(backoff_initial=30, backoff_max=30)
    first = push(engine)
    assert (first.in_doubt, first.synced) == (5, 0)
    assert all(store.trips.get(i).sync_state == "in_doubt" for i in ids)
    _make_due(store)  # due now instead of in 30 s
    second = push(engine)
    assert (second.reconciled_absent, second.synced) == (5, 5)
    stored_once(sandbox, ids)


@BOTH_BACKENDS
@pytest.mark.parametrize(
    "fault",
    [
        truncated_json(path="/v6/mileage", method="POST"),
        fewer_items(path="/v6/mileage", method="POST"),
        more_items(path="/v6/mileage", method="POST"),
        without_field("result", path="/v6/mileage", method="POST"),
        Truncate(path="/v6/mileage", method="POST"),
        Rewrite(path="/v6/mileage", method="POST", transform=lambda _body: {"data": "nope"}),
        Rewrite(path="/v6/mileage", method="POST", transform=lambda _b: b"<html>502</html>"),
    ],
    ids=["truncated-json", "fewer", "more", "no-result", "truncated-body", "wrong-type", "html"],
)
def test_malformed_answers_mark_nothing_synced_wrongly_and_heal(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory, fault: object
) -> None:
    ids = manual_trips(store, 6)
    sandbox.add_fault(fault)  # type: ignore[arg-type]
    engine = make_engine()
    for _ in range(3):
        push(engine)
        assert retry_due(store)
    stored_once(sandbox, ids)
    assert store.journal.counts().pending == 0
    for trip_id in ids:
        # Never a wrong id adopted from a response that did not match the request.
        record = sandbox.record(store.trips.get(trip_id).remote_id or "")
        assert record is not None
        assert record["customData"][KEY] == trip_id


@BOTH_BACKENDS
def test_batch_too_large_is_halved(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    sandbox.max_batch = 10
    ids = manual_trips(store, 40)
    report = push(make_engine(batch_size=40))
    assert report.synced == 40
    stored_once(sandbox, ids)


@BOTH_BACKENDS
def test_whole_batch_400_is_split(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    ids = manual_trips(store, 8)
    sandbox.add_fault(
        Status(
            status=400,
            path="/v6/mileage",
            method="POST",
            body={
                "result": "FAILURE",
                "data": None,
                "error": [{"type": "BAD_REQUEST", "message": "bad batch", "param": None}],
            },
        )
    )
    report = push(make_engine())
    assert report.synced == 8
    assert report.requests == 3  # the whole batch, then its two halves
    stored_once(sandbox, ids)


@BOTH_BACKENDS
@pytest.mark.parametrize("retry_after", [None, "1", "garbage"])
def test_429_and_503_are_retried_in_the_run(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory, retry_after: str | None
) -> None:
    ids = manual_trips(store, 3)
    sandbox.add_fault(Status(status=429, path="/v6/mileage", retry_after=retry_after))
    sandbox.add_fault(Status(status=503, path="/v6/mileage"))
    started = time.monotonic()
    report = push(make_engine(backoff_initial=0.05))
    elapsed = time.monotonic() - started
    assert report.synced == 3
    assert report.requests == 3
    stored_once(sandbox, ids)
    if retry_after == "1":
        assert elapsed >= 1.0  # Retry-After honoured


@BOTH_BACKENDS
def test_expired_token_mid_run_is_reminted_once(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    ids = manual_trips(store, 30)
    token = sandbox.issue_token()
    engine = make_engine(
        batch_size=10, token=token, client_id="sandbox-client", client_secret="sandbox-secret"
    )
    sandbox_expire = threading.Event()

    def progress(event: SyncEvent) -> None:
        if isinstance(event, Progress) and not sandbox_expire.is_set():
            sandbox_expire.set()
            sandbox.expire_token(token)

    engine.listener = progress
    report = push(engine)
    assert report.synced == 30
    assert sandbox.request_count("/v6/auth/token") == 1
    assert sandbox.request_count("/v6/mileage", status=401) == 1
    stored_once(sandbox, ids)


@BOTH_BACKENDS
def test_expired_token_without_credentials_stops_and_keeps_everything(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    ids = manual_trips(store, 30)
    token = sandbox.issue_token()
    engine = make_engine(batch_size=10, token=token)

    def progress(event: SyncEvent) -> None:
        if isinstance(event, Progress):
            sandbox.expire_token(token)

    engine.listener = progress
    with pytest.raises(AuthError, match="refused the token"):
        push(engine)
    counts = store.journal.counts()
    assert (counts.synced, counts.pending, counts.in_flight) == (10, 20, 0)
    # Nothing else was sent after the 401 in this run (the batch claimed ahead went back).
    assert sandbox.request_count("/v6/mileage") == 2
    assert sandbox.request_count("/v6/mileage", status=401) == 1
    assert all(e.attempts == 0 and not e.in_doubt for e in _pending_entries(store))
    stored_once(sandbox, ids[:10])
    # With a fresh token the rest goes through, each trip once.
    push(make_engine(batch_size=10))
    stored_once(sandbox, ids)


def _make_due(store: Tracker) -> None:
    with store.db.write() as session:
        session.connection().exec_driver_sql("UPDATE journal SET next_attempt_at = NULL")


def _pending_entries(store: Tracker) -> list:  # type: ignore[type-arg]
    out = []
    for trip in store.trips.list():
        entries, _ = store.journal.history(trip.id)
        out += [e for e in entries if e.state == "pending"]
    return out


@BOTH_BACKENDS
def test_missing_credentials_and_wrong_url(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    manual_trips(store, 2)
    with pytest.raises(AuthError, match="TRACKER_MILEAGE_TOKEN"):
        push(make_engine(token=None))
    with pytest.raises(AuthError):
        push(make_engine(token="not-a-token"))
    assert store.journal.counts().pending == 2
    sandbox.add_fault(Status(status=404, path="/v6/mileage"))
    with pytest.raises(EndpointMissingError, match="TRACKER_MILEAGE_URL"):
        push(make_engine())
    assert store.journal.counts().pending == 2


@BOTH_BACKENDS
def test_server_down_keeps_everything_queued(store: Tracker, make_engine: EngineFactory) -> None:
    ids = manual_trips(store, 3)
    engine = make_engine(url="http://127.0.0.1:9", retries=1)
    report = push(engine)
    assert report.retried == 3
    assert report.in_doubt == 0  # never reached the server: nothing to reconcile
    assert all(store.trips.get(i).sync_state == "pending" for i in ids)


# SQLite only: one pusher per file; in fleet mode workers push side by side (tests/fleet).
def test_one_pusher_at_a_time(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory
) -> None:
    manual_trips(store, 1)
    first, second = make_engine(), make_engine()
    errors: list[BaseException] = []
    started, second_tried = threading.Event(), threading.Event()

    def hold_the_lease(event: SyncEvent) -> None:
        if isinstance(event, StepStarted):  # the push lease is held from here on
            started.set()
            second_tried.wait(5)

    first.listener = hold_the_lease
    thread = threading.Thread(target=lambda: push(first))
    thread.start()
    started.wait(5)
    try:
        push(second)
    except AlreadyRunningError as err:
        errors.append(err)
    finally:
        second_tried.set()
    thread.join()
    assert len(errors) == 1
    assert "already running" in str(errors[0])
    assert push(second).requests == 0  # lease released after the first run

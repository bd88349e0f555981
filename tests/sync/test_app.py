"""Embedding: one entry point from Settings, events for a UI, tokens from the app, a time
budget, and a store shared by threads. Real SQLite files, the sandbox over loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync import (
    AuthError,
    Credentials,
    ManualClock,
    Progress,
    ScheduleSettings,
    Settings,
    StepStarted,
    SyncEvent,
    SyncFinished,
    SyncStarted,
    TripParked,
    TripStateChanged,
    open_app,
)
from sync.engine import SyncEngine
from sync.sandbox import ItemRule, Sandbox, SandboxServer
from tests.helpers.remote import KEY, fast_mileage, push
from tests.helpers.store import manual_trips
from tests.helpers.wait import wait_for
from tracker import SyncState, Tracker


@pytest.fixture
def settings(home: Path, server: SandboxServer) -> Settings:
    return Settings(home=home, mileage=fast_mileage(server.tight_url, batch_size=10))


def test_open_app_builds_the_store_with_every_setting(tmp_path: Path) -> None:
    home = tmp_path / "data"
    home.mkdir()
    (home / "config.toml").write_text(
        'timezone = "Pacific/Auckland"\ndistance_unit = "mile"\nmax_accuracy = 5.0\n'
    )
    with open_app(Settings(home=home, synchronous="NORMAL")) as app:
        store = app.tracker
        assert store.path == home / "tracker.db"
        assert store.rules.timezone.key == "Pacific/Auckland"  # read from the config file
        assert store.rules.unit == "mile"
        assert store.rules.track_filter.max_accuracy_m == 5.0
        with store.db.read() as s:
            assert s.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        trip = store.trips.add({"date": "2026-03-01", "distance": "12.5"})
        assert trip.sync_state is SyncState.PENDING


def test_an_explicit_config_file_is_read(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("[mileage]\nbatch_size = 7\n\n[schedule]\npush_interval = 30.0\n")
    settings = Settings(home=tmp_path / "home", config=config)
    assert (settings.mileage.batch_size, settings.schedule.push_interval) == (7, 30.0)
    # Keywords still win over the file.
    assert Settings(config=config, schedule=ScheduleSettings(push_interval=5)).schedule == (
        ScheduleSettings(push_interval=5)
    )


def test_the_engine_is_built_only_when_needed(settings: Settings) -> None:
    with open_app(settings) as app:
        app.tracker.trips.add({"date": "2026-03-01", "distance": "1"})
        assert app._engine is None  # recording alone never builds the HTTP side
        report = app.sync()
        assert report.ok
        assert report.push is not None and report.push.synced == 1


def test_a_listener_sees_the_run_trip_by_trip(
    settings: Settings, store: Tracker, sandbox: Sandbox
) -> None:
    ids = manual_trips(store, 12)
    rejected = store.trips.edit(ids[3], {"description": "refuse me"}).id
    sandbox.add_fault(
        ItemRule(predicate=lambda item: item.get("description") == "refuse me", param="description")
    )
    events: list[SyncEvent] = []
    with SyncEngine(settings, store, listener=events.append) as engine:
        report = engine.run()
    assert isinstance(events[0], SyncStarted) and events[0].steps == ("push",)
    assert events[1] == StepStarted("push", 12)
    assert isinstance(events[-1], SyncFinished) and events[-1].report is report
    progress = [e for e in events if isinstance(e, Progress)]
    assert [(p.done, p.total) for p in progress] == [(10, 12), (12, 12)]
    synced = {e.trip_id for e in events if isinstance(e, TripStateChanged)}
    assert synced == set(ids) - {rejected}
    assert all(
        e.state is SyncState.SYNCED and e.remote_id
        for e in events
        if isinstance(e, TripStateChanged)
    )
    (parked,) = [e for e in events if isinstance(e, TripParked)]
    assert (parked.trip_id, parked.error_type, parked.param) == (
        rejected,
        "INVALID_VALUE",
        "description",
    )


def test_a_failing_listener_never_breaks_the_sync(settings: Settings, store: Tracker) -> None:
    manual_trips(store, 3)

    def broken(_event: SyncEvent) -> None:
        raise RuntimeError("the UI is gone")

    with SyncEngine(settings, store, listener=broken) as engine:
        assert push(engine).synced == 3


def test_tokens_come_from_the_app_and_are_fetched_again_when_refused(
    home: Path, server: SandboxServer, sandbox: Sandbox, store: Tracker
) -> None:
    ids = manual_trips(store, 30)
    issued: list[str] = []

    def fetch_credentials() -> Credentials:
        issued.append(sandbox.issue_token())
        return Credentials(issued[-1])

    def expire_after_the_first_batch(event: SyncEvent) -> None:
        if isinstance(event, Progress) and event.done == 10:
            sandbox.expire_token(issued[0])

    settings = Settings(
        home=home, mileage=fast_mileage(server.tight_url, token=None, batch_size=10)
    )
    with SyncEngine(
        settings, store, credentials=fetch_credentials, listener=expire_after_the_first_batch
    ) as engine:
        assert push(engine).synced == 30
    assert len(issued) == 2  # at the first request, and once after the 401
    assert sandbox.request_count("/v6/mileage", status=401) == 1
    assert sandbox.request_count("/v6/auth/token") == 0  # no secret on the device
    assert all(sandbox.stored_count_by_custom(KEY, i) == 1 for i in ids)


def test_a_provider_that_fails_is_an_auth_error_and_keeps_everything(
    home: Path, server: SandboxServer, store: Tracker
) -> None:
    manual_trips(store, 2)

    def offline_backend() -> str:
        raise ConnectionError("backend unreachable")

    settings = Settings(home=home, mileage=fast_mileage(server.tight_url, token=None))
    with (
        SyncEngine(settings, store, credentials=offline_backend) as engine,
        pytest.raises(AuthError, match="credentials provider failed"),
    ):
        push(engine)
    counts = store.journal.counts()
    assert (counts.pending, counts.in_flight) == (2, 0)


def test_a_time_budget_stops_between_batches_and_the_next_run_resumes(
    settings: Settings, store: Tracker, sandbox: Sandbox
) -> None:
    ids = manual_trips(store, 100)
    clock = ManualClock()
    # Each answer takes 10 s of the engine's clock: a 25 s budget fits three batches of 10.
    with SyncEngine(
        settings,
        store,
        clock=clock,
        hook=lambda point: point == "after_response" and clock.advance(10),
    ) as engine:
        first = engine.run(budget=25)
        assert first.push is not None
        assert (first.push.synced, first.push.batches) == (30, 3)
        assert first.push.stopped == "the run's time budget is spent"
        counts = store.journal.counts()
        assert (counts.synced, counts.pending, counts.in_flight) == (30, 70, 0)
        assert sandbox.request_count("/v6/mileage") == 3  # the batch claimed ahead went back
        second = engine.run()
    assert second.push is not None and second.push.synced == 70
    assert all(sandbox.stored_count_by_custom(KEY, i) == 1 for i in ids)


def test_a_budget_must_be_positive(settings: Settings, store: Tracker) -> None:
    with SyncEngine(settings, store) as engine, pytest.raises(ValueError, match="positive"):
        engine.run(budget=0)


@pytest.fixture
def shared(settings: Settings) -> Iterator[tuple[Tracker, SyncEngine]]:
    fast = settings.model_copy(
        update={"schedule": ScheduleSettings(push_interval=0.2, jitter=0, soon_delay=0.05)}
    )
    with open_app(fast) as app:
        yield app.tracker, app.engine


@pytest.mark.slow
def test_one_store_shared_by_threads_loses_and_repeats_nothing(
    shared: tuple[Tracker, SyncEngine], sandbox: Sandbox
) -> None:
    """The documented model: record from any thread while the background service syncs and
    another thread asks for syncs by hand."""
    from sync.service import SyncService

    store, engine = shared
    service = SyncService(engine, watch_interval=0.1)
    service.start()
    errors: list[BaseException] = []
    recorded: list[str] = []
    lock = threading.Lock()

    def record(worker: int) -> None:
        try:
            for n in range(25):
                trip = store.trips.add(
                    {"date": "2026-03-01", "distance": f"{worker}.{n}", "notes": f"w{worker}"}
                )
                store.trips.edit(trip.id, {"description": f"trip {worker}-{n}"})
                with lock:
                    recorded.append(trip.id)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    def sync_by_hand() -> None:
        try:
            for _ in range(5):
                engine.run(push=True, pull=False)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=record, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=sync_by_hand))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert wait_for(lambda: store.journal.counts().synced >= len(recorded), 20)
        assert wait_for(lambda: store.journal.counts().pending == 0, 20)
    finally:
        service.stop()
    assert len(recorded) == 100
    assert sandbox.duplicates_by_custom(KEY) == {}
    for trip_id in recorded:
        (stored,) = sandbox.records_with_custom(KEY, trip_id)
        assert stored["description"] == store.trips.get(trip_id).description

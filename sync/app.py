"""The one entry point: a store, an engine and a background service from one ``Settings``,
built exactly as the ``tracker`` command builds them.

::

    from sync import Settings, open_app

    with open_app(Settings(home="/data/trips"), credentials=fetch_token) as app:
        app.tracker.trips.add({"date": "2026-03-01", "distance": "12.5", "unit": "km"})
        report = app.sync(budget=25)      # or app.service.start() for background sync

Importing this module opens nothing; the HTTP stack is imported when the engine is first
used, so an app that only records trips never loads it.
"""

from __future__ import annotations

import random
import threading
from types import TracebackType
from typing import TYPE_CHECKING, TypedDict, Unpack

from tracker.geo import TrackFilter
from tracker.store import Tracker

if TYPE_CHECKING:
    import httpx

    from sync.clock import Clock
    from sync.engine import SyncEngine
    from sync.events import Listener
    from sync.http.credentials import CredentialsProvider
    from sync.report import SyncReport
    from sync.service import SyncService
    from sync.settings import Settings
    from sync.storesettings import StoreSettings

__all__ = ["App", "EngineOptions", "open_app", "open_store"]


def open_store(settings: Settings | StoreSettings) -> Tracker:
    """Open (creating or upgrading) the database the settings name, with every store
    setting applied: time zone, distance unit, GPS filter, ``synchronous``, busy timeout.
    ``StoreSettings`` (:mod:`sync.storesettings`) holds just these. With
    ``TRACKER_DATABASE_URL`` set, the store is that PostgreSQL database instead of the file."""
    if settings.database_url is not None:
        return Tracker.open_url(
            settings.database_url.get_secret_value(),
            timezone=settings.timezone,
            track_filter=TrackFilter(
                max_accuracy_m=settings.max_accuracy, max_speed_kmh=settings.max_speed
            ),
            unit=settings.distance_unit,
            busy_timeout=settings.busy_timeout,
        )
    return Tracker.open(
        settings.db_path,
        timezone=settings.timezone,
        track_filter=TrackFilter(
            max_accuracy_m=settings.max_accuracy, max_speed_kmh=settings.max_speed
        ),
        unit=settings.distance_unit,
        synchronous=settings.synchronous,
        busy_timeout=settings.busy_timeout,
    )


class EngineOptions(TypedDict, total=False):
    """What an app may give the engine besides the settings (see :func:`open_app`)."""

    credentials: CredentialsProvider | None
    costs_credentials: CredentialsProvider | None
    listener: Listener | None
    clock: Clock | None
    transport: httpx.BaseTransport | None
    rng: random.Random | None


class App:
    """A store with its sync engine and background service (see :func:`open_app`).

    ``tracker`` is ready at once; ``engine`` and ``service`` are built on first use.
    Thread-safe like its parts: record trips from the UI thread while the service syncs.
    """

    def __init__(
        self, settings: Settings, tracker: Tracker, **options: Unpack[EngineOptions]
    ) -> None:
        self.settings = settings
        self.tracker = tracker
        self._options = options
        self._engine: SyncEngine | None = None
        self._service: SyncService | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> SyncEngine:
        """The sync engine (built on first use)."""
        with self._lock:
            if self._engine is None:
                from sync.rotation import engine_for

                self._engine = engine_for(self.settings, self.tracker, **self._options)
            return self._engine

    @property
    def service(self) -> SyncService:
        """The background service around :attr:`engine` (not started: call ``start()``)."""
        engine = self.engine
        with self._lock:
            if self._service is None:
                from sync.service import SyncService

                self._service = SyncService(engine)
            return self._service

    def sync(
        self, *, push: bool = True, pull: bool | None = True, budget: float | None = None
    ) -> SyncReport:
        """One sync run now, as ``tracker sync`` does: pull what changed on Tight and the
        costs (each when configured), merge, then push (see
        :meth:`sync.engine.SyncEngine.run`)."""
        return self.engine.run(push=push, pull=pull, budget=budget)

    def close(self) -> None:
        """Stop the service if it runs, close the engine's connections and the store."""
        with self._lock:
            service, engine = self._service, self._engine
        if service is not None:
            service.stop()
        if engine is not None:
            engine.close()
        self.tracker.close()

    def __enter__(self) -> App:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def open_app(settings: Settings | None = None, **options: Unpack[EngineOptions]) -> App:
    """Open the store the settings name and prepare its engine and service.

    ``settings`` defaults to ``Settings()`` (environment variables and the config file).
    ``credentials`` / ``costs_credentials`` supply tokens on demand instead of storing them
    (``sync.http.credentials``); ``listener`` receives every sync event (``sync.events``);
    ``clock``, ``transport`` and ``rng`` replace time, the network and jitter (tests).
    """
    if settings is None:
        from sync.settings import Settings

        settings = Settings()
    return App(settings, open_store(settings), **options)

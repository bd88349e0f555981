"""trip-tracker's remote side: the sync engine, the background service, and their events.

``sync`` may import ``tracker``; ``tracker`` never imports ``sync``. Importing this package
loads neither the HTTP stack nor the scheduler: the names below are imported on first use.
Start with :func:`open_app`; docs/library.md shows the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.exports import lazy_exports

if TYPE_CHECKING:
    from sync.app import App, open_app, open_store
    from sync.clock import Clock, ManualClock, SystemClock
    from sync.costs.report import PullReport, RefreshReport
    from sync.engine import SyncEngine
    from sync.errors import (
        AlreadyRunningError,
        AuthError,
        ConfigError,
        EndpointMissingError,
        PermanentRemoteError,
        ProtocolError,
        SyncError,
        TransientRemoteError,
    )
    from sync.events import (
        Listener,
        Progress,
        StepStarted,
        SyncEvent,
        SyncFinished,
        SyncStarted,
        TripParked,
        TripStateChanged,
    )
    from sync.http.credentials import Credentials, CredentialsProvider
    from sync.report import SyncReport
    from sync.service import SyncService
    from sync.settings import (
        CostsSettings,
        HttpSettings,
        MileageSettings,
        ScheduleSettings,
        Settings,
    )
    from sync.tight.report import ParkedItem, PushReport

_EXPORTS = {
    "AlreadyRunningError": "sync.errors",
    "App": "sync.app",
    "AuthError": "sync.errors",
    "Clock": "sync.clock",
    "ConfigError": "sync.errors",
    "CostsSettings": "sync.settings",
    "Credentials": "sync.http.credentials",
    "CredentialsProvider": "sync.http.credentials",
    "EndpointMissingError": "sync.errors",
    "HttpSettings": "sync.settings",
    "Listener": "sync.events",
    "ManualClock": "sync.clock",
    "MileageSettings": "sync.settings",
    "ParkedItem": "sync.tight.report",
    "PermanentRemoteError": "sync.errors",
    "Progress": "sync.events",
    "ProtocolError": "sync.errors",
    "PullReport": "sync.costs.report",
    "PushReport": "sync.tight.report",
    "RefreshReport": "sync.costs.report",
    "ScheduleSettings": "sync.settings",
    "Settings": "sync.settings",
    "StepStarted": "sync.events",
    "SyncEngine": "sync.engine",
    "SyncError": "sync.errors",
    "SyncEvent": "sync.events",
    "SyncFinished": "sync.events",
    "SyncReport": "sync.report",
    "SyncService": "sync.service",
    "SyncStarted": "sync.events",
    "SystemClock": "sync.clock",
    "TransientRemoteError": "sync.errors",
    "TripParked": "sync.events",
    "TripStateChanged": "sync.events",
    "open_app": "sync.app",
    "open_store": "sync.app",
}

__all__ = [
    "AlreadyRunningError",
    "App",
    "AuthError",
    "Clock",
    "ConfigError",
    "CostsSettings",
    "Credentials",
    "CredentialsProvider",
    "EndpointMissingError",
    "HttpSettings",
    "Listener",
    "ManualClock",
    "MileageSettings",
    "ParkedItem",
    "PermanentRemoteError",
    "Progress",
    "ProtocolError",
    "PullReport",
    "PushReport",
    "RefreshReport",
    "ScheduleSettings",
    "Settings",
    "StepStarted",
    "SyncEngine",
    "SyncError",
    "SyncEvent",
    "SyncFinished",
    "SyncReport",
    "SyncService",
    "SyncStarted",
    "SystemClock",
    "TransientRemoteError",
    "TripParked",
    "TripStateChanged",
    "__version__",
    "open_app",
    "open_store",
]


__getattr__, __dir__ = lazy_exports("sync", _EXPORTS, globals())

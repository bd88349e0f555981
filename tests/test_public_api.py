"""The public API: what ``tracker`` and ``sync`` export is pinned, every name resolves, and
importing either package loads no database or HTTP library."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import version
from types import ModuleType

import pytest

import sync
import tracker

TRACKER_API = [
    "Address",
    "BulkReport",
    "CarIn",
    "CarView",
    "Cars",
    "Classification",
    "CorruptDatabaseError",
    "CostStore",
    "CostView",
    "DatabaseBusyError",
    "DistanceUnit",
    "EntryOp",
    "EntryState",
    "EntryView",
    "EventView",
    "InvalidInputError",
    "Journal",
    "JournalCounts",
    "Leases",
    "Lifecycle",
    "ManualTripIn",
    "NotFoundError",
    "Outbox",
    "ParkedChanges",
    "Place",
    "PlaceView",
    "Provenance",
    "QuarantineView",
    "ReadOnlyStorageError",
    "RowError",
    "SchemaTooNewError",
    "StateError",
    "StorageError",
    "StorageFullError",
    "StorageUnavailableError",
    "SyncState",
    "TrackFilter",
    "Tracker",
    "TrackerError",
    "TripDetails",
    "TripEdit",
    "TripPage",
    "TripRow",
    "TripSource",
    "TripStart",
    "TripStatus",
    "TripView",
    "Trips",
    "VerifyResult",
    "WaypointIn",
    "WaypointView",
    "__version__",
]

SYNC_API = [
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


@pytest.mark.parametrize(("package", "expected"), [(tracker, TRACKER_API), (sync, SYNC_API)])
def test_exports_are_pinned_sorted_and_resolve(package: ModuleType, expected: list[str]) -> None:
    assert package.__all__ == expected
    assert expected == sorted(expected, key=lambda n: (not n[0].isupper(), n))
    for name in expected:
        assert getattr(package, name) is not None, name
    assert sorted(dir(package)) == sorted(expected)
    with pytest.raises(AttributeError):
        _ = package.not_a_name


def test_an_export_is_the_object_defined_in_its_module() -> None:
    from sync.engine import SyncEngine
    from tracker.store import Tracker

    assert tracker.Tracker is Tracker
    assert sync.SyncEngine is SyncEngine
    assert importlib.import_module("tracker").SyncState.SYNCED == "synced"


def test_the_version_is_the_distribution_version() -> None:
    assert tracker.__version__ == sync.__version__ == version("trip-tracker")


def test_importing_the_packages_loads_no_database_or_network_library() -> None:
    probe = (
        "import sys, tracker, sync\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'httpx', 'apscheduler', 'pydantic')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""

"""trip-tracker's local side: trips, waypoints, cars and costs in one SQLite file, with a
change journal (outbox) written in the same transaction as every change.

Works with no network, always. Importing this package opens no database and loads no
database library: the names below are imported on first use. Start with
:meth:`Tracker.open`; docs/library.md shows the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.exports import lazy_exports

if TYPE_CHECKING:
    from tracker.bulkrows import BulkReport, RowError, TripRow
    from tracker.cars import Cars
    from tracker.costs import CostStore, CostView, QuarantineView
    from tracker.enums import (
        Classification,
        DistanceUnit,
        EntryOp,
        EntryState,
        Lifecycle,
        SyncState,
        TripSource,
        TripStatus,
    )
    from tracker.errors import (
        CorruptDatabaseError,
        DatabaseBusyError,
        InvalidInputError,
        NotFoundError,
        ReadOnlyStorageError,
        SchemaTooNewError,
        StateError,
        StorageError,
        StorageFullError,
        StorageUnavailableError,
        TrackerError,
    )
    from tracker.geo import TrackFilter
    from tracker.inputs import (
        Address,
        CarIn,
        ManualTripIn,
        Place,
        TripDetails,
        TripEdit,
        TripStart,
        WaypointIn,
    )
    from tracker.journal import Journal, JournalCounts
    from tracker.leases import Leases
    from tracker.outbox import Outbox
    from tracker.parked import ParkedChanges
    from tracker.provenance import Provenance
    from tracker.store import Tracker
    from tracker.triplist import TripPage
    from tracker.trips import Trips
    from tracker.verify import VerifyResult
    from tracker.views import CarView, EntryView, EventView, PlaceView, TripView, WaypointView

_EXPORTS = {
    "Address": "tracker.inputs",
    "BulkReport": "tracker.bulkrows",
    "CarIn": "tracker.inputs",
    "CarView": "tracker.views",
    "Cars": "tracker.cars",
    "Classification": "tracker.enums",
    "CorruptDatabaseError": "tracker.errors",
    "CostStore": "tracker.costs",
    "CostView": "tracker.costs",
    "DatabaseBusyError": "tracker.errors",
    "DistanceUnit": "tracker.enums",
    "EntryOp": "tracker.enums",
    "EntryState": "tracker.enums",
    "EntryView": "tracker.views",
    "EventView": "tracker.views",
    "InvalidInputError": "tracker.errors",
    "Journal": "tracker.journal",
    "JournalCounts": "tracker.journal",
    "Leases": "tracker.leases",
    "Lifecycle": "tracker.enums",
    "ManualTripIn": "tracker.inputs",
    "NotFoundError": "tracker.errors",
    "Outbox": "tracker.outbox",
    "ParkedChanges": "tracker.parked",
    "Place": "tracker.inputs",
    "PlaceView": "tracker.views",
    "Provenance": "tracker.provenance",
    "QuarantineView": "tracker.costs",
    "ReadOnlyStorageError": "tracker.errors",
    "RowError": "tracker.bulkrows",
    "SchemaTooNewError": "tracker.errors",
    "StateError": "tracker.errors",
    "StorageError": "tracker.errors",
    "StorageFullError": "tracker.errors",
    "StorageUnavailableError": "tracker.errors",
    "SyncState": "tracker.enums",
    "TrackFilter": "tracker.geo",
    "Tracker": "tracker.store",
    "TrackerError": "tracker.errors",
    "TripDetails": "tracker.inputs",
    "TripEdit": "tracker.inputs",
    "TripSource": "tracker.enums",
    "TripStart": "tracker.inputs",
    "TripPage": "tracker.triplist",
    "TripRow": "tracker.bulkrows",
    "TripStatus": "tracker.enums",
    "TripView": "tracker.views",
    "Trips": "tracker.trips",
    "VerifyResult": "tracker.verify",
    "WaypointIn": "tracker.inputs",
    "WaypointView": "tracker.views",
}

__all__ = [
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


__getattr__, __dir__ = lazy_exports("tracker", _EXPORTS, globals())

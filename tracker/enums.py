"""The closed vocabularies of the local model. Unknown values are rejected at input."""

from __future__ import annotations

from enum import StrEnum


class Classification(StrEnum):
    """What a trip was for (maps to Tight's ``mileageStatus`` through settings)."""

    BUSINESS = "business"
    PERSONAL = "personal"
    UNCLASSIFIED = "unclassified"


class DistanceUnit(StrEnum):
    """Unit of a trip's distance."""

    KM = "km"
    MILE = "mile"


class Lifecycle(StrEnum):
    """A trip is active, or a deleted tombstone (kept until the server knows; a trip deleted
    on the server says so in ``deleted_by`` and is never re-created)."""

    ACTIVE = "active"
    DELETED = "deleted"


class TripStatus(StrEnum):
    """A live trip is ``recording`` until stopped; only complete trips are pushed."""

    RECORDING = "recording"
    COMPLETE = "complete"


class TripSource(StrEnum):
    """How the trip was recorded."""

    LIVE = "live"
    MANUAL = "manual"
    GPX = "gpx"


class EntryState(StrEnum):
    """State of a change-journal entry."""

    PENDING = "pending"  # waiting to be pushed (maybe after a backoff)
    IN_FLIGHT = "in_flight"  # claimed by a pusher holding a lease
    SYNCED = "synced"  # the server has this change
    PARKED = "parked"  # the server rejected it; needs the user (edit, retry or drop)
    DROPPED = "dropped"  # the user gave up on this change


class EntryOp(StrEnum):
    """What the entry asks the server to do with the trip's latest state."""

    SAVE = "save"  # create (no remote id yet) or update
    DELETE = "delete"


class SyncState(StrEnum):
    """Where a trip stands with the server (``TripView.sync_state``)."""

    RECORDING = "recording"  # still being recorded; pushed once stopped
    PENDING = "pending"  # a change waits to be pushed
    IN_FLIGHT = "in_flight"  # being pushed right now
    IN_DOUBT = "in_doubt"  # sent, answer lost: looked up on the server before any resend
    PARKED = "parked"  # the server rejected the change; it waits for the user
    CONFLICT = "conflict"  # changed here and on the server differently; waits for the user
    SYNCED = "synced"  # the server has the latest change
    LOCAL = "local"  # deleted before it ever reached the server: nothing to send
    DROPPED = "dropped"  # never pushed: the user dropped its parked change


OPEN_STATES = (EntryState.PENDING, EntryState.IN_FLIGHT, EntryState.PARKED)


class ExportFormat(StrEnum):
    """A file format trips are exported to (``tracker trip export --format``)."""

    CSV = "csv"
    GPX = "gpx"

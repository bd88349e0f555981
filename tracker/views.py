"""Read models returned to callers (and printed by the CLI with ``--json``, snake_case)."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from tracker.enums import SyncState
from tracker.tables import Car, JournalEvent


class _View(BaseModel):
    # defer_build: a view's validator is built when it is first made, so a command builds
    # those it shows, not the nine of this module (start-up, issue 15).
    model_config = ConfigDict(frozen=True, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: decimals as strings, instants as ISO-8601."""
        return self.model_dump(mode="json")


class PlaceView(_View):
    """Where a trip started or ended."""

    lat: Decimal
    lng: Decimal
    address: dict[str, Any] | None = None


class TripView(_View):
    """A trip as stored, with its :class:`~tracker.enums.SyncState`."""

    id: str
    remote_id: str | None
    sync_state: SyncState
    status: str
    lifecycle: str
    source: str
    date: dt.date | None
    timezone: str
    start_time: datetime | None
    end_time: datetime | None
    start: PlaceView | None
    end: PlaceView | None
    distance: Decimal
    unit: str
    duration_ms: int | None
    classification: str
    description: str | None
    notes: str | None
    car_id: str | None
    customer_id: str | None
    class_segment_ids: list[str]
    custom_data: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    synced_at: datetime | None
    origin: str | None = None
    """``server``: made on the server (Tight's app, another device) and pulled here."""
    deleted_by: str | None = None
    """``server``: deleted on the server (the local trip followed; never re-created)."""
    account: str
    """Whose trip it is (fleet mode): the account's name, ``default`` for the implicit
    account (a trip of none), as ``tracker account list`` names it and ``--account``
    takes it."""

    @classmethod
    def from_row(cls, trip: Any, sync_state: SyncState) -> TripView:
        """Build from a table row (a ``Trip`` or a Core row with the same columns).

        ``model_construct``: the values were validated on their way into the database, and
        the pusher builds these for every record it sends.
        """
        return cls.model_construct(
            id=trip.id,
            remote_id=trip.remote_id,
            sync_state=sync_state,
            status=trip.status,
            lifecycle=trip.lifecycle,
            source=trip.source,
            date=trip.date,
            timezone=trip.timezone,
            start_time=trip.start_time,
            end_time=trip.end_time,
            start=_place(trip.start_lat, trip.start_lng, trip.start_address),
            end=_place(trip.end_lat, trip.end_lng, trip.end_address),
            distance=trip.distance,
            unit=trip.distance_unit,
            duration_ms=trip.duration_ms,
            classification=trip.classification,
            description=trip.description,
            notes=trip.notes,
            car_id=trip.car_id,
            customer_id=trip.customer_id,
            class_segment_ids=list(trip.class_segment_ids or []),
            custom_data=dict(trip.custom_data or {}),
            version=trip.version,
            created_at=trip.created_at,
            updated_at=trip.updated_at,
            deleted_at=trip.deleted_at,
            synced_at=trip.synced_at,
            origin=trip.origin,
            deleted_by=trip.deleted_by,
            account=_account_name(trip.account),
        )


def _account_name(key: str | None) -> str:
    # Here, not at the top: tracker.accounts imports this module (AccountView).
    from tracker.accounts import account_name

    return account_name(key)


def _place(lat: Decimal | None, lng: Decimal | None, address: Any) -> PlaceView | None:
    if lat is None or lng is None:
        return None
    return PlaceView.model_construct(lat=lat, lng=lng, address=address)


class CarView(_View):
    """A car."""

    id: str
    name: str
    make: str | None
    model: str | None
    year: int | None
    odometer: Decimal | None
    odometer_unit: str | None
    remote_id: str | None

    @classmethod
    def from_row(cls, car: Car) -> CarView:
        """Build from a table row (same field names)."""
        return cls.model_validate(car, from_attributes=True)


class OdometerReadingView(_View):
    """One odometer reading of a car (``tracker car odometer``)."""

    car_id: str
    date: dt.date
    reading: Decimal
    unit: str


class OdometerPeriodView(_View):
    """A car's odometer over a period: the readings that bound it, the distance they show,
    the trips' distance in the same unit, and a warning when the trips exceed it
    (:func:`tracker.odometer.check_period` states the rules)."""

    car_id: str
    start: OdometerReadingView | None
    end: OdometerReadingView | None
    unit: str
    driven: Decimal | None
    trips: Decimal
    warning: str | None


class EntryView(_View):
    """A change-journal entry."""

    seq: int
    trip_id: str
    op: str
    state: str
    attempts: int
    in_doubt: bool
    next_attempt_at: datetime | None
    error_type: str | None
    error_message: str | None
    error_param: str | None
    created_at: datetime
    updated_at: datetime
    synced_at: datetime | None
    first_failed_at: datetime | None = None
    """When the current failure streak began (None: not failing)."""
    last_failed_at: datetime | None = None
    """The streak's latest failure: ``attempts`` and the error fields say what it was."""

    @classmethod
    def from_row(cls, entry: Any) -> EntryView:
        """Build from a table row (same field names)."""
        return cls.model_validate(entry, from_attributes=True)


class EventView(_View):
    """One step of a trip's history."""

    entry_seq: int | None
    """The change (journal entry) it concerns; None: the trip had no entry left."""
    at: datetime
    event: str
    detail: str | None
    chained: bool = False
    """A link of the trip's hash chain (a change of its record: ``tracker.chain``), not
    one of the sync's own events."""

    @classmethod
    def from_row(cls, event: JournalEvent) -> EventView:
        """Build from a table row (same field names)."""
        return cls(
            entry_seq=event.entry_seq,
            at=event.at,
            event=event.event,
            detail=event.detail,
            chained=event.hash is not None,
        )


class WaypointView(_View):
    """One stored GPS fix."""

    seq: int
    time: datetime
    lat: float
    lng: float
    accuracy: float | None
    speed: float | None


class AccountView(_View):
    """An account (fleet mode): its credentials by reference, and its trips counted."""

    name: str
    tight_client_id: str | None
    tight_user_id: str | None
    tight_secret_ref: str | None
    tight_token_ref: str | None
    costs_token_ref: str | None
    created_at: datetime | None
    disabled_at: datetime | None
    trips: int
    pending: int

    @property
    def active(self) -> bool:
        """Not disabled: its trips are synced."""
        return self.disabled_at is None

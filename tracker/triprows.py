"""Trip rows inside a transaction: create one with its journal entry, find one, read its state.

Shared by the parts that change trips (``tracker.trips``, ``tracker.recording``). Every
function takes the caller's session; none commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import Session

from tracker import journal
from tracker.enums import Classification, DistanceUnit, EntryOp, Lifecycle, SyncState, TripStatus
from tracker.errors import InvalidInputError, NotFoundError, StateError
from tracker.geo import TrackFilter
from tracker.lookup import find_car, find_trip
from tracker.tables import Trip
from tracker.views import TripView

if TYPE_CHECKING:
    from tracker.inputs import Place, TripDetails


@dataclass(frozen=True)
class TripRules:
    """How this store records trips: the zone of trip dates, the unit and the GPS filter."""

    timezone: ZoneInfo
    unit: DistanceUnit = DistanceUnit.KM
    track_filter: TrackFilter = field(default_factory=TrackFilter)


def insert_trip(s: Session, rules: TripRules, now: datetime, **fields: Any) -> Trip:
    """A new active trip with a fresh UUID4, and its journal entry, in ``s``. The caller
    adds its first history link (``tracker.links.link``, event ``recorded``) once the trip's
    fields are final."""
    trip = Trip(
        id=str(uuid.uuid4()),
        lifecycle=Lifecycle.ACTIVE,
        timezone=rules.timezone.key,
        created_at=now,
        updated_at=now,
        **fields,
    )
    s.add(trip)
    s.flush()
    journal.record_change(s, trip.id, EntryOp.SAVE, now)
    return trip


def live_trip(s: Session, trip_id: str) -> Trip:
    """A trip that is still being recorded."""
    trip = find_trip(s, trip_id)
    if trip.status != TripStatus.RECORDING or trip.lifecycle != Lifecycle.ACTIVE:
        raise StateError(
            f"trip {trip.id} is not recording; start a new one with `tracker trip start`"
        )
    return trip


def resolve_car(s: Session, car_id: str | None) -> str | None:
    """The whole id of the car ``car_id`` names (an id or a unique prefix); refuses one that
    names no car (InvalidInputError, with the reason of the lookup)."""
    if car_id is None:
        return None
    try:
        return find_car(s, car_id).id
    except NotFoundError as err:
        raise InvalidInputError("car_id", str(err)) from err


def view(s: Session, trip: Trip) -> TripView:
    """The read model of ``trip`` with its sync state."""
    return TripView.from_row(trip, sync_state(trip, journal.open_states(s, [trip.id])))


def touch(trip: Trip, now: datetime) -> None:
    """Mark a trip changed (its version grows with every change)."""
    trip.updated_at = now
    trip.version += 1


def sync_state(trip: Any, states: Mapping[str, str]) -> SyncState:
    """A trip's :class:`~tracker.enums.SyncState` from its row and its open journal states."""
    if trip.status == TripStatus.RECORDING:
        return SyncState.RECORDING  # not pushed before it is stopped
    if trip.id in states:
        return SyncState(states[trip.id])
    if trip.remote_id is None:
        # Never on the server: deleted before any push, or its change was dropped.
        return SyncState.LOCAL if trip.lifecycle == Lifecycle.DELETED else SyncState.DROPPED
    return SyncState.SYNCED


def details(given: TripDetails) -> dict[str, Any]:
    """The descriptive columns of a validated input."""
    return {
        "classification": Classification(given.classification),
        "description": given.description,
        "notes": given.notes,
        "car_id": given.car_id,
        "customer_id": given.customer_id,
        "class_segment_ids": list(given.class_segment_ids),
        "custom_data": dict(given.custom_data),
    }


def place_columns(prefix: str, place: Place | None) -> dict[str, Any]:
    """The ``start_*`` or ``end_*`` columns of a validated place."""
    if place is None:
        return {}
    return {
        f"{prefix}_lat": place.lat,
        f"{prefix}_lng": place.lng,
        f"{prefix}_address": place.address.model_dump(exclude_none=True) if place.address else None,
    }


def trip_rows(s: Session, trip_ids: Sequence[str]) -> list[Any]:
    """Core rows, not ORM objects (a dry run reads a whole backlog of these)."""
    table = Trip.__table__  # type: ignore[attr-defined]
    return list(s.connection().execute(sa_select(table).where(table.c.id.in_(list(trip_ids)))))


def millis(delta: timedelta) -> int:
    """A duration in whole milliseconds (Tight's ``duration``)."""
    return delta // timedelta(milliseconds=1)


def exact(value: float) -> Decimal:
    """A float coordinate as a Decimal: repr() is the shortest round-trip text (no binary
    artefacts)."""
    return Decimal(repr(value))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_micros(t_us: int) -> datetime:
    """A stored waypoint time (UTC epoch microseconds) as an aware instant."""
    return _EPOCH + timedelta(microseconds=t_us)

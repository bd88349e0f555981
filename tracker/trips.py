"""Trips: record, enter by hand, edit, delete and read them (``store.trips``).

Every change is one ``BEGIN IMMEDIATE`` transaction that also writes the trip's journal
entry; input passes a validated model (``tracker.inputs``) before any row is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import col, func, select

from tracker import journal
from tracker.enums import EntryOp, Lifecycle, SyncState, TripSource, TripStatus
from tracker.errors import StateError
from tracker.geo import local_date
from tracker.inputs import ManualTripIn, TripEdit, parse
from tracker.lookup import find_trip
from tracker.recording import Recorder
from tracker.tables import Trip, Waypoint
from tracker.triprows import (
    check_car,
    details,
    from_micros,
    insert_trip,
    millis,
    place_columns,
    touch,
    trip_rows,
    view,
)
from tracker.triprows import sync_state as state_of
from tracker.views import TripView, WaypointView

__all__ = ["Trips"]


class Trips(Recorder):
    """The trips of one store: live recording and GPX import (from :class:`Recorder`),
    manual entry, edits, deletes and reads.

    Trip ids may be given as a unique prefix of 4 or more characters.
    """

    def add(self, data: ManualTripIn | Mapping[str, Any]) -> TripView:
        """Record a finished trip by hand (a date and a distance at least)."""
        given = parse(ManualTripIn, data)
        now = self._db.now()
        with self._db.write() as s:
            check_car(s, given.car_id)
            start = given.start_time
            day = given.date
            if day is None:
                assert start is not None  # ManualTripIn guarantees a date or a start time
                day = local_date(start, self._rules.timezone)
            trip = insert_trip(
                s,
                self._rules,
                now,
                status=TripStatus.COMPLETE,
                source=TripSource.MANUAL,
                date=day,
                start_time=start,
                end_time=given.end_time,
                duration_ms=millis(given.end_time - start) if start and given.end_time else None,
                distance=given.distance,
                distance_unit=given.unit,
                **details(given),
                **place_columns("start", given.start),
                **place_columns("end", given.end),
            )
            return view(s, trip)

    def edit(self, trip_id: str, changes: TripEdit | Mapping[str, Any]) -> TripView:
        """Change a trip's details; re-queues it for sync (also when it was parked)."""
        edit = parse(TripEdit, changes)
        now = self._db.now()
        with self._db.write() as s:
            trip = find_trip(s, trip_id)
            if trip.lifecycle != Lifecycle.ACTIVE:
                where = " on the server" if trip.deleted_by == "server" else ""
                raise StateError(f"trip {trip.id} was deleted{where}; it can no longer be edited")
            fields = edit.model_fields_set
            if "car_id" in fields:
                check_car(s, edit.car_id)
            for name in fields:
                setattr(trip, "distance_unit" if name == "unit" else name, getattr(edit, name))
            touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.SAVE, now)
            return view(s, trip)

    def delete(self, trip_id: str) -> TripView:
        """Delete a trip: a tombstone until the server knows (never-pushed trips cost no
        request). Deleting twice is harmless."""
        now = self._db.now()
        with self._db.write() as s:
            trip = find_trip(s, trip_id)
            if trip.lifecycle != Lifecycle.ACTIVE:
                return view(s, trip)
            trip.lifecycle = Lifecycle.DELETED
            trip.deleted_at = now
            if trip.status == TripStatus.RECORDING:
                trip.status = TripStatus.COMPLETE
                trip.end_time = now
            touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.DELETE, now)
            return view(s, trip)

    def get(self, trip_id: str) -> TripView:
        """One trip by id (or a unique id prefix of at least 4 characters)."""
        with self._db.read() as s:
            return view(s, find_trip(s, trip_id))

    def count(self, *, include_deleted: bool = False) -> int:
        """How many trips there are (active ones unless ``include_deleted``)."""
        with self._db.read() as s:
            query = select(func.count()).select_from(Trip)
            if not include_deleted:
                query = query.where(Trip.lifecycle == Lifecycle.ACTIVE)
            return int(s.exec(query).one())

    def by_id(self, trip_ids: Sequence[str]) -> dict[str, TripView]:
        """Several trips at once (deleted ones included), keyed by id."""
        with self._db.read() as s:
            rows = trip_rows(s, trip_ids)
            states = journal.open_states(s, list(trip_ids))
            return {t.id: TripView.from_row(t, state_of(t, states)) for t in rows}

    def waypoints(self, trip_id: str) -> list[WaypointView]:
        """A trip's stored fixes, in order."""
        with self._db.read() as s:
            trip = find_trip(s, trip_id)
            rows = s.exec(
                select(Waypoint).where(Waypoint.trip_id == trip.id).order_by(col(Waypoint.seq))
            ).all()
            return [
                WaypointView(
                    seq=w.seq,
                    time=from_micros(w.t_us),
                    lat=w.lat,
                    lng=w.lng,
                    accuracy=w.accuracy,
                    speed=w.speed,
                )
                for w in rows
            ]

    def waypoint_count(self, trip_id: str) -> int:
        """How many fixes a trip has."""
        with self._db.read() as s:
            trip = find_trip(s, trip_id)
            return int(s.exec(select(func.count()).where(Waypoint.trip_id == trip.id)).one())

    def list(
        self,
        *,
        include_deleted: bool = False,
        limit: int | None = None,
        sync_state: SyncState | str | None = None,
    ) -> list[TripView]:
        """Trips, newest start first; ``sync_state`` keeps the trips in that state."""
        wanted = None if sync_state is None else SyncState(sync_state)
        with self._db.read() as s:
            query = select(Trip).order_by(
                col(Trip.start_time).desc(), col(Trip.date).desc(), col(Trip.created_at).desc()
            )
            if not include_deleted:
                query = query.where(Trip.lifecycle == Lifecycle.ACTIVE)
            states = journal.open_states(s)
            views = [TripView.from_row(t, state_of(t, states)) for t in s.exec(query).all()]
        if wanted is not None:
            views = [v for v in views if v.sync_state == wanted]
        return views[:limit] if limit is not None else views

"""The Tracker: the local store's public face. Every method is one transaction.

Each change to a trip writes its journal entry in the same ``BEGIN IMMEDIATE`` transaction
(see ``tracker.journal``). Input is validated (``tracker.inputs``) before any table row is
built; SQLite failures surface as typed ``StorageError``s.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tracker import journal, lease
from tracker.db import DbOptions, Synchronous, create_db_engine, prepare_file, translate_errors
from tracker.enums import (
    Classification,
    DistanceUnit,
    EntryOp,
    EntryState,
    Lifecycle,
    TripSource,
    TripStatus,
)
from tracker.errors import CorruptDatabaseError, InvalidInputError, NotFoundError, StateError
from tracker.geo import Fix, TrackFilter, local_date, summarize
from tracker.inputs import (
    CarIn,
    ManualTripIn,
    Place,
    TripDetails,
    TripEdit,
    TripStart,
    WaypointIn,
    WaypointRow,
    parse,
    waypoint_rows,
)
from tracker.journal import Claimed, JournalCounts, Outcome
from tracker.outbox import OutboxTrip, read_outbox_trips
from tracker.schema import ensure_schema
from tracker.tables import Car, JournalEntry, Trip, Waypoint
from tracker.views import CarView, EntryView, EventView, TripView, WaypointView

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def system_timezone() -> ZoneInfo:
    """The system's IANA zone (tzlocal), or UTC when it cannot be determined."""
    try:
        import tzlocal

        zone = tzlocal.get_localzone()
        return zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone))
    except Exception:
        return ZoneInfo("UTC")


@dataclasses.dataclass
class PushStep:
    """What :meth:`Tracker.push_step` did: the seqs whose outcomes it recorded (an entry
    whose claim was lost is skipped: fencing), and the batch it claimed."""

    applied: list[int]
    claimed: list[Claimed] = dataclasses.field(default_factory=list)
    trips: dict[str, OutboxTrip] = dataclasses.field(default_factory=dict)
    lease_lost: bool = False


class Tracker:
    """Trips, waypoints and cars in one SQLite file, with a change journal.

    Open with :meth:`open`; use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        path: Path,
        engine: Engine,
        *,
        timezone: ZoneInfo,
        track_filter: TrackFilter,
        unit: DistanceUnit,
        clock: Clock,
    ) -> None:
        self.path = path
        self._engine = engine
        self._reader = engine.execution_options(sqlite_begin="DEFERRED")
        self.timezone = timezone
        self.track_filter = track_filter
        self.unit = unit
        self._now = clock
        self._integrity_checked = False

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        timezone: ZoneInfo | str | None = None,
        track_filter: TrackFilter | None = None,
        unit: DistanceUnit | str = DistanceUnit.KM,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
        clock: Clock = _utcnow,
    ) -> Tracker:
        """Open (creating or upgrading in place) the database at ``path``."""
        path = Path(path)
        zone = _zone(timezone)
        prepare_file(path)
        engine = create_db_engine(
            path, DbOptions(synchronous=synchronous, busy_timeout=busy_timeout)
        )
        try:
            ensure_schema(engine, path)
        except BaseException:
            engine.dispose()
            raise
        return cls(
            path,
            engine,
            timezone=zone,
            track_filter=track_filter or TrackFilter(),
            unit=DistanceUnit(unit),
            clock=clock,
        )

    def close(self) -> None:
        """Release every connection."""
        self._engine.dispose()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (writes start with BEGIN IMMEDIATE)."""
        return self._engine

    def check_integrity(self) -> None:
        """``PRAGMA quick_check``: raise CorruptDatabaseError (and write nothing) when the file
        is damaged. Sync runs this before touching a file, so a damaged database is neither
        pushed from nor pulled into. Checked once per opened store (it reads the whole file)."""
        if self._integrity_checked:
            return
        with self.read() as s:
            problems = [row[0] for row in s.connection().exec_driver_sql("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise CorruptDatabaseError(
                f"database {self.path} is damaged ({problems[0]}); it was left untouched and "
                f"nothing was synced: keep a copy and recover it with "
                f"`sqlite3 {self.path} .recover`",
                path=str(self.path),
            )
        self._integrity_checked = True

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error."""
        with translate_errors(self.path), Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction (deferred BEGIN): a consistent snapshot that blocks no writer."""
        with translate_errors(self.path), Session(self._reader) as session, session.begin():
            yield session

    def now(self) -> datetime:
        """The store's clock (UTC)."""
        return self._now()

    # ------------------------------------------------------------------ recording
    def start_trip(self, data: TripStart | Mapping[str, Any] | None = None) -> TripView:
        """Start a live recording. The trip is pushed once :meth:`stop_trip` completes it."""
        start = parse(TripStart, data or {})
        now = self._now()
        begins = start.start_time or now
        with self.write() as s:
            self._check_car(s, start.car_id)
            trip = self._insert_trip(
                s,
                now,
                status=TripStatus.RECORDING,
                source=TripSource.LIVE,
                date=local_date(begins, self.timezone),
                start_time=begins,
                distance=Decimal(0),
                distance_unit=self.unit,
                **_details(start),
                **_place_columns("start", start.start),
            )
            return self._view(s, trip)

    def add_point(self, trip_id: str, point: WaypointIn | Mapping[str, Any]) -> None:
        """Append one fix to a recording trip."""
        self.add_points(trip_id, [parse(WaypointIn, point)])

    def add_points(
        self,
        trip_id: str,
        points: Iterable[WaypointIn | Mapping[str, Any] | Sequence[Any]],
    ) -> int:
        """Append fixes in bulk (all or none), through SQLAlchemy Core executemany.

        Each point is a WaypointIn, a mapping, or a tuple (time, lat, lng[, accuracy[, speed]]).
        Returns how many were stored.
        """
        with self.write() as s:
            trip = self._live_trip(s, trip_id)
            last = s.exec(
                select(Waypoint.seq, Waypoint.t_us)
                .where(Waypoint.trip_id == trip.id)
                .order_by(col(Waypoint.seq).desc())
                .limit(1)
            ).first()
            seq0, after = (last[0] + 1, last[1]) if last else (0, None)
            rows = waypoint_rows(trip.id, seq0, points, after)
            if not rows:
                return 0
            _insert_waypoints(s, rows)
            journal.record_change(s, trip.id, EntryOp.SAVE, self._now())
            return len(rows)

    def stop_trip(self, trip_id: str, *, end_time: datetime | None = None) -> TripView:
        """Finish a recording: compute distance, duration, end points; queue it for sync.

        Distance is the haversine length of the fixes left after dropping poor-accuracy
        fixes and impossible jumps (``track_filter``). With no usable fix it is 0.
        """
        if end_time is not None:
            end_time = parse(WaypointIn, {"time": end_time, "lat": 0, "lng": 0}).time
        now = self._now()
        with self.write() as s:
            trip = self._live_trip(s, trip_id)
            fixes = _fixes(s, trip.id)
            ends = end_time or now
            if fixes and fixes[-1].time > ends:
                ends = fixes[-1].time
            assert trip.start_time is not None
            if end_time is None and ends < trip.start_time:
                # The clock was stepped back since the start: a trip must stay stoppable.
                ends = trip.start_time
            if ends < trip.start_time:
                raise InvalidInputError("end_time", "must not be before the trip's start")
            self._apply_summary(trip, fixes)
            trip.end_time = ends
            trip.duration_ms = _millis(ends - trip.start_time)
            trip.status = TripStatus.COMPLETE
            self._touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.SAVE, now)
            return self._view(s, trip)

    def _apply_summary(self, trip: Trip, fixes: Sequence[Fix]) -> None:
        if not fixes:
            return
        try:
            summary = summarize(fixes, self.track_filter, self.unit.value)
            first, last, distance = summary.start, summary.end, summary.distance
        except InvalidInputError:
            # No fix survived the filter: keep the raw end points, distance 0 (visible).
            first, last, distance = fixes[0], fixes[-1], Decimal(0)
        trip.distance = distance
        trip.distance_unit = self.unit
        if trip.start_lat is None:
            trip.start_lat, trip.start_lng = _dec(first.lat), _dec(first.lng)
        trip.end_lat, trip.end_lng = _dec(last.lat), _dec(last.lng)

    # ------------------------------------------------------------------ manual, import
    def add_trip(self, data: ManualTripIn | Mapping[str, Any]) -> TripView:
        """Record a finished trip by hand (a date and a distance at least)."""
        trip_in = parse(ManualTripIn, data)
        now = self._now()
        with self.write() as s:
            self._check_car(s, trip_in.car_id)
            start = trip_in.start_time
            trip = self._insert_trip(
                s,
                now,
                status=TripStatus.COMPLETE,
                source=TripSource.MANUAL,
                date=trip_in.date or local_date(_required(start), self.timezone),
                start_time=start,
                end_time=trip_in.end_time,
                duration_ms=(
                    _millis(trip_in.end_time - start) if start and trip_in.end_time else None
                ),
                distance=trip_in.distance,
                distance_unit=trip_in.unit,
                **_details(trip_in),
                **_place_columns("start", trip_in.start),
                **_place_columns("end", trip_in.end),
            )
            return self._view(s, trip)

    def import_gpx(
        self,
        source: Path | bytes | str,
        details: TripDetails | Mapping[str, Any] | None = None,
    ) -> list[TripView]:
        """Import every track of a GPX file as a finished trip (all tracks or none)."""
        from tracker.gpx import read_gpx

        extra = parse(TripDetails, details or {})
        tracks = read_gpx(source)
        now = self._now()
        views: list[TripView] = []
        with self.write() as s:
            self._check_car(s, extra.car_id)
            for number, track in enumerate(tracks):
                field = f"gpx.trk[{number}]"
                if not track.fixes:
                    raise InvalidInputError(field, "has no track points")
                begins, ends = track.fixes[0].time, track.fixes[-1].time
                details_cols = _details(extra)
                if not details_cols.get("description") and track.name:
                    details_cols["description"] = track.name[:500]
                trip = self._insert_trip(
                    s,
                    now,
                    status=TripStatus.COMPLETE,
                    source=TripSource.GPX,
                    date=local_date(begins, self.timezone),
                    start_time=begins,
                    end_time=ends,
                    duration_ms=_millis(ends - begins),
                    distance=Decimal(0),
                    distance_unit=self.unit,
                    **details_cols,
                )
                rows = waypoint_rows(
                    trip.id,
                    0,
                    ((f.time, f.lat, f.lng, f.accuracy, f.speed) for f in track.fixes),
                    None,
                )
                _insert_waypoints(s, rows)
                self._apply_summary(trip, track.fixes)
                s.add(trip)
                views.append(self._view(s, trip))
        return views

    # ------------------------------------------------------------------ edit, delete
    def edit_trip(self, trip_id: str, changes: TripEdit | Mapping[str, Any]) -> TripView:
        """Change a trip's details; re-queues it for sync (also when it was parked)."""
        edit = parse(TripEdit, changes)
        now = self._now()
        with self.write() as s:
            trip = self._trip(s, trip_id)
            if trip.lifecycle == Lifecycle.DELETED:
                raise StateError(f"trip {trip.id} is deleted; it can no longer be edited")
            fields = edit.model_fields_set
            if "car_id" in fields:
                self._check_car(s, edit.car_id)
            for name in fields:
                value = getattr(edit, name)
                if name == "unit":
                    trip.distance_unit = value
                elif name in ("classification",):
                    trip.classification = value
                else:
                    setattr(trip, name, value)
            self._touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.SAVE, now)
            return self._view(s, trip)

    def delete_trip(self, trip_id: str) -> TripView:
        """Delete a trip: a tombstone until the server knows (never-pushed trips cost no
        request). Deleting twice is harmless."""
        now = self._now()
        with self.write() as s:
            trip = self._trip(s, trip_id)
            if trip.lifecycle == Lifecycle.DELETED:
                return self._view(s, trip)
            trip.lifecycle = Lifecycle.DELETED
            trip.deleted_at = now
            if trip.status == TripStatus.RECORDING:
                trip.status = TripStatus.COMPLETE
                trip.end_time = now
            self._touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.DELETE, now)
            return self._view(s, trip)

    # ------------------------------------------------------------------ reads
    def get_trip(self, trip_id: str) -> TripView:
        """One trip by id (or a unique id prefix of at least 4 characters)."""
        with self.read() as s:
            return self._view(s, self._trip(s, trip_id))

    def list_trips(
        self,
        *,
        include_deleted: bool = False,
        limit: int | None = None,
        sync_state: str | None = None,
    ) -> list[TripView]:
        """Trips, newest start first."""
        with self.read() as s:
            query = select(Trip).order_by(
                col(Trip.start_time).desc(), col(Trip.date).desc(), col(Trip.created_at).desc()
            )
            if not include_deleted:
                query = query.where(Trip.lifecycle == Lifecycle.ACTIVE)
            states = journal.open_states(s)
            views = [TripView.from_row(t, _state(t, states)) for t in s.exec(query).all()]
        if sync_state is not None:
            views = [v for v in views if v.sync_state == sync_state]
        return views[:limit] if limit is not None else views

    def trip_count(self, *, include_deleted: bool = False) -> int:
        """How many trips there are (active ones unless ``include_deleted``)."""
        with self.read() as s:
            query = select(func.count()).select_from(Trip)
            if not include_deleted:
                query = query.where(Trip.lifecycle == Lifecycle.ACTIVE)
            return int(s.exec(query).one())

    def trips_by_id(self, trip_ids: Sequence[str]) -> dict[str, TripView]:
        """Several trips at once (deleted ones included), keyed by id."""
        with self.read() as s:
            rows = _trip_rows(s, trip_ids)
            states = journal.open_states(s, list(trip_ids))
            return {t.id: TripView.from_row(t, _state(t, states)) for t in rows}

    def waypoints(self, trip_id: str) -> list[WaypointView]:
        """A trip's stored fixes, in order."""
        with self.read() as s:
            trip = self._trip(s, trip_id)
            rows = s.exec(
                select(Waypoint).where(Waypoint.trip_id == trip.id).order_by(col(Waypoint.seq))
            ).all()
            return [
                WaypointView(
                    seq=w.seq,
                    time=_from_micros(w.t_us),
                    lat=w.lat,
                    lng=w.lng,
                    accuracy=w.accuracy,
                    speed=w.speed,
                )
                for w in rows
            ]

    def waypoint_count(self, trip_id: str) -> int:
        """How many fixes a trip has."""
        with self.read() as s:
            trip = self._trip(s, trip_id)
            return int(s.exec(select(func.count()).where(Waypoint.trip_id == trip.id)).one())

    # ------------------------------------------------------------------ cars
    def add_car(self, data: CarIn | Mapping[str, Any]) -> CarView:
        """Add a car."""
        car_in = parse(CarIn, data)
        now = self._now()
        with self.write() as s:
            car = Car(
                id=str(uuid.uuid4()),
                name=car_in.name,
                make=car_in.make,
                model=car_in.model,
                year=car_in.year,
                odometer=car_in.odometer,
                odometer_unit=car_in.odometer_unit,
                remote_id=car_in.remote_id,
                created_at=now,
                updated_at=now,
            )
            s.add(car)
            s.flush()
            return CarView.from_row(car)

    def list_cars(self) -> list[CarView]:
        """Every car, by name."""
        with self.read() as s:
            return [CarView.from_row(c) for c in s.exec(select(Car).order_by(col(Car.name)))]

    def get_car(self, car_id: str) -> CarView:
        """One car."""
        with self.read() as s:
            car = s.get(Car, car_id)
            if car is None:
                raise NotFoundError("car", car_id)
            return CarView.from_row(car)

    # ------------------------------------------------------------------ journal
    def journal_counts(self) -> JournalCounts:
        """Journal entries per state, and the oldest pending one's time."""
        with self.read() as s:
            return journal.counts(s)

    def next_attempt_at(self) -> datetime | None:
        """When the earliest waiting retry is due (None when nothing waits)."""
        with self.read() as s:
            return journal.next_attempt(s)

    def last_error(self) -> EntryView | None:
        """The most recent entry that carries a server or transport error."""
        with self.read() as s:
            entry = journal.last_error(s)
            return EntryView.from_row(entry) if entry else None

    def history(self, trip_id: str) -> tuple[list[EntryView], list[EventView]]:
        """A trip's journal entries and the events that happened to them."""
        with self.read() as s:
            trip = self._trip(s, trip_id)
            entries = [EntryView.from_row(e) for e in journal.entries_for(s, trip.id)]
            events = [EventView.from_row(e) for e in journal.events_for(s, trip.id)]
            return entries, events

    def parked(self) -> list[EntryView]:
        """Changes the server rejected, waiting for the user."""
        with self.read() as s:
            return [EntryView.from_row(e) for e in journal.parked(s)]

    def parked_entry(self, seq: int) -> EntryView:
        """One parked entry."""
        with self.read() as s:
            entry = s.get(JournalEntry, seq)
            if entry is None or entry.state != EntryState.PARKED:
                raise NotFoundError("parked", str(seq))
            return EntryView.from_row(entry)

    def retry_parked(self, seq: int) -> EntryView:
        """Queue a parked change again as it is (after fixing something server-side)."""
        return self._move_parked(seq, EntryState.PENDING, "retry requested")

    def drop_parked(self, seq: int) -> EntryView:
        """Give up on a parked change. The trip stays as it is locally."""
        return self._move_parked(seq, EntryState.DROPPED, "dropped by user")

    def _move_parked(self, seq: int, state: EntryState, event: str) -> EntryView:
        with self.write() as s:
            entry = journal.set_parked_state(s, seq, state, self._now(), event)
            if entry is None:
                raise NotFoundError("parked", str(seq))
            return EntryView.from_row(entry)

    # ------------------------------------------------------------------ for the pusher
    def claim(self, owner: str, limit: int, lease: timedelta) -> list[Claimed]:
        """Claim due entries for ``owner`` (see ``tracker.journal.claim``)."""
        with self.write() as s:
            return journal.claim(s, owner, limit, lease, self._now())

    def push_step(
        self,
        owner: str,
        outcomes: Sequence[Outcome] = (),
        resolved: Mapping[int, str | None] | None = None,
        *,
        limit: int,
        lease_for: timedelta,
        hold: lease.LeaseHold | None = None,
        retry_waiting: bool = False,
        before_commit: Callable[[], None] | None = None,
    ) -> PushStep:
        """The pusher's step, in one transaction and so one durable commit per batch:
        record the last answered batch (``resolved``: reconciliation results, seq -> the
        server's id or None when proven absent; then ``outcomes``), renew ``hold``, claim up
        to ``limit`` due entries (0: none; ``retry_waiting``: those waiting for a retry too)
        and read their trips.

        When ``hold`` was lost the answer is still recorded and nothing is claimed
        (``lease_lost``). ``before_commit`` runs just before the commit when an answer was
        recorded (crash tests)."""
        with self.write() as s:
            now = self._now()
            if resolved:
                for seq, remote_id in resolved.items():
                    journal.resolve_doubt(s, owner, seq, remote_id, now)
                s.flush()  # the outcomes below are written by raw SQL, after these
            applied = journal.apply_outcomes(s, owner, outcomes, now)
            step = PushStep(applied)
            if limit > 0:
                if hold is not None and not lease.renew(
                    s, hold.name, hold.owner, hold.fence, hold.ttl, now
                ):
                    step.lease_lost = True
                else:
                    step.claimed = journal.claim(
                        s, owner, limit, lease_for, now, retry_waiting=retry_waiting
                    )
                    step.trips = read_outbox_trips(
                        s.connection(), [c.trip_id for c in step.claimed]
                    )
            if before_commit is not None and (outcomes or resolved):
                s.flush()
                before_commit()
            return step

    def peek(self, limit: int, *, retry_waiting: bool = False) -> list[Claimed]:
        """What a claim would take now, without taking it (dry runs): the claim itself, in a
        transaction that is rolled back, so the two can never disagree."""
        with translate_errors(self.path), Session(self._engine) as s:
            s.begin()
            try:
                taken = journal.claim(
                    s, "dry-run", limit, timedelta(0), self._now(), retry_waiting=retry_waiting
                )
            finally:
                s.rollback()
        return [dataclasses.replace(c, attempts=c.attempts - 1) for c in taken]

    def apply(self, owner: str, outcomes: Iterable[Outcome]) -> list[int]:
        """Apply push results for entries ``owner`` still holds; returns the applied seqs."""
        with self.write() as s:
            return journal.apply_outcomes(s, owner, outcomes, self._now())

    def release(self, owner: str, seqs: Iterable[int], *, in_doubt: bool) -> int:
        """Give claimed entries back to the queue."""
        with self.write() as s:
            return journal.release(s, owner, seqs, self._now(), in_doubt=in_doubt)

    # ------------------------------------------------------------------ leases
    def acquire_lease(self, name: str, owner: str, ttl: timedelta) -> int | None:
        """Take the named lease; returns its fence, or None while another owner holds it."""
        with self.write() as s:
            return lease.acquire(s, name, owner, ttl, self._now())

    def renew_lease(self, name: str, owner: str, fence: int, ttl: timedelta) -> bool:
        """Extend a lease we hold; False if it was lost (stop working then)."""
        with self.write() as s:
            return lease.renew(s, name, owner, fence, ttl, self._now())

    def release_lease(self, name: str, owner: str, fence: int) -> None:
        """Give a lease up."""
        with self.write() as s:
            lease.release(s, name, owner, fence)

    def expire_claims(self, owner: str) -> int:
        """End every journal claim of ``owner`` now (a pusher known to be dead)."""
        with self.write() as s:
            return journal.expire_claims(s, owner, self._now())

    def lease_info(self, name: str) -> lease.LeaseInfo:
        """Who holds the named lease."""
        with self.read() as s:
            return lease.info(s, name)

    # ------------------------------------------------------------------ helpers
    def _insert_trip(self, s: Session, now: datetime, **fields: Any) -> Trip:
        """A new active trip with a fresh UUID4, and its journal entry, in ``s``."""
        trip = Trip(
            id=str(uuid.uuid4()),
            lifecycle=Lifecycle.ACTIVE,
            timezone=self.timezone.key,
            created_at=now,
            updated_at=now,
            **fields,
        )
        s.add(trip)
        s.flush()
        journal.record_change(s, trip.id, EntryOp.SAVE, now)
        return trip

    def _trip(self, s: Session, trip_id: str) -> Trip:
        trip = s.get(Trip, trip_id)
        if trip is None and len(trip_id) >= 4 and "%" not in trip_id and "_" not in trip_id:
            matches = s.exec(select(Trip).where(col(Trip.id).startswith(trip_id)).limit(2)).all()
            trip = matches[0] if len(matches) == 1 else None
        if trip is None:
            raise NotFoundError("trip", trip_id)
        return trip

    def _live_trip(self, s: Session, trip_id: str) -> Trip:
        trip = self._trip(s, trip_id)
        if trip.status != TripStatus.RECORDING or trip.lifecycle != Lifecycle.ACTIVE:
            raise StateError(
                f"trip {trip.id} is not recording; start a new one with `tracker trip start`"
            )
        return trip

    def _check_car(self, s: Session, car_id: str | None) -> None:
        if car_id is not None and s.get(Car, car_id) is None:
            raise InvalidInputError("car_id", f"no car with id {car_id!r}")

    def _view(self, s: Session, trip: Trip) -> TripView:
        return TripView.from_row(trip, _state(trip, journal.open_states(s, [trip.id])))

    @staticmethod
    def _touch(trip: Trip, now: datetime) -> None:
        trip.updated_at = now
        trip.version += 1


def _zone(value: ZoneInfo | str | None) -> ZoneInfo:
    if value is None:
        return system_timezone()
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(value)
    except (ValueError, KeyError) as err:
        raise InvalidInputError("timezone", f"unknown time zone {value!r}") from err
    except Exception as err:
        raise InvalidInputError("timezone", f"unknown time zone {value!r}") from err


def _state(trip: Any, states: Mapping[str, str]) -> str:
    if trip.status == TripStatus.RECORDING:
        return "recording"  # not pushed before it is stopped
    if trip.id in states:
        return states[trip.id]
    if trip.remote_id is None:
        # Never on the server: deleted before any push, or its change was dropped.
        return "local" if trip.lifecycle == Lifecycle.DELETED else "dropped"
    return "synced"


def _details(details: TripDetails) -> dict[str, Any]:
    return {
        "classification": Classification(details.classification),
        "description": details.description,
        "notes": details.notes,
        "car_id": details.car_id,
        "customer_id": details.customer_id,
        "class_segment_ids": list(details.class_segment_ids),
        "custom_data": dict(details.custom_data),
    }


def _place_columns(prefix: str, place: Place | None) -> dict[str, Any]:
    if place is None:
        return {}
    return {
        f"{prefix}_lat": place.lat,
        f"{prefix}_lng": place.lng,
        f"{prefix}_address": place.address.model_dump(exclude_none=True) if place.address else None,
    }


def _trip_rows(s: Session, trip_ids: Sequence[str]) -> list[Any]:
    # Core rows, not ORM objects (a dry run reads a whole backlog of these).
    table = Trip.__table__  # type: ignore[attr-defined]
    return list(s.connection().execute(sa_select(table).where(table.c.id.in_(list(trip_ids)))))


@functools.cache
def _waypoint_insert_sql() -> str:
    """The Core INSERT for waypoints, compiled once for SQLite (qmark parameters)."""
    from sqlalchemy.dialects import sqlite

    table = Waypoint.__table__  # type: ignore[attr-defined]
    return str(insert(table).compile(dialect=sqlite.dialect()))


def _insert_waypoints(s: Session, rows: list[WaypointRow]) -> None:
    # Core executemany of positional rows straight to the driver: SQLAlchemy's per-row
    # dict processing halved the rate in a measurement (see bench/ingest.py).
    s.connection().exec_driver_sql(_waypoint_insert_sql(), rows)


def _fixes(s: Session, trip_id: str) -> list[Fix]:
    table = Waypoint.__table__  # type: ignore[attr-defined]
    rows = s.connection().execute(
        sa_select(table.c.t_us, table.c.lat, table.c.lng, table.c.accuracy, table.c.speed)
        .where(table.c.trip_id == trip_id)
        .order_by(table.c.seq)
    )
    return [Fix(_from_micros(t), lat, lng, acc, spd) for t, lat, lng, acc, spd in rows]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_micros(t_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=t_us)


def _millis(delta: timedelta) -> int:
    return delta // timedelta(milliseconds=1)


def _dec(value: float) -> Decimal:
    # repr() of a float is the shortest string that round-trips: no binary artefacts.
    return Decimal(repr(value))


def _required(value: datetime | None) -> datetime:
    assert value is not None  # ManualTripIn guarantees a date or a start_time
    return value

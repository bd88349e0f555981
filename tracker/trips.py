"""Trips: record, enter by hand, edit, delete and read them (``store.trips``).

Every change is one ``BEGIN IMMEDIATE`` transaction that also writes the trip's journal
entry; input passes a validated model (``tracker.inputs``) before any row is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlmodel import func, select

from tracker import journal
from tracker.accounts import Accounts
from tracker.enums import EntryOp, Lifecycle, SyncState, TripSource, TripStatus
from tracker.errors import InvalidInputError, StateError
from tracker.geo import local_date
from tracker.links import covered_row, link
from tracker.lookup import find_trip, find_trip_row
from tracker.recording import Recorder
from tracker.tables import Trip
from tracker.tally import read_tally
from tracker.tracks import fix_count, stored_fixes
from tracker.triplist import (
    COUNT_SQL,
    DEFAULT_PAGE,
    MAX_PAGE,
    MORE_CAP,
    PAGE_SQL,
    TripPage,
    decode_cursor,
    encode_cursor,
    list_sql,
    page_params,
)
from tracker.triprows import (
    details,
    insert_trip,
    millis,
    place_columns,
    resolve_car,
    touch,
    trip_rows,
    view,
)
from tracker.triprows import sync_state as state_of
from tracker.views import TripView, WaypointView

if TYPE_CHECKING:
    from tracker.inputs import ManualTripIn, TripEdit
    from tracker.provenance import Provenance

__all__ = ["Trips"]


class Trips(Recorder):
    """The trips of one store: live recording and GPX import (from :class:`Recorder`),
    manual entry, edits, deletes and reads.

    Trip ids may be given as a unique prefix of 4 or more characters.
    """

    def add(
        self, data: ManualTripIn | Mapping[str, Any], *, account: str | None = None
    ) -> TripView:
        """Record a finished trip by hand (a date and a distance at least). ``account``:
        whose trip it is (fleet mode; None: the implicit account); it must be active."""
        from tracker.inputs import ManualTripIn, parse  # validation: only when writing

        given = parse(ManualTripIn, data)
        now = self._db.now()
        with self._db.write() as s:
            owner = self._owner(s, account)
            given = given.model_copy(update={"car_id": resolve_car(s, given.car_id)})
            start = given.start_time
            day = given.date
            if day is None:
                assert start is not None  # ManualTripIn guarantees a date or a start time
                day = local_date(start, self._rules.timezone)
            trip = insert_trip(
                s,
                self._rules,
                now,
                account=owner,
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
            link(s, trip.id, now, "recorded", "entered by hand")
            return view(s, trip)

    def edit(self, trip_id: str, changes: TripEdit | Mapping[str, Any]) -> TripView:
        """Change a trip's details; re-queues it for sync (also when it was parked)."""
        from tracker.inputs import TripEdit, parse

        edit = parse(TripEdit, changes)
        now = self._db.now()
        with self._db.write() as s:
            trip = find_trip(s, trip_id)
            if trip.lifecycle != Lifecycle.ACTIVE:
                where = " on the server" if trip.deleted_by == "server" else ""
                raise StateError(f"trip {trip.id} was deleted{where}; it can no longer be edited")
            fields = edit.model_fields_set
            before = covered_row(s, trip.id)
            if "car_id" in fields:
                edit = edit.model_copy(update={"car_id": resolve_car(s, edit.car_id)})
            for name in fields:
                setattr(trip, "distance_unit" if name == "unit" else name, getattr(edit, name))
            touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.SAVE, now)
            link(s, trip.id, now, "edited", before=before)
            return view(s, trip)

    def delete(self, trip_id: str) -> TripView:
        """Delete a trip: a tombstone until the server knows (never-pushed trips cost no
        request). Deleting twice is harmless."""
        now = self._db.now()
        with self._db.write() as s:
            trip = find_trip(s, trip_id)
            if trip.lifecycle != Lifecycle.ACTIVE:
                return view(s, trip)
            before = covered_row(s, trip.id)
            trip.lifecycle = Lifecycle.DELETED
            trip.deleted_at = now
            if trip.status == TripStatus.RECORDING:
                trip.status = TripStatus.COMPLETE
                trip.end_time = now
            touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.DELETE, now)
            link(s, trip.id, now, "deleted", before=before)
            return view(s, trip)

    def get(self, trip_id: str) -> TripView:
        """One trip by id (or a unique id prefix of at least 4 characters)."""
        with self._db.read() as s:
            return view(s, find_trip_row(s, trip_id))

    def provenance(self, trip_id: str) -> Provenance:
        """How and when the trip was recorded, and each later change to it with what
        changed (from its history's links; see ``tracker.provenance``)."""
        from tracker import provenance

        with self._db.read() as s:
            return provenance.read(s, find_trip_row(s, trip_id))

    def count(self, *, include_deleted: bool = False) -> int:
        """How many trips there are (active ones unless ``include_deleted``)."""
        with self._db.read() as s:
            if not include_deleted:  # kept by triggers (tracker.tally): no scan of the store
                return read_tally(s.connection())["trip:active"]
            return int(s.exec(select(func.count()).select_from(Trip)).one())

    def by_id(self, trip_ids: Sequence[str]) -> dict[str, TripView]:
        """Several trips at once (deleted ones included), keyed by id."""
        with self._db.read() as s:
            rows = trip_rows(s, trip_ids)
            states = journal.open_states(s, list(trip_ids))
            return {t.id: TripView.from_row(t, state_of(t, states)) for t in rows}

    def waypoints(self, trip_id: str) -> list[WaypointView]:
        """A trip's stored fixes, in order (to the precision ``tracker.fixcodec`` states)."""
        with self._db.read() as s:
            trip = find_trip(s, trip_id)
            return [
                WaypointView(seq=seq, time=t, lat=lat, lng=lng, accuracy=acc, speed=spd)
                for seq, t, lat, lng, acc, spd in stored_fixes(s, trip.id)
            ]

    def waypoint_count(self, trip_id: str) -> int:
        """How many fixes a trip has."""
        with self._db.read() as s:
            return fix_count(s, find_trip_row(s, trip_id).id)

    def page(
        self,
        *,
        limit: int = DEFAULT_PAGE,
        after: str | None = None,
        include_deleted: bool = False,
        sync_state: SyncState | str | None = None,
        count_up_to: int = MORE_CAP,
        account: str | None = None,
    ) -> TripPage:
        """One page of trips, newest date first (then latest start, then id), paged in SQL.

        ``after``: the ``next`` cursor of the previous page (None: the first page).
        ``limit``: trips per page, 1 to :data:`~tracker.triplist.MAX_PAGE`.
        ``sync_state`` keeps the trips in that state; ``include_deleted`` adds tombstones.
        ``account``: only that account's trips (fleet mode; ``default``: the implicit
        account's; NotFoundError for a name that is no account); None: every account's.
        ``count_up_to``: the trips after the page are counted up to this many (``more``;
        ``more_exact`` False beyond). Costs one page and that count, whatever the size of
        the store::

            page = store.trips.page(limit=20)
            while page.next:
                page = store.trips.page(limit=20, after=page.next)
        """
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError("limit", f"must be between 1 and {MAX_PAGE}, not {limit}")
        if count_up_to < 0:
            raise InvalidInputError("count_up_to", f"must be 0 or more, not {count_up_to}")
        wanted = None if sync_state is None else parse_state(sync_state)
        key = None if after is None else decode_cursor(after)
        # A disabled account's trips are listed too: reading gives nothing to it.
        owner = None if account is None else Accounts(self._db).key_of(account)
        params = page_params(
            include_deleted=include_deleted,
            sync_state=wanted,
            after=key,
            limit=limit,
            every_account=account is None,
            account=owner,
        )
        with self._db.read() as s:
            conn = s.connection()
            rows = conn.exec_driver_sql(list_sql(PAGE_SQL, conn.dialect.name), params).all()
            ids = [r[0] for r in rows]
            found = {t.id: t for t in trip_rows(s, ids)}
            states = journal.open_states(s, ids)
            trips = [TripView.from_row(found[i], state_of(found[i], states)) for i in ids]
            if not rows:
                return TripPage(trips, None, 0)
            last = (rows[-1][1], rows[-1][2], rows[-1][0])
            after_last = {**params, "k0": last[0], "k1": last[1], "k2": last[2]}
            counted = {**after_last, "cap": count_up_to + 1}
            count_sql = list_sql(COUNT_SQL, conn.dialect.name)
            more = int(conn.exec_driver_sql(count_sql, counted).scalar_one())
        cursor = encode_cursor(last) if more else None
        return TripPage(trips, cursor, min(more, count_up_to), more <= count_up_to)

    def list(
        self,
        *,
        include_deleted: bool = False,
        limit: int | None = None,
        sync_state: SyncState | str | None = None,
        account: str | None = None,
    ) -> list[TripView]:
        """Trips in list order (see :meth:`page`); ``limit=None``: all of them, read page by
        page; ``account``: that account's only. For a store of any size prefer
        :meth:`page`."""
        out: list[TripView] = []
        after: str | None = None
        while limit is None or len(out) < limit:
            size = MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(out))
            page = self.page(
                limit=size,
                after=after,
                include_deleted=include_deleted,
                sync_state=sync_state,
                account=account,
            )
            out.extend(page.trips)
            if page.next is None:
                break
            after = page.next
        return out


def parse_state(value: SyncState | str) -> SyncState:
    """A sync state by name; InvalidInputError naming the known ones otherwise."""
    try:
        return SyncState(value)
    except ValueError:
        known = ", ".join(s.value for s in SyncState)
        raise InvalidInputError("state", f"unknown sync state {value!r}; one of {known}") from None

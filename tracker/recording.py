"""Trips made of GPS fixes: live recording (start, fixes, stop) and GPX import.

Distance is the length of the fixes left after the track filter (accuracy, impossible
jumps); docs/library.md states the method. Each call is one transaction; each change writes
its journal entry in it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker import journal
from tracker.accounts import require_active
from tracker.db import Database
from tracker.enums import Classification, EntryOp, TripSource, TripStatus
from tracker.errors import InvalidInputError
from tracker.geo import Fix, dropped_note, local_date, summarize
from tracker.importkeys import imported_keys, origin_key, remember_import
from tracker.links import covered_row, link
from tracker.tables import Trip
from tracker.tracks import append_fixes, track_fixes
from tracker.triprows import (
    TripRules,
    details,
    exact,
    insert_trip,
    live_trip,
    millis,
    place_columns,
    resolve_car,
    touch,
    view,
)
from tracker.views import TripView

if TYPE_CHECKING:  # validation models load when a method validates (not for reads)
    from sqlmodel import Session

    from tracker.inputs import TripDetails, TripStart, WaypointIn

__all__ = ["Recorder"]

log = logging.getLogger(__name__)

_KINDS = frozenset(c.value for c in Classification)
# Waypoint rows of a GPX track built and inserted at a time.
_IMPORT_SLICE = 10_000


class Recorder:
    """Starts, feeds and stops live trips; imports GPX tracks (the base of
    :class:`~tracker.trips.Trips`)."""

    def __init__(self, db: Database, rules: TripRules, account: str | None = None) -> None:
        self._db = db
        self._rules = rules
        self._account = account  # the account new trips belong to unless one is given

    def _owner(self, s: Session, account: str | None) -> str | None:
        """The stored account of a new trip: ``account``, else this store's; it must be an
        active account (InvalidInputError)."""
        return require_active(s, self._account if account is None else account)

    def start(
        self, data: TripStart | Mapping[str, Any] | None = None, *, account: str | None = None
    ) -> TripView:
        """Start a live recording. The trip is pushed once :meth:`stop` completes it.
        ``account``: whose trip it is (fleet mode; None: the implicit account)."""
        from tracker.inputs import TripStart, parse

        start = parse(TripStart, data or {})
        now = self._db.now()
        begins = start.start_time or now
        with self._db.write() as s:
            owner = self._owner(s, account)
            start = start.model_copy(update={"car_id": resolve_car(s, start.car_id)})
            trip = insert_trip(
                s,
                self._rules,
                now,
                account=owner,
                status=TripStatus.RECORDING,
                source=TripSource.LIVE,
                date=local_date(begins, self._rules.timezone),
                start_time=begins,
                distance=Decimal(0),
                distance_unit=self._rules.unit,
                **details(start),
                **place_columns("start", start.start),
            )
            link(s, trip.id, now, "recorded", "live GPS")
            return view(s, trip)

    def add_point(self, trip_id: str, point: WaypointIn | Mapping[str, Any]) -> None:
        """Append one fix to a recording trip."""
        from tracker.inputs import WaypointIn, parse

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
        with self._db.write() as s:
            trip = live_trip(s, trip_id)
            stored = append_fixes(s, trip.id, points)
            if stored:
                journal.record_change(s, trip.id, EntryOp.SAVE, self._db.now())
            return stored

    def stop(self, trip_id: str, *, end_time: datetime | None = None) -> TripView:
        """Finish a recording: compute distance, duration, end points; queue it for sync.

        Distance is the length of the fixes left after dropping poor-accuracy fixes and
        impossible jumps (the store's track filter). With no usable fix it is 0.
        """
        if end_time is not None:
            from tracker.inputs import WaypointIn, parse

            end_time = parse(WaypointIn, {"time": end_time, "lat": 0, "lng": 0}).time
        now = self._db.now()
        with self._db.write() as s:
            trip = live_trip(s, trip_id)
            before = covered_row(s, trip.id)
            fixes = track_fixes(s, trip.id)
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
            trip.duration_ms = millis(ends - trip.start_time)
            trip.status = TripStatus.COMPLETE
            touch(trip, now)
            s.add(trip)
            journal.record_change(s, trip.id, EntryOp.SAVE, now)
            link(s, trip.id, now, "stopped", before=before)
            return view(s, trip)

    def import_gpx(
        self,
        source: Path | bytes | str,
        extra: TripDetails | Mapping[str, Any] | None = None,
        *,
        account: str | None = None,
    ) -> list[TripView]:
        """Import every track of a GPX file as a finished trip (all tracks or none); returns
        the trips made. ``account``: whose trips they are (fleet mode; None: this store's,
        the implicit account unless a ``for_account`` view); it must be active.

        A track imported before (the same file content, the same track) is skipped: each is
        keyed by the file's SHA-256 and its number (``trip_import``, as the CSV import keys
        rows), so importing a file twice adds nothing and returns no trip.
        """
        from tracker.gpx import read_gpx
        from tracker.inputs import TripDetails, parse

        given = parse(TripDetails, extra or {})
        tracks = read_gpx(source)
        prefix = f"gpx:{_digest(source)}:"
        keys = [origin_key(t.trip_id) or f"{prefix}{n}" for n, t in enumerate(tracks)]
        now = self._db.now()
        views: list[TripView] = []
        with self._db.write() as s:
            owner = self._owner(s, account)
            given = given.model_copy(update={"car_id": resolve_car(s, given.car_id)})
            known = imported_keys(s, keys)
            for number, track in enumerate(tracks):
                if not track.fixes:
                    raise InvalidInputError(f"gpx.trk[{number}]", "has no track points")
                key = keys[number]
                if key in known:
                    continue
                known.add(key)  # the same trip twice in one file: the first is kept
                if track.same_time_dropped:
                    log.warning(
                        "gpx.trk[%d]: %d point(s) with the same time as the point before "
                        "were dropped (the first of each kept)",
                        number,
                        track.same_time_dropped,
                    )
                begins, ends = track.fixes[0].time, track.fixes[-1].time
                columns = details(given)
                if not columns.get("description") and track.name:
                    columns["description"] = track.name[:500]
                if "classification" not in given.model_fields_set and track.kind in _KINDS:
                    columns["classification"] = Classification(track.kind)
                trip = insert_trip(
                    s,
                    self._rules,
                    now,
                    account=owner,
                    status=TripStatus.COMPLETE,
                    source=TripSource.GPX,
                    date=local_date(begins, self._rules.timezone),
                    start_time=begins,
                    end_time=ends,
                    duration_ms=millis(ends - begins),
                    distance=Decimal(0),
                    distance_unit=self._rules.unit,
                    **columns,
                )
                # In slices, so that only one slice of rows is ever held besides the compact
                # columns (the rows of 400,000 fixes would be ~90 MB). One transaction still:
                # a failure leaves nothing of the file.
                for start in range(0, len(track.fixes), _IMPORT_SLICE):
                    append_fixes(
                        s,
                        trip.id,
                        (
                            (f.time, f.lat, f.lng, f.accuracy, f.speed)
                            for f in track.fixes[start : start + _IMPORT_SLICE]
                        ),
                    )
                self._apply_summary(trip, track.fixes)
                s.add(trip)
                remember_import(s, key, trip.id)
                link(s, trip.id, now, "recorded", "GPX import")
                views.append(view(s, trip))
        return views

    def _apply_summary(self, trip: Trip, fixes: Sequence[Fix]) -> None:
        if not fixes:
            return
        unit = self._rules.unit
        try:
            summary = summarize(fixes, self._rules.track_filter, unit.value)
            first, last, distance = summary.start, summary.end, summary.distance
        except InvalidInputError as err:
            # No fix survived the filter: keep the raw end points, distance 0 (visible).
            first, last, distance = fixes[0], fixes[-1], Decimal(0)
            log.warning("trip %s: distance 0: %s", trip.id, err.reason)
        else:
            note = dropped_note(summary, self._rules.track_filter)
            if note:
                log.warning("trip %s: %s", trip.id, note)
        trip.distance = distance
        trip.distance_unit = unit
        if trip.start_lat is None:
            trip.start_lat, trip.start_lng = exact(first.lat), exact(first.lng)
        trip.end_lat, trip.end_lng = exact(last.lat), exact(last.lng)


def _digest(source: Path | bytes | str) -> str:
    """The SHA-256 of a GPX source's bytes (a file is read in blocks, never whole)."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    data = source.encode() if isinstance(source, str) else source
    return hashlib.sha256(data).hexdigest()

"""The inbox: what the mileage pull writes into the store (``store.inbox``).

A pull reads the server's records page by page. For each page, :meth:`Inbox.apply` opens one
write transaction, reads the local trips the page names (by Tight id, and by the local id a
record carries), hands them to the caller's ``decide`` function (the sync side's merge, pure)
and applies what it decided, with the pull's checkpoint: a page is applied whole or not at
all, and a pull killed anywhere resumes after the last applied page. Decisions never write a
journal entry that would push the server's own values back. docs/sync-guarantees.md ("Two-way
sync") holds the rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from tracker import journal
from tracker.accounts import of_account
from tracker.coltypes import stored_json
from tracker.db import Database
from tracker.decisions import (
    Adopt,
    Applied,
    CreateLocal,
    Decide,
    Decision,
    DeleteLocal,
    Hold,
    Keep,
    LocalTrip,
    Recreate,
    RunStep,
    TakeServer,
)
from tracker.enums import EntryOp, EntryState, Lifecycle, TripSource, TripStatus
from tracker.inputs import RemoteTripIn
from tracker.links import covered_row, link
from tracker.outbox import read_outbox_trips
from tracker.pullruns import PullStart, advance, begin, finish
from tracker.sentsaves import sent_bodies
from tracker.tables import Car, Conflict, JournalEntry, Trip

__all__ = ["Inbox", "write_values"]

HELD_STATES = (EntryState.PENDING, EntryState.IN_FLIGHT, EntryState.PARKED)
"""States of a trip's open change (a conflict holds it: it waits while the conflict lasts)."""


class Inbox:
    """Applies what a pull found on the server (see the module docstring)."""

    def __init__(self, db: Database, account: str | None = None) -> None:
        self._db = db
        # Whose records the pulls bring (None: the implicit account): only this account's
        # trips are matched, and the trips made from the server's records are given to it.
        self.account = account

    def _walk(self, name: str) -> str:
        return name if self.account is None else f"{name}:{self.account}"

    def apply(
        self,
        remote_ids: Iterable[str],
        local_ids: Iterable[str],
        decide: Decide,
        *,
        step: RunStep | None = None,
    ) -> Applied:
        """Read the local trips of a page, ``decide``, apply, and move the pull's checkpoint
        (``step``), all in one transaction."""
        now = self._db.now()
        with self._db.write() as s:
            if step is not None:
                advance(
                    s.connection(),
                    self._walk(step.name),
                    step.run_id,
                    step.checkpoint,
                    step.pages,
                    step.items,
                )
            by_remote, by_local = _local_trips(s, list(remote_ids), list(local_ids), self.account)
            applied = Applied()
            for decision in decide(by_remote, by_local):
                _apply(s, decision, now, applied, self.account)
            return applied

    def begin_run(self, name: str) -> PullStart:
        """Resume the interrupted walk ``name`` if there is one, else start a new one."""
        with self._db.write() as s:
            return begin(s, self._walk(name), self._db.now())

    def finish_run(self, name: str, run_id: str, *, complete: bool) -> None:
        """Close walk ``run_id`` (its checkpoint is cleared)."""
        with self._db.write() as s:
            finish(s, self._walk(name), run_id, self._db.now(), complete=complete, stop_reason=None)

    def candidates_gone(self, since: date | None, seen: set[str]) -> list[str]:
        """Trips of ours on the server (active, with a Tight id, dated ``since`` or later)
        that a complete walk did not see: deleted there, or moved out of the window."""
        with self._db.read() as s:
            query = select(Trip.id, Trip.remote_id).where(
                col(Trip.remote_id).is_not(None),
                Trip.lifecycle == Lifecycle.ACTIVE,
                of_account(self.account),
            )
            if since is not None:
                query = query.where(col(Trip.date) >= since)
            return [trip_id for trip_id, remote in s.exec(query) if remote not in seen]

    def local(self, trip_ids: Sequence[str]) -> dict[str, LocalTrip]:
        """The local trips ``trip_ids`` as the merge sees them (by trip id)."""
        with self._db.read() as s:
            return _load(s, list(trip_ids))


_BY_REMOTE_ID_SQL = (
    "SELECT id FROM trip WHERE remote_id IN (SELECT value FROM json_each(?)) "
    "AND coalesce(account, '') = ?"
)
_BY_ID_SQL = (
    "SELECT id FROM trip WHERE id IN (SELECT value FROM json_each(?)) AND coalesce(account, '') = ?"
)


def _local_trips(
    s: Session, remote_ids: list[str], local_ids: list[str], account: str | None
) -> tuple[dict[str, LocalTrip], dict[str, LocalTrip]]:
    ids: set[str] = set()
    # By Tight id, then by the local id a record carries: this account's trips only. Another
    # account's trip with the same local id is not ours (tracker.accounts: isolation).
    for sql, values in ((_BY_REMOTE_ID_SQL, remote_ids), (_BY_ID_SQL, local_ids)):
        if values:
            found = s.connection().exec_driver_sql(sql, (_json(values), account or ""))
            ids |= {trip_id for (trip_id,) in found}
    loaded = _load(s, sorted(ids))
    by_remote = {t.trip.remote_id: t for t in loaded.values() if t.trip.remote_id is not None}
    return by_remote, loaded


def _load(s: Session, trip_ids: list[str]) -> dict[str, LocalTrip]:
    if not trip_ids:
        return {}
    conn = s.connection()
    trips = read_outbox_trips(conn, trip_ids)
    extra = {
        row[0]: row[1:]
        for row in conn.exec_driver_sql(
            "SELECT t.id, t.lifecycle, t.status, t.remote_record, c.remote_id, t.sent_record "
            "FROM trip AS t "
            "LEFT JOIN car AS c ON c.id = t.car_id "
            "WHERE t.id IN (SELECT value FROM json_each(?))",
            (_json(trip_ids),),
        )
    }
    changes: dict[str, tuple[str, bool]] = {}
    for trip_id, state, doubt in conn.exec_driver_sql(
        "SELECT trip_id, state, in_doubt FROM journal WHERE trip_id IN "
        "(SELECT value FROM json_each(?)) AND state IN "
        "('pending', 'in_flight', 'parked') ORDER BY seq",
        (_json(trip_ids),),
    ):
        changes.setdefault(trip_id, (state, bool(doubt)))
    out: dict[str, LocalTrip] = {}
    for trip_id, trip in trips.items():
        lifecycle, status, record, car_remote, sent = extra[trip_id]
        change, doubt = changes.get(trip_id, (None, False))
        out[trip_id] = LocalTrip(
            trip=trip,
            lifecycle=lifecycle,
            status=status,
            base=_loads(record),
            change=change,
            in_doubt=doubt,
            car_remote_id=car_remote,
            sent=tuple(sent_bodies(stored_json(sent))),
        )
    return out


def _json(values: Sequence[str]) -> str:
    import json

    return json.dumps(list(values))


def _loads(stored: Any) -> dict[str, Any] | None:
    value = stored_json(stored)
    return value if isinstance(value, dict) else None


# ------------------------------------------------------------------------ applying
def _apply(
    s: Session, decision: Decision, now: datetime, applied: Applied, account: str | None
) -> None:
    if isinstance(decision, Keep):
        applied.unchanged += 1
    elif isinstance(decision, TakeServer):
        trip = _trip(s, decision.trip_id)
        before = covered_row(s, trip.id)
        write_values(s, trip, decision.values, now)
        trip.remote_record = decision.record
        trip.synced_at = now
        _touch(s, trip, now)
        _say(s, trip.id, now, "changed on the server", decision.words, before=before)
        applied.updated += 1
        applied.changed.append(trip.id)
    elif isinstance(decision, Adopt):
        trip = _trip(s, decision.trip_id)
        trip.remote_id = decision.remote_id
        trip.remote_record = decision.record
        s.add(trip)
        for entry in _open_entries(s, trip.id):
            if entry.in_doubt:
                entry.in_doubt = False
                s.add(entry)
        _say(s, trip.id, now, "reconciled", (f"found on the server as {decision.remote_id}",))
        applied.adopted += 1
    elif isinstance(decision, CreateLocal):
        if _another_accounts(s, decision, account):
            applied.others += 1
        else:
            _create(s, decision, now, account)
            applied.created += 1
    elif isinstance(decision, DeleteLocal):
        trip = _trip(s, decision.trip_id)
        before = covered_row(s, trip.id)
        trip.lifecycle = Lifecycle.DELETED
        trip.deleted_by = "server"
        trip.deleted_at = now
        _touch(s, trip, now)
        if decision.drop_change:
            for entry in _open_entries(s, trip.id):
                entry.state = EntryState.DROPPED
                entry.updated_at = now
                s.add(entry)
        said = ["the trip is kept here as a tombstone"]
        if decision.drop_change:
            said.append("the change made here is dropped (TRACKER_SYNC_CONFLICTS=remote)")
        _say(s, trip.id, now, "deleted on the server", said, before=before)
        applied.deleted += 1
    elif isinstance(decision, Recreate):
        trip = _trip(s, decision.trip_id)
        before = covered_row(s, trip.id)
        trip.remote_id = None
        trip.remote_record = None
        _touch(s, trip, now)
        for entry in _open_entries(s, trip.id):
            entry.op = EntryOp.SAVE
            entry.in_doubt = False
            s.add(entry)
        again = "edited here: it is created again (TRACKER_SYNC_CONFLICTS=local)"
        _say(s, trip.id, now, "deleted on the server", [again], before=before)
        applied.recreated += 1
    elif _hold(s, decision, now):
        applied.conflicts.append(decision.trip_id)


def _trip(s: Session, trip_id: str) -> Trip:
    trip = s.get(Trip, trip_id)
    if trip is None:  # the decision was made on this transaction's own read
        raise LookupError(f"trip {trip_id} vanished during a pull")
    return trip


def _touch(s: Session, trip: Trip, now: datetime) -> None:
    trip.updated_at = now
    trip.version += 1
    s.add(trip)


_PLACES = ("start", "end")


def write_values(s: Session, trip: Trip, values: RemoteTripIn, now: datetime) -> None:
    """The fields given in ``values`` onto ``trip`` (``None`` clears), in ``s``."""
    for name in values.model_fields_set:
        value = getattr(values, name)
        if name == "unit":
            trip.distance_unit = value
        elif name in _PLACES:
            setattr(trip, f"{name}_lat", None if value is None else value.lat)
            setattr(trip, f"{name}_lng", None if value is None else value.lng)
            address = None if value is None or value.address is None else value.address
            setattr(
                trip,
                f"{name}_address",
                None if address is None else address.model_dump(exclude_none=True),
            )
        elif name == "car_remote_id":
            trip.car_id = None if value is None else _car_for(s, value, now)
        else:
            setattr(trip, name, value)


def _car_for(s: Session, remote_id: str, now: datetime) -> str:
    """The local car with this Tight id; a car this device does not know yet (chosen in
    Tight's app, or on another device) is added, so that the trip keeps it: a trip without
    it would send no ``carId`` and take the car off the server's record."""
    found = s.exec(select(Car.id).where(Car.remote_id == remote_id)).first()
    if found is not None:
        return str(found)
    car = Car(
        id=str(uuid.uuid4()),
        name=f"{remote_id} (from Tight)",
        remote_id=remote_id,
        created_at=now,
        updated_at=now,
    )
    s.add(car)
    s.flush()
    return car.id


def _another_accounts(s: Session, decision: CreateLocal, account: str | None) -> bool:
    """The record is a trip of another account of this store (the pull matched only its
    own account's trips): by its Tight id, or by the local id it carries."""
    found = s.connection().exec_driver_sql(
        "SELECT 1 FROM trip WHERE remote_id = ? AND coalesce(account, '') <> ?",
        (decision.remote_id, account or ""),
    )
    if found.first() is not None:
        return True
    local = None if decision.local_id is None else s.get(Trip, decision.local_id)
    return local is not None and local.account != account


def _create(s: Session, decision: CreateLocal, now: datetime, account: str | None) -> None:
    values = decision.values
    trip_id = decision.local_id
    if trip_id is None or s.get(Trip, trip_id) is not None:
        trip_id = str(uuid.uuid4())
    trip = Trip(
        id=trip_id,
        remote_id=decision.remote_id,
        status=TripStatus.COMPLETE,
        lifecycle=Lifecycle.ACTIVE,
        source=TripSource.MANUAL,
        origin="server",
        account=account,
        timezone="UTC",
        distance=values.distance if values.distance is not None else Decimal(0),
        distance_unit=values.unit or "km",
        classification=values.classification or "unclassified",
        remote_record=decision.record,
        synced_at=now,
        created_at=now,
        updated_at=now,
    )
    write_values(s, trip, values, now)
    s.add(trip)
    s.flush()
    # A synced entry carries the trip's history: nothing of it is pushed back.
    entry = JournalEntry(
        trip_id=trip.id,
        op=EntryOp.SAVE,
        state=EntryState.SYNCED,
        payload_version=journal.PAYLOAD_VERSION,
        created_at=now,
        updated_at=now,
        synced_at=now,
    )
    s.add(entry)
    s.flush()
    assert entry.seq is not None
    link(s, trip.id, now, "pulled", f"made on the server as {decision.remote_id}")


def _hold(s: Session, decision: Hold, now: datetime) -> bool:
    """Hold the trip's change in a conflict; False when it already was, for the same fields."""
    entries = _open_entries(s, decision.trip_id)
    entry = next(iter(entries), None)
    if entry is None or entry.seq is None:  # the decide function holds only changed trips
        raise LookupError(f"trip {decision.trip_id} has no change to hold")
    row = s.get(Conflict, decision.trip_id)
    if row is not None and (row.kind, row.fields) == (decision.kind, decision.fields):
        return False  # already held for the same reason: nothing new to say
    if row is None:
        row = Conflict(
            trip_id=decision.trip_id,
            entry_seq=entry.seq,
            kind=decision.kind,
            fields=[],
            found_at=now,
        )
    row.entry_seq, row.kind, row.fields = entry.seq, decision.kind, decision.fields
    row.server_record, row.found_at = decision.record, now
    s.add(row)
    names = ", ".join(f["name"] for f in decision.fields) or "the trip"
    what = (
        "deleted on the server, edited here"
        if decision.kind == "deleted"
        else f"changed here and on the server: {names}"
    )
    journal.add_event(s, entry.seq, decision.trip_id, now, "conflict", what)
    return True


def _open_entries(s: Session, trip_id: str) -> list[JournalEntry]:
    return [e for e in journal.entries_for(s, trip_id) if e.state in HELD_STATES]


def _say(
    s: Session,
    trip_id: str,
    now: datetime,
    event: str,
    words: Iterable[str],
    *,
    before: tuple[Any, ...] | None = None,
) -> None:
    """A history event on the trip's latest entry (none: every entry was compacted); with
    ``before`` (the covered row before the change), a link of the trip's chain."""
    if before is not None:
        link(s, trip_id, now, event, "; ".join(words) or None, before=before)
        return
    latest = s.exec(
        select(JournalEntry.seq)
        .where(JournalEntry.trip_id == trip_id)
        .order_by(col(JournalEntry.seq).desc())
        .limit(1)
    ).first()
    journal.add_event(s, latest, trip_id, now, event, "; ".join(words) or None)

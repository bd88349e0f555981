"""The outbox: the narrow interface the pusher works through (claim, record, give back).

:class:`Outbox` is the part of :class:`~tracker.store.Tracker` the sync side claims
journal entries from and records the server's answers into (``tracker.claims`` holds the
rules). What it reads about the claimed trips are plain records from one static statement:
the pusher reads a batch of trips per request. Pydantic read models (``TripView``) and
SQLAlchemy's per-column result processing cost more than the statement itself (measured with
``bench/push.py``: ~3.5 ms of a ~20 ms batch of 100), so these are slotted dataclasses
decoded here, with the same codecs as ``tracker.coltypes``. Field names follow ``TripView``
so the wire mapping (``sync.tight.mapping``) takes either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tracker import claims, leases
from tracker.claims import Claimed
from tracker.coltypes import from_utc_text, stored_date, stored_json, utc_text
from tracker.db import Database
from tracker.journal import add_events, add_pending, next_seqs
from tracker.leases import LeaseHold
from tracker.outcomes import Verdict
from tracker.pushcount import (
    BLOCKED_SQL,
    END_OF_TIME,
    PENDING_TALLY_SQL,
    PUSH_COUNT_SQL,
    PUSH_TOTALS_SQL,
    WAITING_SQL,
    PushCount,
    from_tally,
    from_totals,
)

if TYPE_CHECKING:
    from tracker.rates.schedule import Schedule

__all__ = [
    "Claimed",
    "Outbox",
    "OutboxPlace",
    "OutboxTrip",
    "Step",
    "count_from_tally",
    "read_outbox_trips",
]


@dataclass(frozen=True, slots=True)
class OutboxPlace:
    """Where a trip started or ended."""

    lat: Decimal
    lng: Decimal
    address: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OutboxTrip:
    """A trip's latest state, as the pusher sends it."""

    id: str
    remote_id: str | None
    date: dt.date | None
    start_time: datetime | None
    end_time: datetime | None
    start: OutboxPlace | None
    end: OutboxPlace | None
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
    car_remote_id: str | None = None
    """The Tight id of the trip's car, when the car has one."""
    base_json: Any = None  # as read: SQLite's text, PostgreSQL's parsed value
    """The last server copy seen of the trip (JSON text; see :attr:`base`)."""
    deduction: int | None = None
    """Its deduction in the schedule's minor unit, when read with a schedule
    (``tracker.deductions``); None: none is sent."""
    deduction_error: str | None = None
    """Why no deduction could be worked out (no rate covers the trip): it is not sent."""

    @property
    def base(self) -> dict[str, Any] | None:
        """The last server copy seen of the trip (None: the server never answered for it)."""
        base: dict[str, Any] | None = _json(self.base_json)
        return base


# Column order is the unpacking order in ``_trip`` below.
_SQL = (
    "SELECT t.id, t.remote_id, t.date, t.start_time, t.end_time, t.start_lat, t.start_lng, "
    "t.start_address, t.end_lat, t.end_lng, t.end_address, t.distance, t.distance_unit, "
    "t.duration_ms, t.classification, t.description, t.notes, t.car_id, t.customer_id, "
    "t.class_segment_ids, t.custom_data, c.remote_id, t.remote_record "
    "FROM trip AS t LEFT JOIN car AS c ON c.id = t.car_id "
    "WHERE t.id IN (SELECT value FROM json_each(?))"
)


def read_outbox_trips(
    conn: Any, trip_ids: Sequence[str], schedule: Schedule | None = None
) -> dict[str, OutboxTrip]:
    """The trips ``trip_ids`` by id, read on ``conn`` (a SQLAlchemy Connection, inside the
    caller's transaction), with their deduction under ``schedule`` when given. Ids with no
    trip are absent from the result."""
    if not trip_ids:
        return {}
    rows = conn.exec_driver_sql(_SQL, (json.dumps(list(trip_ids)),)).all()
    trips = {row[0]: _trip(row) for row in rows}
    if schedule is not None:
        # Here, not at the top: without a deduction schedule (the default) a push or a dry
        # run never loads the rate tables' code (start-up, issue 15).
        from tracker.deductions import deductions

        for trip_id, owed in deductions(conn, schedule, trips.values()).items():
            trips[trip_id] = dataclasses.replace(
                trips[trip_id], deduction=owed.amount, deduction_error=owed.error
            )
    return trips


def _trip(row: Sequence[Any]) -> OutboxTrip:
    (
        trip_id,
        remote_id,
        day,
        start_time,
        end_time,
        start_lat,
        start_lng,
        start_address,
        end_lat,
        end_lng,
        end_address,
        distance,
        unit,
        duration_ms,
        classification,
        description,
        notes,
        car_id,
        customer_id,
        segments,
        custom,
        car_remote_id,
        base_json,
    ) = row
    return OutboxTrip(
        id=trip_id,
        remote_id=remote_id,
        date=stored_date(day),
        start_time=from_utc_text(start_time),
        end_time=from_utc_text(end_time),
        start=_place(start_lat, start_lng, start_address),
        end=_place(end_lat, end_lng, end_address),
        distance=Decimal(distance),
        unit=unit,
        duration_ms=duration_ms,
        classification=classification,
        description=description,
        notes=notes,
        car_id=car_id,
        customer_id=customer_id,
        class_segment_ids=_json(segments) or [],
        custom_data=_json(custom) or {},
        car_remote_id=car_remote_id,
        base_json=base_json,
    )


def _deduction_words(server: int | None, right: int) -> str:
    had = "none" if server is None else str(server)
    return f"its deduction changed: {had} on the server, {right} now"


def _place(lat: str | None, lng: str | None, address: str | None) -> OutboxPlace | None:
    if lat is None or lng is None:
        return None
    return OutboxPlace(Decimal(lat), Decimal(lng), _json(address))


def _json(stored: Any) -> Any:
    # SQLAlchemy's JSON type stores None as the text 'null'; a SQL NULL is possible too.
    return stored_json(stored)


@dataclass
class Step:
    """What :meth:`Outbox.step` did: the seqs whose answers it recorded (an entry whose
    claim was lost is skipped: fencing), and the batch it claimed with its trips."""

    recorded: list[int]
    claimed: list[Claimed] = field(default_factory=list)
    trips: dict[str, OutboxTrip] = field(default_factory=dict)
    lease_lost: bool = False


class Outbox:
    """The journal as the pusher sees it (a part of :class:`~tracker.store.Tracker`)."""

    def __init__(self, db: Database, account: str | None = None) -> None:
        self._db = db
        self.account = account  # whose trips it sends (None: the implicit account)

    def step(
        self,
        owner: str,
        answers: Mapping[int, Verdict] | None = None,
        resolved: Mapping[int, str | None] | None = None,
        *,
        claim: int = 0,
        lease_for: timedelta = timedelta(minutes=5),
        hold: LeaseHold | None = None,
        retry_waiting: bool = False,
        updates: claims.Updates = True,
        sending: Callable[[list[Claimed], dict[str, OutboxTrip]], Mapping[str, str]] | None = None,
        before_commit: Callable[[], None] | None = None,
        schedule: Schedule | None = None,
    ) -> Step:
        """The pusher's step, in one transaction and so one durable commit per batch:
        record the last answered batch (``resolved``: reconciliation results, seq -> the
        server's id or None when proven absent; then ``answers``, seq -> verdict), renew
        ``hold``, claim up to ``claim`` due entries for ``lease_for`` (``retry_waiting``:
        those waiting for a retry too; ``updates``: changes of trips the server has, too, or
        only those of the trips named) and read their trips. ``sending`` is given the batch
        claimed and returns, by trip id, the JSON of what will be sent for it: kept with the
        trip (``sent_record``) until its answer is recorded, in this same transaction, so a
        save whose answer is lost is still known as ours.

        When ``hold`` was lost the answers are still recorded and nothing is claimed
        (``lease_lost``). ``before_commit`` runs just before the commit when an answer was
        recorded (crash tests). ``schedule``: the claimed trips are read with their
        deduction under it (``tracker.deductions``), in the claim's transaction."""
        # Shared on PostgreSQL: every row this touches is one this owner holds or claims.
        with self._db.write(shared=True) as s:
            now = self._db.now()
            if resolved:
                for seq, remote_id in resolved.items():
                    claims.resolve_doubt(s, owner, seq, remote_id, now)
                s.flush()  # the answers below are written by raw SQL, after these
            step = Step(claims.record_answers(s, owner, answers or {}, now))
            if claim > 0:
                if hold is not None and not leases.renew(
                    s, hold.name, hold.owner, hold.fence, hold.ttl, now
                ):
                    step.lease_lost = True
                else:
                    step.claimed = claims.claim(
                        s,
                        owner,
                        claim,
                        lease_for,
                        now,
                        retry_waiting=retry_waiting,
                        updates=updates,
                        account=self.account,
                    )
                    step.trips = read_outbox_trips(
                        s.connection(), [c.trip_id for c in step.claimed], schedule
                    )
                    if sending is not None and step.claimed:
                        claims.remember_sent(s, sending(step.claimed, step.trips))
            if before_commit is not None and (answers or resolved):
                s.flush()
                before_commit()
            return step

    def peek(self, limit: int, *, retry_waiting: bool = False) -> list[Claimed]:
        """What a claim would take now, without taking it (dry runs): the claim's own pick
        (``claims.peek``), in a transaction that is rolled back, so the two can never
        disagree."""
        with self._db.rolled_back() as s:
            return claims.peek(
                s, limit, self._db.now(), retry_waiting=retry_waiting, account=self.account
            )

    def push_count(self, batch_size: int, *, retry_waiting: bool = False) -> PushCount:
        """What the next push would send, counted in SQL (see :mod:`tracker.pushcount`):
        like :meth:`peek`, expired claims are released first in a rolled-back transaction."""
        with self._db.rolled_back() as s:
            now = self._db.now()
            claims.release_expired(s, now)
            due = END_OF_TIME if retry_waiting else utc_text(now)
            conn = s.connection()
            mine = self.account or ""
            if not self._db.postgres:
                counted = count_from_tally(conn, due, mine, batch_size, retry_waiting)
                if counted is not None:  # a few kept rows, whatever the backlog
                    return counted
            totals = conn.exec_driver_sql(PUSH_TOTALS_SQL, {"due": due, "account": mine}).one()
            entries, creates, updates, in_doubt = (int(v) for v in totals)
            counted = from_totals(entries, creates, updates, in_doubt, batch_size)
            if counted is not None:  # saves only, none in doubt: the common backlog
                return counted
            row = conn.exec_driver_sql(
                PUSH_COUNT_SQL, {"size": batch_size, "due": due, "account": mine}
            ).one()
        return PushCount(*(int(v) for v in row))

    def due_count(self, *, retry_waiting: bool = False, updates: claims.Updates = True) -> int:
        """How many entries are due now (the options as for :meth:`step`)."""
        with self._db.read() as s:
            return claims.due_count(
                s,
                self._db.now(),
                retry_waiting=retry_waiting,
                updates=updates,
                account=self.account,
            )

    def due_accounts(self, *, retry_waiting: bool = False) -> dict[str | None, int]:
        """The accounts of the whole store with changes due now (None: the implicit
        account) and how many each has, whatever this outbox's own account (fleet mode: whose
        turn comes next).
        Claims whose lease expired (a worker that died) are released first, as a claim
        would: their entries are due again, and only an account's turn claims them."""
        with self._db.write(shared=True) as s:
            now = self._db.now()
            claims.release_expired(s, now)
            return claims.due_accounts(s, now, retry_waiting=retry_waiting)

    def due_updates(self, *, retry_waiting: bool = False) -> list[tuple[str, str, dt.date | None]]:
        """The updates due now (changes of trips the server has): (trip id, Tight id, trip
        date), oldest date first. A two-way run reads their server copies before sending.
        Claims whose lease expired (a pusher that died) are released first, as a claim
        would: their updates are due too."""
        with self._db.write() as s:
            now = self._db.now()
            claims.release_expired(s, now)
            return claims.due_updates(s, now, retry_waiting=retry_waiting, account=self.account)

    def trips(
        self, trip_ids: Sequence[str], schedule: Schedule | None = None
    ) -> dict[str, OutboxTrip]:
        """The latest state of these trips, as the pusher would send them (with their
        deduction under ``schedule``)."""
        with self._db.read() as s:
            return read_outbox_trips(s.connection(), trip_ids, schedule)

    def requeue_deductions(
        self, schedule: Schedule, trip_ids: Sequence[str] | None = None
    ) -> dict[str, tuple[int | None, int]]:
        """Queue a save of every trip whose deduction on the server is no longer its own
        (``tracker.deductions.stale_deductions``), in the tax years of the trips with an
        open change (``trip_ids`` None: before a push) or of ``trip_ids`` (trips a pull
        just changed). Returns them by id: (the server's amount, the right one). One
        transaction; a trip changed meanwhile has an open change and is left to it."""
        from tracker.deductions import stale_deductions, touched_years

        with self._db.write() as s:
            conn = s.connection()
            years = touched_years(conn, schedule, trip_ids)
            if not years:
                return {}
            stale = stale_deductions(conn, schedule, years)
            if stale:
                at = utc_text(self._db.now())
                seqs = next_seqs(conn, len(stale))
                rows = [(q, trip_id, at) for q, trip_id in zip(seqs, stale, strict=True)]
                add_pending(conn, rows, event=None)
                add_events(
                    conn,
                    [
                        (seq, trip_id, at, "queued save", _deduction_words(*stale[trip_id]))
                        for seq, trip_id, _ in rows
                    ],
                )
            return stale

    def hold(
        self,
        owner: str,
        seqs: Sequence[int],
        lease_for: timedelta,
        *,
        expires: datetime | None = None,
    ) -> datetime | None:
        """Make sure ``owner`` still holds its claims on ``seqs`` before a request sends
        them: the time they expire at, or None when any was taken over meanwhile (see
        :func:`tracker.claims.hold`): do not send. ``expires``: when the caller's claim or
        last hold left them expiring; with nearly all the lease left they are only checked,
        a read (:func:`tracker.claims.needs_extension`), else extended by ``lease_for``."""
        if not claims.needs_extension(expires, self._db.now(), lease_for):
            with self._db.read() as s:
                held = claims.still_held(s, owner, seqs, self._db.now())
            return expires if held else None
        with self._db.write(shared=True, durable=False) as s:
            now = self._db.now()
            return now + lease_for if claims.hold(s, owner, seqs, lease_for, now) else None

    def release(self, owner: str, seqs: Iterable[int], *, in_doubt: bool) -> int:
        """Give claimed entries back to the queue (no answer was received about them)."""
        with self._db.write() as s:
            return claims.release(s, owner, seqs, self._db.now(), in_doubt=in_doubt)

    def expire_claims(self, owner: str) -> int:
        """End every claim of ``owner`` now (a pusher known to be dead)."""
        with self._db.write() as s:
            return claims.expire_claims(s, owner, self._db.now())


def count_from_tally(
    conn: Any, due: str, account: str, batch_size: int, retry_waiting: bool
) -> PushCount | None:
    """SQLite: the push count from the counts kept by triggers (migration 0025), or None
    when they do not determine it (see :func:`tracker.pushcount.from_tally`)."""
    if not retry_waiting and conn.exec_driver_sql(WAITING_SQL, {"due": due}).first():
        return None  # entries waiting for their retry: the SQL tells which are due
    tally = {str(key): int(n) for key, n in conn.exec_driver_sql(PENDING_TALLY_SQL)}
    blocked = [
        (str(op), str(kind), int(n))
        for op, kind, n in conn.exec_driver_sql(BLOCKED_SQL, {"account": account})
    ]
    return from_tally(tally, blocked, account, batch_size)

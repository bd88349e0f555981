"""The change journal (outbox): what the server does not know yet, and what happened to it.

Rules (each tested in tests/tracker/test_journal.py):

- A change and its entry are written in the same transaction (``record_change`` takes the
  caller's session). No change without its entry, no entry without its change.
- At most one *pending* entry per trip: later edits coalesce into it, and the push sends the
  trip's latest state. An edit of a *parked* entry's trip re-queues it (attempts reset).
- An edit made while an entry is *in flight* opens a new pending entry, which is only claimed
  once no earlier entry of that trip is pending or in flight (``seq`` order, never time).
- A claim takes a lease (owner + expiry). Results are only applied while the lease is held
  (fencing): a pusher whose lease expired cannot overwrite what another one did.
- An expired lease returns the entry to pending; a save whose create may have reached the
  server is flagged *in doubt*, to be reconciled before it is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from tracker.enums import EntryOp, EntryState, TripStatus
from tracker.tables import JournalEntry, JournalEvent, Trip

#: Version of the trip payload contract the entries were queued under.
PAYLOAD_VERSION = 1


# ----------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Synced:
    """The server has the change. ``remote_id``/``record`` are stored on the trip."""

    seq: int
    remote_id: str | None = None
    record: dict[str, Any] | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Parked:
    """The server rejected the change; it waits for the user (edit, retry or drop)."""

    seq: int
    error_type: str
    message: str
    param: str | None = None


@dataclass(frozen=True)
class Retry:
    """Try again at ``at``. ``in_doubt``: the server may already have applied it."""

    seq: int
    at: datetime
    error_type: str
    message: str
    in_doubt: bool = False


Outcome = Synced | Parked | Retry


@dataclass(frozen=True)
class Claimed:
    """An entry owned by a pusher until ``lease_expires_at``."""

    seq: int
    trip_id: str
    op: EntryOp
    attempts: int
    in_doubt: bool
    remote_id: str | None
    lease_expires_at: datetime


@dataclass(frozen=True)
class JournalCounts:
    """Entries per state, plus the age of the oldest pending one."""

    pending: int
    in_flight: int
    synced: int
    parked: int
    dropped: int
    in_doubt: int
    oldest_pending_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "pending": self.pending,
            "in_flight": self.in_flight,
            "synced": self.synced,
            "parked": self.parked,
            "dropped": self.dropped,
            "in_doubt": self.in_doubt,
            "oldest_pending_at": (
                self.oldest_pending_at.isoformat() if self.oldest_pending_at else None
            ),
        }


# ----------------------------------------------------------------------------- writes
def record_change(session: Session, trip_id: str, op: EntryOp, now: datetime) -> int:
    """Record that ``trip_id`` changed, inside the caller's transaction. Returns the seq."""
    open_entry = session.exec(
        select(JournalEntry)
        .where(
            JournalEntry.trip_id == trip_id,
            col(JournalEntry.state).in_([EntryState.PENDING, EntryState.PARKED]),
        )
        .order_by(col(JournalEntry.seq).desc())
        .limit(1)
    ).first()
    in_flight = session.exec(
        select(JournalEntry.seq).where(
            JournalEntry.trip_id == trip_id, JournalEntry.state == EntryState.IN_FLIGHT
        )
    ).first()
    if open_entry is not None and (in_flight is None or (open_entry.seq or 0) > in_flight):
        entry = open_entry
        requeued = entry.state == EntryState.PARKED
        entry.op = op if op == EntryOp.DELETE else entry.op
        entry.updated_at = now
        if requeued:
            entry.state = EntryState.PENDING
            entry.attempts = 0
            entry.next_attempt_at = None
            entry.error_type = entry.error_message = entry.error_param = None
        session.add(entry)
        session.flush()
        assert entry.seq is not None
        if requeued:
            _event(session, entry.seq, trip_id, now, "requeued", "edited after being parked")
        return entry.seq
    entry = JournalEntry(
        trip_id=trip_id,
        op=op,
        state=EntryState.PENDING,
        payload_version=PAYLOAD_VERSION,
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    session.flush()
    assert entry.seq is not None
    detail = "after an in-flight push" if in_flight is not None else None
    _event(session, entry.seq, trip_id, now, f"queued {op}", detail)
    return entry.seq


def _event(
    session: Session, seq: int, trip_id: str, at: datetime, event: str, detail: str | None
) -> None:
    session.add(JournalEvent(entry_seq=seq, trip_id=trip_id, at=at, event=event, detail=detail))


def _events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.exec(insert(JournalEvent), params=list(rows))


def release_expired(session: Session, now: datetime) -> int:
    """Return in-flight entries whose lease expired to pending. Returns how many."""
    expired = session.exec(
        select(JournalEntry, Trip.remote_id)
        .join(Trip, col(Trip.id) == JournalEntry.trip_id)
        .where(
            JournalEntry.state == EntryState.IN_FLIGHT,
            col(JournalEntry.lease_expires_at) <= now,
        )
    ).all()
    events = []
    for entry, remote_id in expired:
        # The request may have reached the server: a create must be reconciled first.
        doubt = entry.op == EntryOp.SAVE and remote_id is None
        entry.state = EntryState.PENDING
        entry.in_doubt = entry.in_doubt or doubt
        entry.lease_owner = None
        entry.lease_expires_at = None
        entry.updated_at = now
        session.add(entry)
        events.append(
            _event_row(entry, now, "lease expired", "in doubt: reconcile first" if doubt else None)
        )
    session.flush()
    _events(session, events)
    return len(expired)


def _event_row(entry: JournalEntry, at: datetime, event: str, detail: str | None) -> dict[str, Any]:
    return {
        "entry_seq": entry.seq,
        "trip_id": entry.trip_id,
        "at": at,
        "event": event,
        "detail": detail,
    }


def _due(session: Session, limit: int, now: datetime) -> list[tuple[JournalEntry, str | None]]:
    """Due entries, oldest first: pending, due, of complete trips, and the first open entry
    of their trip (an earlier pending or in-flight entry blocks a later one)."""
    earlier = aliased(JournalEntry)
    blocked = (
        select(earlier.seq)
        .where(
            earlier.trip_id == JournalEntry.trip_id,
            col(earlier.seq) < JournalEntry.seq,
            col(earlier.state).in_([EntryState.PENDING, EntryState.IN_FLIGHT]),
        )
        .exists()
    )
    rows = session.exec(
        select(JournalEntry, Trip.remote_id)
        .join(Trip, col(Trip.id) == JournalEntry.trip_id)
        .where(
            JournalEntry.state == EntryState.PENDING,
            (col(JournalEntry.next_attempt_at).is_(None))
            | (col(JournalEntry.next_attempt_at) <= now),
            Trip.status == TripStatus.COMPLETE,
            ~blocked,
        )
        .order_by(col(JournalEntry.seq))
        .limit(limit)
    ).all()
    return [(entry, remote_id) for entry, remote_id in rows]


def peek(session: Session, limit: int, now: datetime) -> list[Claimed]:
    """What ``claim`` would take now, without taking it (for dry runs)."""
    return [
        Claimed(
            seq=entry.seq or 0,
            trip_id=entry.trip_id,
            op=EntryOp(entry.op),
            attempts=entry.attempts,
            in_doubt=entry.in_doubt,
            remote_id=remote_id,
            lease_expires_at=now,
        )
        for entry, remote_id in _due(session, limit, now)
    ]


def claim(
    session: Session, owner: str, limit: int, lease: timedelta, now: datetime
) -> list[Claimed]:
    """Claim up to ``limit`` due entries for ``owner``, oldest first, inside the caller's
    (IMMEDIATE) transaction. Only complete trips, and only the first open entry of a trip."""
    release_expired(session, now)
    rows = _due(session, limit, now)
    expires = now + lease
    claimed: list[Claimed] = []
    events = []
    for entry, remote_id in rows:
        entry.state = EntryState.IN_FLIGHT
        entry.lease_owner = owner
        entry.lease_expires_at = expires
        entry.attempts += 1
        entry.updated_at = now
        session.add(entry)
        assert entry.seq is not None
        claimed.append(
            Claimed(
                seq=entry.seq,
                trip_id=entry.trip_id,
                op=EntryOp(entry.op),
                attempts=entry.attempts,
                in_doubt=entry.in_doubt,
                remote_id=remote_id,
                lease_expires_at=expires,
            )
        )
        events.append(_event_row(entry, now, "claimed", f"attempt {entry.attempts}"))
    session.flush()
    _events(session, events)
    return claimed


def apply_outcomes(
    session: Session, owner: str, outcomes: Iterable[Outcome], now: datetime
) -> list[int]:
    """Apply results for entries ``owner`` still holds. Returns the seqs that were applied;
    an outcome for an entry whose lease was lost is ignored (fencing)."""
    outcomes = list(outcomes)
    if not outcomes:
        return []
    held = {
        e.seq: e
        for e in session.exec(
            select(JournalEntry).where(
                col(JournalEntry.seq).in_([o.seq for o in outcomes]),
                JournalEntry.state == EntryState.IN_FLIGHT,
                JournalEntry.lease_owner == owner,
            )
        ).all()
    }
    applied: list[int] = []
    events = []
    for outcome in outcomes:
        entry = held.get(outcome.seq)
        if entry is None:
            continue
        entry.lease_owner = None
        entry.lease_expires_at = None
        entry.updated_at = now
        if isinstance(outcome, Synced):
            _apply_synced(session, entry, outcome, now)
            events.append(_event_row(entry, now, "synced", outcome.detail or outcome.remote_id))
        elif isinstance(outcome, Parked):
            entry.state = EntryState.PARKED
            entry.in_doubt = False
            entry.error_type, entry.error_message = outcome.error_type, outcome.message
            entry.error_param = outcome.param
            where = f" (param {outcome.param})" if outcome.param else ""
            events.append(
                _event_row(entry, now, "parked", f"{outcome.error_type}: {outcome.message}{where}")
            )
        else:
            entry.state = EntryState.PENDING
            entry.next_attempt_at = outcome.at
            entry.in_doubt = entry.in_doubt or outcome.in_doubt
            entry.error_type, entry.error_message = outcome.error_type, outcome.message
            entry.error_param = None
            doubt = "; in doubt" if outcome.in_doubt else ""
            events.append(
                _event_row(
                    entry,
                    now,
                    "retry",
                    f"{outcome.error_type}: {outcome.message}; next at "
                    f"{outcome.at.isoformat()}{doubt}",
                )
            )
        session.add(entry)
        applied.append(outcome.seq)
    session.flush()
    _events(session, events)
    return applied


def _apply_synced(session: Session, entry: JournalEntry, outcome: Synced, now: datetime) -> None:
    entry.state = EntryState.SYNCED
    entry.in_doubt = False
    entry.synced_at = now
    entry.error_type = entry.error_message = entry.error_param = None
    values: dict[str, Any] = {"synced_at": now}
    if outcome.remote_id is not None:
        values["remote_id"] = outcome.remote_id
    if outcome.record is not None:
        values["remote_record"] = outcome.record
    session.exec(update(Trip).where(col(Trip.id) == entry.trip_id).values(**values))
    # Earlier parked entries of the same trip are superseded: the latest state went through.
    session.exec(
        update(JournalEntry)
        .where(
            col(JournalEntry.trip_id) == entry.trip_id,
            col(JournalEntry.seq) < entry.seq,
            col(JournalEntry.state) == EntryState.PARKED,
        )
        .values(state=EntryState.SYNCED, synced_at=now, updated_at=now)
    )


def resolve_doubt(
    session: Session, owner: str, seq: int, remote_id: str | None, now: datetime
) -> bool:
    """Reconciliation result for an in-doubt entry ``owner`` holds: the server's id when the
    record was found (adopted), or None when it was proven absent. Returns False if the
    lease was lost."""
    entry = session.exec(
        select(JournalEntry).where(
            JournalEntry.seq == seq,
            JournalEntry.state == EntryState.IN_FLIGHT,
            JournalEntry.lease_owner == owner,
        )
    ).first()
    if entry is None:
        return False
    entry.in_doubt = False
    entry.updated_at = now
    session.add(entry)
    if remote_id is not None:
        session.exec(update(Trip).where(col(Trip.id) == entry.trip_id).values(remote_id=remote_id))
    detail = f"found on the server as {remote_id}" if remote_id else "proven absent"
    _event(session, seq, entry.trip_id, now, "reconciled", detail)
    return True


def release(
    session: Session, owner: str, seqs: Iterable[int], now: datetime, *, in_doubt: bool
) -> int:
    """Give entries back (shutdown, auth failure): the claim's attempt is refunded, since
    no answer about these entries was received."""
    seqs = list(seqs)
    if not seqs:
        return 0
    values: dict[str, Any] = {
        "state": EntryState.PENDING,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        "attempts": func.max(col(JournalEntry.attempts) - 1, 0),
    }
    if in_doubt:
        values["in_doubt"] = True
    # A count taken before/after keeps this portable across SQLAlchemy result types.
    result = session.exec(
        update(JournalEntry)
        .where(
            col(JournalEntry.seq).in_(seqs),
            col(JournalEntry.state) == EntryState.IN_FLIGHT,
            col(JournalEntry.lease_owner) == owner,
        )
        .values(**values)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    rows = [
        {"entry_seq": s, "trip_id": t, "at": now, "event": "released", "detail": None}
        for s, t in session.exec(
            select(JournalEntry.seq, JournalEntry.trip_id).where(col(JournalEntry.seq).in_(seqs))
        ).all()
    ]
    _events(session, rows)
    return count


def set_parked_state(
    session: Session, seq: int, state: EntryState, now: datetime, event: str
) -> JournalEntry | None:
    """Move a parked entry to pending (retry) or dropped (drop)."""
    entry = session.get(JournalEntry, seq)
    if entry is None or entry.state != EntryState.PARKED:
        return None
    entry.state = state
    entry.updated_at = now
    if state == EntryState.PENDING:
        entry.attempts = 0
        entry.next_attempt_at = None
    session.add(entry)
    session.flush()
    _event(session, seq, entry.trip_id, now, event, None)
    return entry


# ----------------------------------------------------------------------------- reads
def counts(session: Session) -> JournalCounts:
    """Entries per state."""
    per_state: dict[str, int] = {
        state: int(n)
        for state, n in session.exec(
            select(JournalEntry.state, func.count()).group_by(col(JournalEntry.state))
        ).all()
    }
    in_doubt = session.exec(
        select(func.count()).where(
            col(JournalEntry.in_doubt).is_(True),
            col(JournalEntry.state).in_([EntryState.PENDING, EntryState.IN_FLIGHT]),
        )
    ).one()
    oldest = session.exec(
        select(func.min(JournalEntry.created_at)).where(JournalEntry.state == EntryState.PENDING)
    ).one()
    return JournalCounts(
        pending=per_state.get(EntryState.PENDING, 0),
        in_flight=per_state.get(EntryState.IN_FLIGHT, 0),
        synced=per_state.get(EntryState.SYNCED, 0),
        parked=per_state.get(EntryState.PARKED, 0),
        dropped=per_state.get(EntryState.DROPPED, 0),
        in_doubt=int(in_doubt),
        oldest_pending_at=oldest,
    )


def next_attempt(session: Session) -> datetime | None:
    """The earliest scheduled retry among pending entries (None: nothing waiting)."""
    return session.exec(
        select(func.min(JournalEntry.next_attempt_at)).where(
            JournalEntry.state == EntryState.PENDING
        )
    ).one()


def last_error(session: Session) -> JournalEntry | None:
    """The most recently updated entry that carries an error (for status output)."""
    return session.exec(
        select(JournalEntry)
        .where(col(JournalEntry.error_type).is_not(None))
        .order_by(col(JournalEntry.updated_at).desc())
        .limit(1)
    ).first()


def open_states(session: Session, trip_ids: Sequence[str] | None = None) -> dict[str, str]:
    """The sync state of trips that have an open entry: in_flight > in_doubt > pending > parked."""
    query = select(JournalEntry.trip_id, JournalEntry.state, JournalEntry.in_doubt).where(
        col(JournalEntry.state).in_([EntryState.PENDING, EntryState.IN_FLIGHT, EntryState.PARKED])
    )
    if trip_ids is not None:
        query = query.where(col(JournalEntry.trip_id).in_(list(trip_ids)))
    rank = {"in_flight": 4, "in_doubt": 3, "pending": 2, "parked": 1}
    result: dict[str, str] = {}
    for trip_id, state, doubt in session.exec(query).all():
        label = "in_doubt" if doubt and state != EntryState.PARKED else str(state)
        if rank[label] > rank.get(result.get(trip_id, ""), 0):
            result[trip_id] = label
    return result


def entries_for(session: Session, trip_id: str) -> list[JournalEntry]:
    """All entries of a trip, oldest first."""
    return list(
        session.exec(
            select(JournalEntry)
            .where(JournalEntry.trip_id == trip_id)
            .order_by(col(JournalEntry.seq))
        ).all()
    )


def events_for(session: Session, trip_id: str) -> list[JournalEvent]:
    """A trip's sync history, oldest first."""
    return list(
        session.exec(
            select(JournalEvent)
            .where(JournalEvent.trip_id == trip_id)
            .order_by(col(JournalEvent.id))
        ).all()
    )


def parked(session: Session) -> list[JournalEntry]:
    """Entries waiting for the user, oldest first."""
    return list(
        session.exec(
            select(JournalEntry)
            .where(JournalEntry.state == EntryState.PARKED)
            .order_by(col(JournalEntry.seq))
        ).all()
    )

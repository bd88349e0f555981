"""The change journal (outbox): what the server does not know yet, and what happened to it.

A change and its entry are written in the same transaction (``record_change`` takes the
caller's session). The rules (coalescing, edits while in flight, leases and fencing, in
doubt) are in docs/sync-guarantees.md; each is tested in tests/tracker/test_journal.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, update
from sqlmodel import Session, col, select

from tracker.coltypes import utc_text
from tracker.enums import EntryOp, EntryState
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
    # By trip only (a trip has a few entries), filtered here: with a state term in the
    # WHERE clause SQLite may walk the state index instead, over the whole backlog.
    entries = session.exec(
        select(JournalEntry)
        .where(JournalEntry.trip_id == trip_id)
        .order_by(col(JournalEntry.seq).desc())
    ).all()
    open_entry = next(
        (e for e in entries if e.state in (EntryState.PENDING, EntryState.PARKED)), None
    )
    in_flight = next((e.seq for e in entries if e.state == EntryState.IN_FLIGHT), None)
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


_RELEASE_EXPIRED_SQL = """
UPDATE journal
SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = :now,
    in_doubt = CASE
        WHEN in_doubt = 1 THEN 1
        WHEN op = 'save' AND (SELECT remote_id FROM trip WHERE trip.id = journal.trip_id) IS NULL
        THEN 2
        ELSE 0 END
WHERE state = 'in_flight' AND lease_expires_at <= :now
RETURNING seq, trip_id, in_doubt
"""


def expire_claims(session: Session, owner: str, now: datetime) -> int:
    """End the claims of ``owner`` now (its process is known dead); the next claim returns
    them to pending, creates among them in doubt."""
    result = session.connection().exec_driver_sql(
        "UPDATE journal SET lease_expires_at = ? WHERE state = 'in_flight' AND lease_owner = ?",
        (utc_text(now), owner),
    )
    return int(result.rowcount or 0)


def release_expired(session: Session, now: datetime) -> int:
    """Return in-flight entries whose lease expired to pending. Returns how many.

    The request may have reached the server: a create (no remote id yet) becomes in doubt,
    to be reconciled before it is sent again."""
    conn = session.connection()
    at = utc_text(now)
    rows = conn.exec_driver_sql(_RELEASE_EXPIRED_SQL, {"now": at}).all()
    if not rows:
        return 0
    # 2 marks "newly in doubt" for the event text; stored as a plain true.
    fresh = [seq for seq, _trip, doubt in rows if doubt == 2]
    if fresh:
        conn.exec_driver_sql(
            "UPDATE journal SET in_doubt = 1 WHERE seq IN (SELECT value FROM json_each(?))",
            (json.dumps(fresh),),
        )
    _raw_events(
        conn,
        [
            (seq, trip, at, "lease expired", "in doubt: reconcile first" if doubt else None)
            for seq, trip, doubt in rows
        ],
    )
    return len(rows)


# The push hot path (claim, apply) runs per batch over backlogs of 100k entries: plain SQL
# handed to the driver, static text with placeholders (id lists travel as one JSON array
# through json_each), so SQLAlchemy's per-row parameter processing is skipped. Measured: the
# ORM version cost ~10x more per batch than the statements themselves (bench/push.py).
_CLAIM_SQL = """
UPDATE journal
SET state = 'in_flight', lease_owner = :owner, lease_expires_at = :expires,
    attempts = attempts + 1, updated_at = :now
WHERE seq IN (
    SELECT j.seq FROM journal AS j JOIN trip AS t ON t.id = j.trip_id
    WHERE j.state = 'pending'
      AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= :due)
      AND t.status = 'complete'
      AND NOT EXISTS (
          SELECT 1 FROM journal AS e
          WHERE e.trip_id = j.trip_id AND e.seq < j.seq AND e.state IN ('pending', 'in_flight'))
    ORDER BY j.seq
    LIMIT :limit)
RETURNING seq, trip_id, op, attempts, in_doubt
"""
_END_OF_TIME = "9999-12-31T23:59:59.999999Z"  # after every stored instant (utc_text form)
_REMOTE_IDS_SQL = "SELECT id, remote_id FROM trip WHERE id IN (SELECT value FROM json_each(:ids))"
_EVENT_SQL = (
    "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail) VALUES (?, ?, ?, ?, ?)"
)
_HELD_SQL = (
    "SELECT seq, trip_id, in_doubt FROM journal WHERE seq IN (SELECT value FROM json_each(?)) "
    "AND state = 'in_flight' AND lease_owner = ?"
)
_SYNCED_SQL = (
    "UPDATE journal SET state = 'synced', in_doubt = 0, synced_at = ?, updated_at = ?, "
    "error_type = NULL, error_message = NULL, error_param = NULL, lease_owner = NULL, "
    "lease_expires_at = NULL WHERE seq = ?"
)
# A missing id or record keeps the stored one (COALESCE), never becomes NULL.
_TRIP_SYNCED_SQL = (
    "UPDATE trip SET synced_at = ?, remote_id = COALESCE(?, remote_id), "
    "remote_record = COALESCE(?, remote_record) WHERE id = ?"
)
# Earlier parked entries of the same trip are superseded: the latest state went through.
_SUPERSEDE_SQL = (
    "UPDATE journal SET state = 'synced', synced_at = ?, updated_at = ? "
    "WHERE trip_id = ? AND seq < ? AND state = 'parked'"
)
_PARKED_SQL = (
    "UPDATE journal SET state = 'parked', in_doubt = 0, error_type = ?, error_message = ?, "
    "error_param = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE seq = ?"
)
_RETRY_SQL = (
    "UPDATE journal SET state = 'pending', next_attempt_at = ?, in_doubt = ?, error_type = ?, "
    "error_message = ?, error_param = NULL, lease_owner = NULL, lease_expires_at = NULL, "
    "updated_at = ? WHERE seq = ?"
)

EventRow = tuple[int, str, str, str, str | None]


def claim(
    session: Session,
    owner: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    *,
    retry_waiting: bool = False,
) -> list[Claimed]:
    """Claim up to ``limit`` due entries for ``owner``, oldest first, inside the caller's
    (IMMEDIATE) transaction. Only complete trips, and only the first open entry of a trip.
    ``retry_waiting``: entries waiting for a retry are due as well (a sync asked for by hand)."""
    release_expired(session, now)
    conn = session.connection()
    expires = now + lease
    at = utc_text(now)
    params = {
        "owner": owner,
        "expires": utc_text(expires),
        "now": at,
        "due": _END_OF_TIME if retry_waiting else at,
        "limit": limit,
    }
    rows = sorted(conn.exec_driver_sql(_CLAIM_SQL, params).all())
    if not rows:
        return []
    remote: dict[str, str | None] = dict(
        conn.exec_driver_sql(_REMOTE_IDS_SQL, {"ids": json.dumps([row[1] for row in rows])}).all()
    )
    claimed = [
        Claimed(
            seq=seq,
            trip_id=trip_id,
            op=EntryOp(op),
            attempts=attempts,
            in_doubt=bool(in_doubt),
            remote_id=remote.get(trip_id),
            lease_expires_at=expires,
        )
        for seq, trip_id, op, attempts, in_doubt in rows
    ]
    _raw_events(conn, [(c.seq, c.trip_id, at, "claimed", f"attempt {c.attempts}") for c in claimed])
    return claimed


def _raw_events(conn: Any, rows: list[EventRow]) -> None:
    if rows:
        conn.exec_driver_sql(_EVENT_SQL, rows)


def apply_outcomes(
    session: Session, owner: str, outcomes: Iterable[Outcome], now: datetime
) -> list[int]:
    """Apply results for entries ``owner`` still holds. Returns the seqs that were applied;
    an outcome for an entry whose lease was lost is ignored (fencing).

    One executemany per kind of change: a batch of 100 costs a handful of statements."""
    outcomes = list(outcomes)
    if not outcomes:
        return []
    conn = session.connection()
    held = {
        seq: (trip_id, bool(in_doubt))
        for seq, trip_id, in_doubt in conn.exec_driver_sql(
            _HELD_SQL, (json.dumps([o.seq for o in outcomes]), owner)
        ).all()
    }
    at = utc_text(now)
    synced: list[tuple[Any, ...]] = []
    trips: list[tuple[Any, ...]] = []
    supersede: list[tuple[Any, ...]] = []
    parked: list[tuple[Any, ...]] = []
    retries: list[tuple[Any, ...]] = []
    events: list[EventRow] = []
    applied: list[int] = []
    for outcome in outcomes:
        entry = held.get(outcome.seq)
        if entry is None:
            continue
        trip_id, was_in_doubt = entry
        applied.append(outcome.seq)
        if isinstance(outcome, Synced):
            record = None if outcome.record is None else json.dumps(outcome.record)
            synced.append((at, at, outcome.seq))
            trips.append((at, outcome.remote_id, record, trip_id))
            supersede.append((at, at, trip_id, outcome.seq))
            events.append((outcome.seq, trip_id, at, "synced", outcome.detail or outcome.remote_id))
        elif isinstance(outcome, Parked):
            parked.append((outcome.error_type, outcome.message, outcome.param, at, outcome.seq))
            where = f" (param {outcome.param})" if outcome.param else ""
            detail = f"{outcome.error_type}: {outcome.message}{where}"
            events.append((outcome.seq, trip_id, at, "parked", detail))
        else:
            doubt = was_in_doubt or outcome.in_doubt
            retries.append(
                (
                    utc_text(outcome.at),
                    int(doubt),
                    outcome.error_type,
                    outcome.message,
                    at,
                    outcome.seq,
                )
            )
            note = "; in doubt" if outcome.in_doubt else ""
            detail = (
                f"{outcome.error_type}: {outcome.message}; next at {outcome.at.isoformat()}{note}"
            )
            events.append((outcome.seq, trip_id, at, "retry", detail))
    for sql, params in (
        (_SYNCED_SQL, synced),
        (_TRIP_SYNCED_SQL, trips),
        (_SUPERSEDE_SQL, supersede),
        (_PARKED_SQL, parked),
        (_RETRY_SQL, retries),
    ):
        if params:
            conn.exec_driver_sql(sql, params)
    _raw_events(conn, events)
    return applied


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
        # Only a create (no remote id yet) can be duplicated by a resend.
        no_remote = (
            select(Trip.remote_id).where(col(Trip.id) == JournalEntry.trip_id).scalar_subquery()
        )
        values["in_doubt"] = case(
            (
                (col(JournalEntry.op) == EntryOp.SAVE) & no_remote.is_(None),
                True,
            ),
            else_=col(JournalEntry.in_doubt),
        )
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
    open_ = (EntryState.PENDING, EntryState.IN_FLIGHT, EntryState.PARKED)
    query = select(JournalEntry.trip_id, JournalEntry.state, JournalEntry.in_doubt)
    if trip_ids is None:
        query = query.where(col(JournalEntry.state).in_(open_))
    else:
        # By trip only, states filtered below (see record_change).
        query = query.where(col(JournalEntry.trip_id).in_(list(trip_ids)))
    rank = {"in_flight": 4, "in_doubt": 3, "pending": 2, "parked": 1}
    result: dict[str, str] = {}
    for trip_id, state, doubt in session.exec(query).all():
        if state not in open_:
            continue
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
            # Through the trip's entries: events are indexed by entry (cheap appends).
            .where(
                col(JournalEvent.entry_seq).in_(
                    select(JournalEntry.seq).where(JournalEntry.trip_id == trip_id)
                )
            )
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

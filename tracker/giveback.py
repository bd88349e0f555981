"""Claims given back without an answer: released by their pusher, or expired with it.

A claim ends without an answer when its pusher gives it back (shutdown, a refusal: the
attempt is refunded) or dies (its lease expires: a failed attempt). Either way the entry is
pending again; a create whose request may have reached the server becomes *in doubt*, to be
reconciled before it is sent again. History rows: only for a state change (an entry newly in
doubt, the first failure of a streak), never one per attempt (``tracker.retention``). Every
function runs in the caller's (IMMEDIATE) transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import case, update
from sqlmodel import Session, col, select

from tracker.coltypes import utc_text
from tracker.enums import EntryOp, EntryState
from tracker.journal import add_events
from tracker.liveness import LIVENESS_SPACE, ORPHANED_SQL
from tracker.retention import failure_event
from tracker.tables import JournalEntry, Trip

__all__ = ["expire_claims", "release", "release_expired"]


def expire_claims(session: Session, owner: str, now: datetime) -> int:
    """End the claims of ``owner`` now (its process is known dead); the next claim returns
    them to pending, creates among them in doubt."""
    result = session.connection().exec_driver_sql(
        "UPDATE journal SET lease_expires_at = ? WHERE state = 'in_flight' AND lease_owner = ?",
        (utc_text(now), owner),
    )
    return int(result.rowcount or 0)


# An expired claim is a failed attempt: it extends the entry's failure streak. A create (no
# remote id yet) not already in doubt becomes in doubt now: read first, for the history row.
_EXPIRED_SQL = (
    "SELECT seq, first_failed_at IS NULL, NOT in_doubt AND op = 'save' AND "
    "(SELECT remote_id FROM trip WHERE trip.id = journal.trip_id) IS NULL "
    "FROM journal WHERE state = 'in_flight' AND lease_expires_at <= ?"
)
# Booleans as TRUE/FALSE (never 1/2): the column is a boolean on PostgreSQL.
_RELEASE_EXPIRED_SQL = """
UPDATE journal
SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = :now,
    first_failed_at = COALESCE(first_failed_at, :now), last_failed_at = :now,
    in_doubt = CASE
        WHEN in_doubt THEN TRUE
        WHEN op = 'save' AND (SELECT remote_id FROM trip WHERE trip.id = journal.trip_id) IS NULL
        THEN TRUE
        ELSE FALSE END
WHERE state = 'in_flight' AND lease_expires_at <= :now
RETURNING seq, trip_id, in_doubt
"""


def release_expired(session: Session, now: datetime) -> int:
    """Return in-flight entries whose lease expired to pending, and on PostgreSQL those of a
    push run whose process is gone (``tracker.liveness``). Returns how many.

    The request may have reached the server: a create (no remote id yet) becomes in doubt,
    to be reconciled before it is sent again. History: only the first failure of a streak,
    or an entry newly in doubt (``tracker.retention.failure_event``)."""
    conn = session.connection()
    at = utc_text(now)
    if conn.dialect.name == "postgresql":
        # A dead worker's claims end now, not when their lease runs out (tracker.liveness).
        conn.exec_driver_sql(ORPHANED_SQL, {"now": at, "space": LIVENESS_SPACE})
    expired = {
        seq: (bool(first), bool(fresh))
        for seq, first, fresh in conn.exec_driver_sql(_EXPIRED_SQL, (at,)).all()
    }
    if not expired:
        return 0
    rows = conn.exec_driver_sql(_RELEASE_EXPIRED_SQL, {"now": at}).all()
    events = []
    for seq, trip, doubt in rows:
        first, fresh = expired.get(seq, (False, False))
        if failure_event(first, newly_in_doubt=fresh):
            events.append(
                (seq, trip, at, "lease expired", "in doubt: reconcile first" if doubt else None)
            )
    add_events(conn, events)
    return len(rows)


def release(
    session: Session, owner: str, seqs: Iterable[int], now: datetime, *, in_doubt: bool
) -> int:
    """Give entries back (shutdown, auth failure): the claim's attempt is refunded, since
    no answer about these entries was received."""
    seqs = list(seqs)
    if not seqs:
        return 0
    doubted = _in_doubt(session, seqs) if in_doubt else {}
    values: dict[str, Any] = {
        "state": EntryState.PENDING,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        # The attempt refunded, never below 0 (a CASE: max(a, b) is SQLite's alone).
        "attempts": case((col(JournalEntry.attempts) > 0, col(JournalEntry.attempts) - 1), else_=0),
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
    if in_doubt:
        # A history row only for an entry this made in doubt: a state change. A plain give
        # back changes nothing (its attempt refunded) and leaves no row.
        at = utc_text(now)
        made = _in_doubt(session, [seq for seq in seqs if seq not in doubted])
        add_events(
            session.connection(),
            [
                (seq, trip, at, "released", "in doubt: reconcile first")
                for seq, trip in made.items()
            ],
        )
    return count


def _in_doubt(session: Session, seqs: list[int]) -> dict[int, str]:
    """Those of ``seqs`` in doubt: seq -> trip id."""
    rows = session.exec(
        select(JournalEntry.seq, JournalEntry.trip_id).where(
            col(JournalEntry.seq).in_(seqs), col(JournalEntry.in_doubt).is_(True)
        )
    ).all()
    return {seq: trip for seq, trip in rows if seq is not None}

"""The pusher's side of the journal: claims with a lease, answers recorded under fencing.

A claim takes due entries for one owner with a lease (owner + expiry); an answer is only
recorded while that owner still holds the entry (fencing), so a pusher whose lease expired
cannot overwrite what another one did. An expired claim returns to pending; a create that
may have reached the server becomes *in doubt*, to be reconciled before it is sent again.
The rules are in docs/sync-guarantees.md. Every function runs in the caller's (IMMEDIATE)
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from tracker.coltypes import stored_date, stored_json, utc_text
from tracker.enums import EntryOp, EntryState
from tracker.giveback import expire_claims, release, release_expired
from tracker.idowners import ids_taken
from tracker.journal import EventRow, add_event, add_events
from tracker.outcomes import Parked, Synced, Verdict
from tracker.retention import failure_event
from tracker.sentsaves import with_sent
from tracker.tables import JournalEntry, Trip

__all__ = [
    "Claimed",
    "claim",
    "due_count",
    "expire_claims",
    "hold",
    "needs_extension",
    "record_answers",
    "release",
    "release_expired",
    "remember_sent",
    "resolve_doubt",
    "still_held",
]


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


# The push hot path (claim, apply) runs per batch over backlogs of 100k entries: plain SQL
# handed to the driver, static text with placeholders (id lists travel as one JSON array
# through json_each, tracker.sqlids), so SQLAlchemy's per-row parameter processing is
# skipped. Measured: the ORM version cost ~10x more per batch than the statements
# themselves (bench/push.py).
# What may be claimed is the view ``journal_due`` (migrations 0006, 0007): pending, trip
# complete, no earlier open entry of the same trip. Claims take the first ``limit`` whose
# retry time has come (``due``), in seq order; updates only when ``updates`` says so.
_PICK_SQL = """
    SELECT seq FROM journal_due
    WHERE (next_attempt_at IS NULL OR next_attempt_at <= :due) AND coalesce(account, '') = :account
      AND (:updates OR op = 'delete' OR remote_id IS NULL OR seq IN (
          SELECT seq FROM journal WHERE trip_id IN (SELECT value FROM json_each(:fresh))))
    ORDER BY seq
    LIMIT :limit"""
_CLAIM_HEAD = """
UPDATE journal
SET state = 'in_flight', lease_owner = :owner, lease_expires_at = :expires,
    attempts = attempts + 1, updated_at = :now
WHERE seq IN ("""
_CLAIM_TAIL = """)
RETURNING seq, trip_id, op, attempts, in_doubt
"""
_CLAIM_SQL = _CLAIM_HEAD + _PICK_SQL + _CLAIM_TAIL
# What that claim would take, read instead of updated (a dry run): the same pick, so the
# two cannot disagree, without writing and rolling back a batch of rows.
_PEEK_HEAD = "SELECT seq, trip_id, op, attempts, in_doubt FROM journal WHERE seq IN ("
_PEEK_SQL = _PEEK_HEAD + _PICK_SQL + ")"
# PostgreSQL (fleet mode): the same rule written out over the tables, so that its rows can be
# locked. Claimers run at once (tracker.db: the write lock shared among pushers' steps):
# FOR UPDATE SKIP LOCKED passes over the entries another worker is claiming instead of waiting
# for its transaction, and READ COMMITTED re-checks a row it does lock (one another worker
# has just claimed is no longer pending). An entry whose earlier entry of the same trip is
# being claimed stays not due: that earlier entry is still open in every snapshot. The pick
# is a CTE, run once (as a subquery of the UPDATE, PostgreSQL may run it again per row).
_CLAIM_PG_SQL = """
WITH picked AS (
    SELECT j.seq FROM journal AS j JOIN trip AS t ON t.id = j.trip_id
    WHERE j.state = 'pending' AND t.status = 'complete'
      AND NOT EXISTS (
          SELECT 1 FROM journal AS e
          WHERE e.trip_id = j.trip_id AND e.seq < j.seq AND e.state IN ('pending', 'in_flight'))
      AND NOT EXISTS (SELECT 1 FROM conflict AS c WHERE c.trip_id = j.trip_id)
      AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= :due)
      AND coalesce(t.account, '') = :account
      AND (:updates OR j.op = 'delete' OR t.remote_id IS NULL
           OR j.trip_id IN (SELECT value FROM json_each(:fresh)))
    ORDER BY j.seq
    LIMIT :limit
    FOR UPDATE OF j SKIP LOCKED)
UPDATE journal
SET state = 'in_flight', lease_owner = :owner, lease_expires_at = :expires,
    attempts = attempts + 1, updated_at = :now
FROM picked WHERE journal.seq = picked.seq
RETURNING journal.seq, journal.trip_id, journal.op, journal.attempts, journal.in_doubt
"""
_DUE_COUNT_SQL = (
    "SELECT count(*) FROM journal_due WHERE (next_attempt_at IS NULL OR next_attempt_at <= :due) "
    "AND coalesce(account, '') = :account "
    "AND (:updates OR op = 'delete' OR remote_id IS NULL OR seq IN (SELECT seq FROM journal "
    "WHERE trip_id IN (SELECT value FROM json_each(:fresh))))"
)
# Updates due now, oldest trip date first (a run reads their server copies in date chunks).
_DUE_UPDATES_SQL = (
    "SELECT j.trip_id, d.remote_id, t.date FROM journal_due AS d "
    "JOIN journal AS j ON j.seq = d.seq JOIN trip AS t ON t.id = j.trip_id "
    "WHERE d.op = 'save' AND d.remote_id IS NOT NULL "
    "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= :due) "
    "AND coalesce(d.account, '') = :account ORDER BY t.date, d.seq"
)
Updates = bool | Collection[str]
"""Which updates (changes of trips the server has) a claim may take: all (True), none
(False), or only those of these trips (their server copies were just read)."""


def _updates_params(updates: Updates) -> dict[str, Any]:
    if isinstance(updates, bool):
        return {"updates": bool(updates), "fresh": "[]"}
    return {"updates": False, "fresh": json.dumps(sorted(updates))}


_END_OF_TIME = "9999-12-31T23:59:59.999999Z"  # after every stored instant (utc_text form)
_REMOTE_IDS_SQL = "SELECT id, remote_id FROM trip WHERE id IN (SELECT value FROM json_each(:ids))"
_HELD_SQL = (
    "SELECT seq, trip_id, in_doubt, first_failed_at IS NULL FROM journal "
    "WHERE seq IN (SELECT CAST(value AS INTEGER) FROM json_each(?)) "
    "AND state = 'in_flight' AND lease_owner = ?"
)
_SYNCED_SQL = (
    "UPDATE journal SET state = 'synced', in_doubt = FALSE, synced_at = ?, updated_at = ?, "
    "error_type = NULL, error_message = NULL, error_param = NULL, lease_owner = NULL, "
    "lease_expires_at = NULL WHERE seq = ?"
)
# A missing id or record keeps the stored one (COALESCE), never becomes NULL.
_TRIP_SYNCED_SQL = (
    "UPDATE trip SET synced_at = ?, remote_id = COALESCE(?, remote_id), "
    "remote_record = COALESCE(?, remote_record), sent_record = NULL WHERE id = ?"
)
# A rejected save was not applied. The bodies kept from before it go too: a copy holding one
# of them (an answer lost earlier) is then merged as anyone's edit, a conflict at worst.
_TRIP_REJECTED_SQL = "UPDATE trip SET sent_record = NULL WHERE id = ? AND sent_record IS NOT NULL"
_SENT_SQL = "UPDATE trip SET sent_record = ? WHERE id = ?"
_KEPT_SENT_SQL = (
    "SELECT id, sent_record FROM trip WHERE sent_record IS NOT NULL "
    "AND id IN (SELECT value FROM json_each(:ids))"
)
# Earlier parked entries of the same trip are superseded: the latest state went through.
_SUPERSEDE_SQL = (
    "UPDATE journal SET state = 'synced', synced_at = ?, updated_at = ? "
    "WHERE trip_id = ? AND seq < ? AND state = 'parked'"
)
_PARKED_SQL = (
    "UPDATE journal SET state = 'parked', in_doubt = FALSE, error_type = ?, error_message = ?, "
    "error_param = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE seq = ?"
)
_RETRY_SQL = (
    "UPDATE journal SET state = 'pending', next_attempt_at = ?, in_doubt = ?, error_type = ?, "
    "error_message = ?, error_param = NULL, lease_owner = NULL, lease_expires_at = NULL, "
    "updated_at = ?, first_failed_at = COALESCE(first_failed_at, ?), last_failed_at = ? "
    "WHERE seq = ?"
)


def due_count(
    session: Session,
    now: datetime,
    *,
    retry_waiting: bool = False,
    updates: Updates = True,
    account: str | None = None,
) -> int:
    """How many entries a claim could take now (the options as for :func:`claim`)."""
    params = {
        "due": _END_OF_TIME if retry_waiting else utc_text(now),
        "account": account or "",
        **_updates_params(updates),
    }
    return int(session.connection().exec_driver_sql(_DUE_COUNT_SQL, params).scalar_one())


# Pending entries by account, without journal_due's per-entry checks (an earlier open entry
# of the trip, a conflict): 2.5x faster on 50k pending entries, and an account whose due
# entries all wait on those checks only gets a turn that claims nothing.
_DUE_ACCOUNTS_SQL = (
    "SELECT coalesce(t.account, ''), count(*) FROM journal AS j JOIN trip AS t ON t.id = j.trip_id "
    "WHERE j.state = 'pending' AND t.status = 'complete' "
    "AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= :due) GROUP BY coalesce(t.account, '')"
)


def due_accounts(
    session: Session, now: datetime, *, retry_waiting: bool = False
) -> dict[str | None, int]:
    """The accounts with entries a claim could take now (None: the implicit account), and
    how many each has."""
    due = _END_OF_TIME if retry_waiting else utc_text(now)
    rows = session.connection().exec_driver_sql(_DUE_ACCOUNTS_SQL, {"due": due}).all()
    return {name or None: int(n) for name, n in rows}


def due_updates(
    session: Session, now: datetime, *, retry_waiting: bool = False, account: str | None = None
) -> list[tuple[str, str, date | None]]:
    """The updates due now: (trip id, Tight id, trip date), oldest date first."""
    params = {"due": _END_OF_TIME if retry_waiting else utc_text(now), "account": account or ""}
    rows = session.connection().exec_driver_sql(_DUE_UPDATES_SQL, params).all()
    return [(t, r, stored_date(d)) for t, r, d in rows]


def claim(
    session: Session,
    owner: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    *,
    retry_waiting: bool = False,
    updates: Updates = True,
    account: str | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due entries for ``owner``, oldest first, inside the caller's
    (IMMEDIATE) transaction. Only complete trips, and only the first open entry of a trip.
    ``retry_waiting``: entries waiting for a retry are due as well (a sync asked for by hand).
    ``updates``: also changes of trips the server already has (False: creates and deletes
    only, when the server's copies could not be read first; a collection of trip ids: only
    the updates of those trips, whose copies were just read). ``account``: only the trips
    of this account (None: the implicit one's; a run never sends another account's trip
    with its credentials)."""
    release_expired(session, now)
    conn = session.connection()
    expires = now + lease
    at = utc_text(now)
    params = {
        "owner": owner,
        "expires": utc_text(expires),
        "now": at,
        "due": _END_OF_TIME if retry_waiting else at,
        **_updates_params(updates),
        "account": account or "",
        "limit": limit,
    }
    sql = _CLAIM_PG_SQL if conn.dialect.name == "postgresql" else _CLAIM_SQL
    claimed = _claimed(conn, conn.exec_driver_sql(sql, params).all(), expires)
    # No history row per claim: the attempt count is on the entry (docs/sync-guarantees.md).
    return claimed


def peek(
    session: Session,
    limit: int,
    now: datetime,
    *,
    retry_waiting: bool = False,
    account: str | None = None,
) -> list[Claimed]:
    """What :func:`claim` would take now (leases of no length), with the attempts made so
    far (a claim's would count one more), inside the caller's transaction, which the caller
    rolls back: expired claims are released first, as a claim releases them. SQLite reads
    the claim's own pick; PostgreSQL runs the claim itself (its pick is written with its row
    locks)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        taken = claim(
            session,
            "dry-run",
            limit,
            timedelta(0),
            now,
            retry_waiting=retry_waiting,
            account=account,
        )
        return [replace(c, attempts=c.attempts - 1) for c in taken]
    release_expired(session, now)
    at = utc_text(now)
    params = {
        "due": _END_OF_TIME if retry_waiting else at,
        **_updates_params(True),
        "account": account or "",
        "limit": limit,
    }
    return _claimed(conn, conn.exec_driver_sql(_PEEK_SQL, params).all(), now)


def _claimed(conn: Any, rows: Sequence[Any], expires: datetime) -> list[Claimed]:
    """Claimed entries from rows of (seq, trip_id, op, attempts, in_doubt), in seq order,
    with their trips' Tight ids."""
    rows = sorted(rows)
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
    return claimed


_HOLD_SQL = (
    "UPDATE journal SET lease_expires_at = ? "
    "WHERE seq IN (SELECT CAST(value AS INTEGER) FROM json_each(?)) "
    "AND state = 'in_flight' AND lease_owner = ? AND lease_expires_at > ?"
)
_STILL_HELD_SQL = (
    "SELECT count(*) FROM journal "
    "WHERE seq IN (SELECT CAST(value AS INTEGER) FROM json_each(?)) "
    "AND state = 'in_flight' AND lease_owner = ? AND lease_expires_at > ?"
)

EXTEND_BELOW = 0.9
"""A hold extends claims with less than this part of their lease left; claims taken or
extended moments ago (a batch claimed while the previous request was out) are checked
only (:func:`needs_extension`)."""


def needs_extension(expires: datetime | None, now: datetime, lease: timedelta) -> bool:
    """Whether a hold before a request must extend claims that expire at ``expires`` (as
    their claim or last extension set it; None: not known), or may only check them.

    Pure. Checking is as good as extending while the lease has nearly all its length left:
    nobody can take an unexpired claim (a claim takes pending entries only, and an
    in-flight one returns to pending when its lease has expired, or when its owner is known
    dead); the request then goes with at least ``EXTEND_BELOW`` of the lease as margin
    instead of all of it."""
    return expires is None or expires - now < lease * EXTEND_BELOW


def hold(
    session: Session, owner: str, seqs: Sequence[int], lease: timedelta, now: datetime
) -> bool:
    """Extend ``owner``'s claims on ``seqs`` by ``lease`` from now, right before a request
    that sends them: True when every one is still ``owner``'s and unexpired. False: some
    were taken over (their lease ran out while this owner waited, e.g. for the rate budget),
    and the request must not go: the new owner may be sending them already."""
    at = utc_text(now)
    result = session.connection().exec_driver_sql(
        _HOLD_SQL, (utc_text(now + lease), json.dumps(list(seqs)), owner, at)
    )
    return int(result.rowcount or 0) == len(set(seqs))


def still_held(session: Session, owner: str, seqs: Sequence[int], now: datetime) -> bool:
    """:func:`hold` without the extension (a read): True when every claim on ``seqs`` is
    still ``owner``'s and unexpired at ``now``."""
    row = session.connection().exec_driver_sql(
        _STILL_HELD_SQL, (json.dumps(list(seqs)), owner, utc_text(now))
    )
    return int(row.scalar_one()) == len(set(seqs))


def record_answers(
    session: Session, owner: str, verdicts: Mapping[int, Verdict], now: datetime
) -> list[int]:
    """Record the verdict of each entry (by seq) ``owner`` still holds. Returns the seqs
    recorded; a verdict for an entry whose lease was lost is ignored (fencing). A
    :class:`~tracker.outcomes.Retry` must carry its ``at``.

    One executemany per kind of change: a batch of 100 costs a handful of statements."""
    if not verdicts:
        return []
    conn = session.connection()
    held = {
        seq: (trip_id, bool(in_doubt), bool(first))
        for seq, trip_id, in_doubt, first in conn.exec_driver_sql(
            _HELD_SQL, (json.dumps(list(verdicts)), owner)
        ).all()
    }
    taken = ids_taken(
        conn,
        {
            held[seq][0]: verdict.remote_id
            for seq, verdict in verdicts.items()
            if seq in held and isinstance(verdict, Synced) and verdict.remote_id is not None
        },
    )
    at = utc_text(now)
    synced: list[tuple[Any, ...]] = []
    trips: list[tuple[Any, ...]] = []
    supersede: list[tuple[Any, ...]] = []
    parked: list[tuple[Any, ...]] = []
    retries: list[tuple[Any, ...]] = []
    rejected: list[tuple[Any, ...]] = []
    events: list[EventRow] = []
    applied: list[int] = []
    for seq, verdict in verdicts.items():
        entry = held.get(seq)
        if entry is None:
            continue
        trip_id, was_in_doubt, first_failure = entry
        applied.append(seq)
        if isinstance(verdict, Synced) and verdict.remote_id in taken.get(trip_id, ()):
            # The server answered with the id of another local trip: trusting it would make
            # two trips one record (and a delete of one would delete the other's).
            verdict = Parked(
                "SERVER_ID_TAKEN",
                f"the server answered with id {verdict.remote_id}, which another trip has",
                "id",
            )
        if isinstance(verdict, Synced):
            record = None if verdict.record is None else json.dumps(verdict.record)
            synced.append((at, at, seq))
            trips.append((at, verdict.remote_id, record, trip_id))
            supersede.append((at, at, trip_id, seq))
            events.append((seq, trip_id, at, "synced", verdict.detail or verdict.remote_id))
        elif isinstance(verdict, Parked):
            parked.append((verdict.error_type, verdict.message, verdict.param, at, seq))
            rejected.append((trip_id,))
            where = f" (param {verdict.param})" if verdict.param else ""
            detail = f"{verdict.error_type}: {verdict.message}{where}"
            events.append((seq, trip_id, at, "parked", detail))
        else:
            if verdict.at is None:
                raise ValueError(f"the retry of entry {seq} has no time: schedule it first")
            doubt = was_in_doubt or verdict.in_doubt
            when = utc_text(verdict.at)
            retries.append(
                (when, bool(doubt), verdict.error_type, verdict.message, at, at, at, seq)
            )
            if failure_event(first_failure, newly_in_doubt=doubt and not was_in_doubt):
                note = "; in doubt" if verdict.in_doubt else ""
                next_at = verdict.at.isoformat()
                detail = f"{verdict.error_type}: {verdict.message}; next at {next_at}{note}"
                events.append((seq, trip_id, at, "retry", detail))
    for sql, params in (
        (_SYNCED_SQL, synced),
        (_TRIP_SYNCED_SQL, trips),
        (_SUPERSEDE_SQL, supersede),
        (_PARKED_SQL, parked),
        (_TRIP_REJECTED_SQL, rejected),
        (_RETRY_SQL, retries),
    ):
        if params:
            conn.exec_driver_sql(sql, params)
    add_events(conn, events)
    return applied


def remember_sent(session: Session, sent: Mapping[str, str]) -> None:
    """Keep, by trip id, the JSON of the save about to be sent, beside those sent before it
    whose answers were never recorded (``tracker.sentsaves``, ``Trip.sent_record``)."""
    if not sent:
        return
    conn = session.connection()
    kept: dict[str, Any] = dict(
        conn.exec_driver_sql(_KEPT_SENT_SQL, {"ids": json.dumps(sorted(sent))}).all()
    )
    conn.exec_driver_sql(
        _SENT_SQL,
        [(with_sent(stored_json(kept.get(trip)), text), trip) for trip, text in sent.items()],
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
    if remote_id is not None and _held_by_other(session, remote_id, entry.trip_id):
        # Another trip has this id: adopting it would make two trips one record. The entry
        # stays in doubt (never sent as a new create); an answer naming the id parks it.
        add_event(session, seq, entry.trip_id, now, "reconciled", f"{remote_id} is another trip's")
        return True
    entry.in_doubt = False
    entry.updated_at = now
    session.add(entry)
    if remote_id is not None:
        session.exec(update(Trip).where(col(Trip.id) == entry.trip_id).values(remote_id=remote_id))
    detail = f"found on the server as {remote_id}" if remote_id else "proven absent"
    add_event(session, seq, entry.trip_id, now, "reconciled", detail)
    return True


def _held_by_other(session: Session, remote_id: str, trip_id: str) -> bool:
    other = session.exec(
        select(Trip.id).where(col(Trip.remote_id) == remote_id, col(Trip.id) != trip_id)
    ).first()
    return other is not None

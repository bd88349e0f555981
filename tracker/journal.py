"""The change journal (outbox): every change of a trip, recorded in the same transaction.

A change and its entry are written together (``record_change`` takes the caller's session);
later edits coalesce into one pending entry; an edit made while an entry is in flight opens a
new one, ordered by ``seq`` (never by time). The pusher's side (claims, leases, answers) is
``tracker.claims``. The rules, and what each state means, are in docs/sync-guarantees.md;
each is tested in tests/tracker/test_journal.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tracker.accounts import of_account
from tracker.coltypes import from_utc_text
from tracker.db import Database
from tracker.enums import OPEN_STATES, EntryOp, EntryState
from tracker.lookup import find_trip_row
from tracker.tables import Conflict, JournalEntry, JournalEvent, Trip
from tracker.tally import read_tally
from tracker.views import EntryView, EventView

#: Version of the trip payload contract the entries were queued under.
PAYLOAD_VERSION = 1


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
    conflicts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "pending": self.pending,
            "in_flight": self.in_flight,
            "synced": self.synced,
            "parked": self.parked,
            "dropped": self.dropped,
            "in_doubt": self.in_doubt,
            "conflicts": self.conflicts,
            "oldest_pending_at": (
                self.oldest_pending_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
                if self.oldest_pending_at
                else None
            ),
        }


_SENDING = (EntryState.PENDING, EntryState.IN_FLIGHT)


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
            restart_streak(entry)
            entry.error_type = entry.error_message = entry.error_param = None
        session.add(entry)
        session.flush()
        assert entry.seq is not None
        if requeued:
            add_event(session, entry.seq, trip_id, now, "requeued", "edited after being parked")
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
    add_event(session, entry.seq, trip_id, now, f"queued {op}", detail)
    return entry.seq


def restart_streak(entry: JournalEntry) -> None:
    """Requeued by the user (an edit, a retry, a resolved conflict): attempts from zero."""
    entry.attempts = 0
    entry.next_attempt_at = None
    entry.first_failed_at = entry.last_failed_at = None


def add_event(
    session: Session, seq: int | None, trip_id: str, at: datetime, event: str, detail: str | None
) -> None:
    """One history event of trip ``trip_id`` about its entry ``seq`` (None: the trip has no
    entry left), in the caller's transaction."""
    session.add(JournalEvent(entry_seq=seq, trip_id=trip_id, at=at, event=event, detail=detail))


EventRow = tuple[int | None, str, str, str, str | None]
"""An event row for :func:`add_events`: seq, trip id, instant (stored text), event, detail."""
_EVENT_SQL = (
    "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail) VALUES (?, ?, ?, ?, ?)"
)


def add_events(conn: Any, rows: list[EventRow]) -> None:
    """Many history events at once, through the driver (the pusher's hot path)."""
    if rows:
        conn.exec_driver_sql(_EVENT_SQL, rows)


EntryRow = tuple[int, str, str]
"""A new pending save entry for :func:`add_pending`: seq, trip id, instant (stored text)."""
_ENTRY_SQL = (
    "INSERT INTO journal (seq, trip_id, op, state, attempts, in_doubt, payload_version, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, 0, FALSE, ?, ?, ?)"
)
_NEXT_SEQ_SQL = (
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'journal'), 0), "
    "coalesce((SELECT max(seq) FROM journal), 0)) + 1"
)
# PostgreSQL: ``n`` values of the column's own sequence in one call. A value taken is never
# handed out again, even when the transaction rolls back (a gap, as AUTOINCREMENT may leave);
# other sessions may take values meanwhile, so the block need not be contiguous.
_NEXT_SEQS_PG_SQL = (
    "SELECT nextval(pg_get_serial_sequence('journal', 'seq')) FROM generate_series(1, ?)"
)


def next_seqs(conn: Any, n: int) -> list[int]:
    """The ``seq`` of each of ``n`` new entries, ascending (AUTOINCREMENT: never one used
    before), taken inside the caller's write transaction. On SQLite the next ``n`` numbers
    (one writer at a time: nobody takes them meanwhile); on PostgreSQL ``n`` values of the
    column's sequence, which the inserts with these explicit seqs leave where it is."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return sorted(int(v) for (v,) in conn.exec_driver_sql(_NEXT_SEQS_PG_SQL, (n,)))
    first = int(conn.exec_driver_sql(_NEXT_SEQ_SQL).scalar_one())
    return list(range(first, first + n))


def add_pending(conn: Any, rows: list[EntryRow], *, event: str | None = "queued save") -> None:
    """The first entry of many new trips at once (a pending save each, and its "queued
    save" event), as :func:`record_change` writes it for one new trip; seqs from
    :func:`next_seqs`, in row order. ``event=None``: the caller writes the events."""
    if rows:
        save, pending = EntryOp.SAVE.value, EntryState.PENDING.value
        conn.exec_driver_sql(
            _ENTRY_SQL,
            [(seq, trip, save, pending, PAYLOAD_VERSION, at, at) for seq, trip, at in rows],
        )
        if event is not None:
            add_events(conn, [(seq, trip, at, event, None) for seq, trip, at in rows])


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
        restart_streak(entry)
    session.add(entry)
    session.flush()
    add_event(session, seq, entry.trip_id, now, event, None)
    return entry


# ----------------------------------------------------------------------------- reads
def counts(session: Session) -> JournalCounts:
    """Entries per state. A change held in a conflict counts as a conflict, not as pending:
    no sync sends it until the user resolves it. Reads the counts the triggers keep
    (``tracker.tally``) and the few conflicts: no work grows with the journal."""
    conn = session.connection()
    kept = read_tally(conn)
    held_sql = _HELD_PENDING_SQL
    if conn.dialect.name != "sqlite":
        # CROSS JOIN ... ON is SQLite's planner hint; elsewhere it is a plain JOIN.
        held_sql = held_sql.replace("CROSS JOIN", "JOIN")
    held = int(conn.exec_driver_sql(held_sql).scalar_one())
    oldest = conn.exec_driver_sql(_OLDEST_PENDING_SQL).scalar()
    return JournalCounts(
        pending=kept["journal:pending"] - held,
        in_flight=kept["journal:in_flight"],
        synced=kept["journal:synced"],
        parked=kept["journal:parked"],
        dropped=kept["journal:dropped"],
        in_doubt=kept["journal:in_doubt"],
        oldest_pending_at=from_utc_text(oldest),
        conflicts=int(conn.exec_driver_sql("SELECT count(*) FROM conflict").scalar_one()),
    )


# Pending entries of trips held in a conflict (a few: one per conflict at most, in practice).
# CROSS JOIN: SQLite keeps this order, conflicts first (left to itself it read every pending
# entry and probed the conflicts with each: 26 ms at 100k entries).
_HELD_PENDING_SQL = (
    "SELECT count(*) FROM conflict AS c CROSS JOIN journal AS j ON j.trip_id = c.trip_id "
    "WHERE j.state = 'pending'"
)
# The first queued change not held: a walk of the (state, seq) index from its start.
_OLDEST_PENDING_SQL = (
    "SELECT created_at FROM journal WHERE state = 'pending' "
    "AND trip_id NOT IN (SELECT trip_id FROM conflict) ORDER BY seq LIMIT 1"
)


def last_seq(session: Session) -> int:
    """The newest entry's ``seq`` (0 for an empty journal): a mark to tell later entries by."""
    return int(session.exec(select(func.max(JournalEntry.seq))).one() or 0)


def unfinished_through(
    session: Session, mark: int, account: str | None = None, *, every_account: bool = False
) -> int:
    """Entries up to ``seq`` ``mark`` still pending (not held in a conflict) or in flight:
    the work a run found and did not finish. Entries opened after the mark are new work.
    Only the trips of ``account`` (None: the implicit account's), or of every account."""
    held = select(Conflict.trip_id)
    # Correlated: looked at for the open entries only, never a scan of every trip.
    theirs = exists().where(col(Trip.id) == col(JournalEntry.trip_id), of_account(account))
    return int(
        session.exec(
            select(func.count()).where(
                col(JournalEntry.seq) <= mark,
                true() if every_account else theirs,
                or_(
                    col(JournalEntry.state) == EntryState.IN_FLIGHT,
                    and_(
                        col(JournalEntry.state) == EntryState.PENDING,
                        col(JournalEntry.trip_id).not_in(held),
                    ),
                ),
            )
        ).one()
    )


# status's reads are Core statements on the table (rows, not ORM objects): a status then
# never configures the ORM's mappers (start-up, issue 15).
def next_attempt(session: Session) -> datetime | None:
    """The earliest scheduled retry among pending entries (None: nothing waiting)."""
    entries: Any = JournalEntry.__table__  # type: ignore[attr-defined]
    query = sa_select(func.min(entries.c.next_attempt_at)).where(
        entries.c.state == EntryState.PENDING
    )
    found: datetime | None = session.connection().execute(query).scalar_one()
    return found


def last_error(session: Session) -> Any | None:
    """The most recently updated entry that carries an error (for status output): a row
    with the journal's columns as attributes, or None."""
    entries: Any = JournalEntry.__table__  # type: ignore[attr-defined]
    query = (
        sa_select(entries)
        .where(entries.c.error_type.is_not(None))
        .order_by(entries.c.updated_at.desc())
        .limit(1)
    )
    return session.connection().execute(query).first()


def open_states(session: Session, trip_ids: Sequence[str] | None = None) -> dict[str, str]:
    """The sync state of trips that have an open entry or a conflict: conflict > in_flight >
    in_doubt > pending > parked."""
    # Core statements on the tables, not ORM ones: a read of trips then never configures the
    # ORM's mappers (~5 ms of every `trip list` and `status`; start-up, issue 15).
    open_ = OPEN_STATES
    entries: Any = JournalEntry.__table__  # type: ignore[attr-defined]
    query = sa_select(entries.c.trip_id, entries.c.state, entries.c.in_doubt)
    if trip_ids is None:
        query = query.where(entries.c.state.in_(open_))
    else:
        # By trip only, states filtered below (see record_change).
        query = query.where(entries.c.trip_id.in_(list(trip_ids)))
    conn = session.connection()
    rank = {"in_flight": 4, "in_doubt": 3, "pending": 2, "parked": 1}
    result: dict[str, str] = {}
    for trip_id, state, doubt in conn.execute(query).all():
        if state not in open_:
            continue
        label = "in_doubt" if doubt and state in _SENDING else str(state)
        if rank[label] > rank.get(result.get(trip_id, ""), 0):
            result[trip_id] = label
    conflicts: Any = Conflict.__table__  # type: ignore[attr-defined]
    held = sa_select(conflicts.c.trip_id)
    if trip_ids is not None:
        held = held.where(conflicts.c.trip_id.in_(list(trip_ids)))
    for (trip_id,) in conn.execute(held).all():
        result[trip_id] = "conflict"  # held for the user: nothing is sent meanwhile
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


def _entries_query(trip_id: str) -> Any:
    """A trip's entries, oldest first, as a Core statement (rows, not ORM objects)."""
    entries: Any = JournalEntry.__table__  # type: ignore[attr-defined]
    return sa_select(entries).where(entries.c.trip_id == trip_id).order_by(entries.c.seq)


def events_for(session: Session, trip_id: str) -> list[Any]:
    """A trip's sync history, oldest first: rows with the history's columns as attributes
    (Core statements, no ORM mapper configured)."""
    events: Any = JournalEvent.__table__  # type: ignore[attr-defined]
    # By trip: the entries an event concerns may have been compacted (tracker gc).
    query = sa_select(events).where(events.c.trip_id == trip_id).order_by(events.c.id)
    return list(session.connection().execute(query).all())


def parked(session: Session) -> list[JournalEntry]:
    """Entries waiting for the user, oldest first."""
    return list(
        session.exec(
            select(JournalEntry)
            .where(JournalEntry.state == EntryState.PARKED)
            .order_by(col(JournalEntry.seq))
        ).all()
    )


class Journal:
    """The journal as an app or the CLI reads it (``store.journal``)."""

    def __init__(self, db: Database, account: str | None = None) -> None:
        self._db = db
        self._account = account

    def counts(self) -> JournalCounts:
        """Entries per state, and the oldest pending one's time."""
        with self._db.read() as s:
            return counts(s)

    def mark(self) -> int:
        """A mark of the journal as it is now (see :meth:`unfinished_through`)."""
        with self._db.read() as s:
            return last_seq(s)

    def unfinished_through(self, mark: int, *, every_account: bool = False) -> int:
        """How many entries that existed at ``mark`` are still pending or in flight, of
        the store's account (the implicit one, or the account of a ``for_account`` view), or
        of every account: the work a run of that account (or of all, in turns) left."""
        with self._db.read() as s:
            return unfinished_through(s, mark, self._account, every_account=every_account)

    def next_attempt_at(self) -> datetime | None:
        """When the earliest waiting retry is due (None when nothing waits)."""
        with self._db.read() as s:
            return next_attempt(s)

    def last_error(self) -> EntryView | None:
        """The most recent entry that carries a server or transport error."""
        with self._db.read() as s:
            entry = last_error(s)
            return EntryView.from_row(entry) if entry else None

    def history(self, trip_id: str) -> tuple[list[EntryView], list[EventView]]:
        """A trip's journal entries and the events that happened to them (a unique id
        prefix of 4+ characters is accepted)."""
        with self._db.read() as s:  # Core rows: a read configures no ORM mapper
            trip = find_trip_row(s, trip_id)
            conn = s.connection()
            entries = [EntryView.from_row(e) for e in conn.execute(_entries_query(trip.id))]
            events = [EventView.from_row(e) for e in events_for(s, trip.id)]
            return entries, events

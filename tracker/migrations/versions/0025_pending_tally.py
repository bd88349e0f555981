"""SQLite: the pending changes counted by kind and account, and the trips with open changes,
kept by triggers, so a dry run counts a decade's backlog from a few rows (issue 15).

A dry run's exact count evaluated ``journal_due`` per pending entry: a trip lookup and two
index probes each, ~270 ms for 100k pending trips. An entry is due when it is pending, its
trip is complete, is in no conflict, and no earlier entry of the trip is open (pending or in
flight). These counts give the same answer from a few rows (``tracker.pushcount``):

- ``pending:<op>:<new|known>:<account>``: pending entries by operation, by whether the
  trip has a Tight id (a save of a trip without one is a create), and by the trip's account
  ('' for the implicit one);
- ``journal:open_trips``: trips with at least one open entry. When it equals the open
  entries, no entry waits behind another of its trip.

The few pending entries of recording or conflicted trips are counted by a query over those
(the partial index ``ix_trip_unfinished`` finds the recording ones). When an entry waits
behind another, or a delete or an in-doubt entry is due, the dry run counts in SQL as
before.

PostgreSQL: nothing. Its dry run counts in SQL: concurrent workers' triggers there would see
each other's uncommitted entries of one trip differently, and these counts could drift.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# Trigger bodies are made of the statements below, each a literal (no value is ever put into
# SQL text). A pending entry's key is read from its trip row: no row (the foreign key forbids
# it) adds nothing. "+e.state": by the trip's few entries, never the state index over the
# whole backlog. Each statement repeats its trigger's condition on the row's state, so that
# one statement serves the insert (or delete) and the update triggers alike.

# The entry NEW (OLD) enters (leaves) the count of its key, if it is pending.
_ENTRY_ENTERS = """
            INSERT INTO tally (key, n)
            SELECT 'pending:' || NEW.op || ':'
                   || CASE WHEN t.remote_id IS NULL THEN 'new' ELSE 'known' END
                   || ':' || coalesce(t.account, ''), 1
            FROM trip AS t WHERE t.id = NEW.trip_id AND NEW.state = 'pending'
            ON CONFLICT (key) DO UPDATE SET n = n + excluded.n;"""
_ENTRY_LEAVES = """
            INSERT INTO tally (key, n)
            SELECT 'pending:' || OLD.op || ':'
                   || CASE WHEN t.remote_id IS NULL THEN 'new' ELSE 'known' END
                   || ':' || coalesce(t.account, ''), -1
            FROM trip AS t WHERE t.id = OLD.trip_id AND OLD.state = 'pending'
            ON CONFLICT (key) DO UPDATE SET n = n + excluded.n;"""
# NEW's (OLD's) trip opens (closes) when no other entry of it is open.
_TRIP_OPENS = """
            UPDATE tally SET n = n + 1 WHERE key = 'journal:open_trips'
              AND NOT EXISTS (SELECT 1 FROM journal AS e WHERE e.trip_id = NEW.trip_id
                              AND e.seq <> NEW.seq AND +e.state IN ('pending', 'in_flight'));"""
_TRIP_CLOSES = """
            UPDATE tally SET n = n - 1 WHERE key = 'journal:open_trips'
              AND NOT EXISTS (SELECT 1 FROM journal AS e WHERE e.trip_id = OLD.trip_id
                              AND e.seq <> OLD.seq AND +e.state IN ('pending', 'in_flight'));"""
# The trip row NEW (OLD) takes its pending entries into (out of) the keys of its values.
_TRIP_ROW_ENTERS = """
            INSERT INTO tally (key, n)
            SELECT 'pending:' || j.op || ':'
                   || CASE WHEN NEW.remote_id IS NULL THEN 'new' ELSE 'known' END
                   || ':' || coalesce(NEW.account, ''), count(*)
            FROM journal AS j WHERE j.trip_id = NEW.id AND +j.state = 'pending' GROUP BY j.op
            ON CONFLICT (key) DO UPDATE SET n = n + excluded.n;"""
_TRIP_ROW_LEAVES = """
            INSERT INTO tally (key, n)
            SELECT 'pending:' || j.op || ':'
                   || CASE WHEN OLD.remote_id IS NULL THEN 'new' ELSE 'known' END
                   || ':' || coalesce(OLD.account, ''), -count(*)
            FROM journal AS j WHERE j.trip_id = OLD.id AND +j.state = 'pending' GROUP BY j.op
            ON CONFLICT (key) DO UPDATE SET n = n + excluded.n;"""
_END = "\n        END"
# An update of an entry's state, op or trip (claimed, answered, given back, an op coalesced
# into a delete) fires only the triggers whose part it moves: a claim of a batch does one
# trip lookup per entry and no open-trip probe.
_ENTRY_CHANGED = (
    "(OLD.state IS NOT NEW.state OR OLD.op IS NOT NEW.op OR OLD.trip_id IS NOT NEW.trip_id)"
)

_TRIGGERS = {
    "tally_pending_journal_insert": (
        "AFTER INSERT ON journal WHEN NEW.state IN ('pending', 'in_flight') BEGIN"
        + _ENTRY_ENTERS
        + _TRIP_OPENS
        + _END
    ),
    "tally_pending_journal_delete": (
        "AFTER DELETE ON journal WHEN OLD.state IN ('pending', 'in_flight') BEGIN"
        + _ENTRY_LEAVES
        + _TRIP_CLOSES
        + _END
    ),
    "tally_pending_journal_leave": (
        "AFTER UPDATE OF state, op, trip_id ON journal WHEN OLD.state = 'pending' AND "
        + _ENTRY_CHANGED
        + " BEGIN"
        + _ENTRY_LEAVES
        + _END
    ),
    "tally_pending_journal_enter": (
        "AFTER UPDATE OF state, op, trip_id ON journal WHEN NEW.state = 'pending' AND "
        + _ENTRY_CHANGED
        + " BEGIN"
        + _ENTRY_ENTERS
        + _END
    ),
    # A trip closes when its last open entry is answered (or parked, or dropped), and opens
    # when an entry of a trip with none open becomes open again.
    "tally_open_journal_close": (
        "AFTER UPDATE OF state, trip_id ON journal WHEN OLD.state IN ('pending', 'in_flight') "
        "AND (NEW.state NOT IN ('pending', 'in_flight') OR OLD.trip_id IS NOT NEW.trip_id) BEGIN"
        + _TRIP_CLOSES
        + _END
    ),
    "tally_open_journal_open": (
        "AFTER UPDATE OF state, trip_id ON journal WHEN NEW.state IN ('pending', 'in_flight') "
        "AND (OLD.state NOT IN ('pending', 'in_flight') OR OLD.trip_id IS NOT NEW.trip_id) BEGIN"
        + _TRIP_OPENS
        + _END
    ),
    # A trip's first push gives it a Tight id (its pending save is an update from then on);
    # an account set on a trip takes its pending entries with it.
    "tally_pending_trip_update": (
        "AFTER UPDATE OF remote_id, account ON trip "
        "WHEN (OLD.remote_id IS NULL) IS NOT (NEW.remote_id IS NULL) "
        "OR OLD.account IS NOT NEW.account BEGIN" + _TRIP_ROW_LEAVES + _TRIP_ROW_ENTERS + _END
    ),
    # The foreign key keeps a journal row from outliving its trip or coming before it; with
    # it off (a file edited with plain sqlite3) the counts still follow the rows.
    "tally_pending_trip_insert": "AFTER INSERT ON trip BEGIN" + _TRIP_ROW_ENTERS + _END,
    "tally_pending_trip_delete": "AFTER DELETE ON trip BEGIN" + _TRIP_ROW_LEAVES + _END,
}

_FILL = (
    """INSERT INTO tally (key, n)
    SELECT 'pending:' || j.op || ':'
           || CASE WHEN t.remote_id IS NULL THEN 'new' ELSE 'known' END
           || ':' || coalesce(t.account, ''), count(*)
    FROM journal AS j JOIN trip AS t ON t.id = j.trip_id WHERE j.state = 'pending'
    GROUP BY 1""",
    """INSERT INTO tally (key, n)
    SELECT 'journal:open_trips', count(DISTINCT trip_id) FROM journal
    WHERE state IN ('pending', 'in_flight')""",
)


def upgrade() -> None:
    op.execute("CREATE INDEX ix_trip_unfinished ON trip (status) WHERE status <> 'complete'")
    if op.get_bind().dialect.name == "postgresql":
        return
    # Filled from the store as it is, in the same transaction as the triggers' creation.
    for sql in _FILL:
        op.execute(sql)
    for name, body in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    op.drop_index("ix_trip_unfinished", table_name="trip")
    if op.get_bind().dialect.name == "postgresql":
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DELETE FROM tally WHERE key LIKE 'pending:%' OR key = 'journal:open_trips'")

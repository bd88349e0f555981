"""Bounded journal history: failure streaks kept on the entry, history keyed by trip.

- ``journal.first_failed_at`` / ``last_failed_at``: the current failure streak of an entry
  (with ``attempts`` and the last error, already there). A failed attempt updates them
  instead of adding a history row (docs/sync-guarantees.md, "History and retention").
- ``journal_event`` rebuilt, rows and ids unchanged: ``entry_seq`` is now a plain number
  (no foreign key, NULL for an event about a trip none of whose entries is left) so that
  ``tracker gc`` can remove a synced entry past retention and keep the trip's audit events;
  ids are AUTOINCREMENT (never reused once an event is removed); the history is read by trip
  (``ix_journal_event_trip``), the journal rows it once went through may be gone.

Entries failing when the file is upgraded have no streak start yet: their next failure is
recorded as the first of a streak (one history row each, once).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.String(27)  # ISO-8601 UTC text, see tracker.coltypes.UTCDateTime
_COPY = (
    "INSERT INTO journal_event_new (id, entry_seq, trip_id, at, event, detail) "
    "SELECT id, entry_seq, trip_id, at, event, detail FROM journal_event"
)
# Downgrade: events whose entry was compacted cannot point at it again.
_COPY_KEPT = (
    "INSERT INTO journal_event_new (id, entry_seq, trip_id, at, event, detail) "
    "SELECT id, entry_seq, trip_id, at, event, detail FROM journal_event "
    "WHERE entry_seq IN (SELECT seq FROM journal)"
)


def _event_table(name: str, *, keyed_by_entry: bool) -> None:
    entry = (
        sa.Column("entry_seq", sa.Integer(), sa.ForeignKey("journal.seq"), nullable=False)
        if keyed_by_entry
        else sa.Column("entry_seq", sa.Integer(), nullable=True)
    )
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        entry,
        sa.Column("trip_id", sa.String(36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=True),
        sqlite_autoincrement=not keyed_by_entry,
    )


def _swap(keyed_by_entry: bool, copy: str = _COPY) -> None:
    # SQLite cannot drop a foreign key in place: a copy with the same rows and ids.
    _event_table("journal_event_new", keyed_by_entry=keyed_by_entry)
    op.execute(copy)
    op.drop_table("journal_event")
    op.rename_table("journal_event_new", "journal_event")


def upgrade() -> None:
    # ADD COLUMN: no copy of the journal, however large.
    op.add_column("journal", sa.Column("first_failed_at", TS, nullable=True))
    op.add_column("journal", sa.Column("last_failed_at", TS, nullable=True))
    _swap(keyed_by_entry=False)
    op.create_index("ix_journal_event_trip", "journal_event", ["trip_id", "id"])


def downgrade() -> None:
    _swap(keyed_by_entry=True, copy=_COPY_KEPT)
    op.create_index("ix_journal_event_entry", "journal_event", ["entry_seq", "id"])
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("last_failed_at")
        batch.drop_column("first_failed_at")

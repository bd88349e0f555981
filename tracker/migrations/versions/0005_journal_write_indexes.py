"""Index the journal for cheap writes: keys that never change, and that grow at the end.

A push batch of 100 rewrote ~400 pages: indexes led by a random UUID (``trip_id``) took one
random page per row per change, and ``(trip_id, state)`` moved on every state change. Now:

- journal ``(trip_id, seq)`` replaces ``(trip_id, state)``: same lookups (a trip has a few
  entries; the state is filtered after), and a state change no longer touches it;
- journal_event ``(entry_seq, id)`` replaces ``(trip_id, id)``: a batch's events land at the
  end of the index; a trip's history is read through its journal entries;
- trip ``remote_id`` loses its index: nothing looks trips up by Tight id.

Measured with bench/push.py's fixture: 9.3 -> 4.1 ms per push step (record + claim) of 100.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_journal_trip_state", table_name="journal")
    op.create_index("ix_journal_trip_seq", "journal", ["trip_id", "seq"])
    op.drop_index("ix_journal_event_trip", table_name="journal_event")
    op.create_index("ix_journal_event_entry", "journal_event", ["entry_seq", "id"])
    op.drop_index("ix_trip_remote_id", table_name="trip")


def downgrade() -> None:
    op.create_index("ix_trip_remote_id", "trip", ["remote_id"])
    op.drop_index("ix_journal_event_entry", table_name="journal_event")
    op.create_index("ix_journal_event_trip", "journal_event", ["trip_id", "id"])
    op.drop_index("ix_journal_trip_seq", table_name="journal")
    op.create_index("ix_journal_trip_state", "journal", ["trip_id", "state"])

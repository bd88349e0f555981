"""Index the journal by (state, seq): claims walk pending entries in sequence order.

Without it SQLite sorted every pending entry before taking the first batch (a claim cost
273 ms at 100k pending in bench/memory.py); with it, it stops after one batch.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_journal_state_seq", "journal", ["state", "seq"])


def downgrade() -> None:
    op.drop_index("ix_journal_state_seq", table_name="journal")

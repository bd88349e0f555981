"""Accounts: the Tight users a store syncs for (fleet mode).

A trip belongs to an account (``trip.account``); NULL is the implicit account, whose
credentials are the settings' (every store before this revision, and every single-user
store after it). ``account`` keeps credentials by reference only ("env:NAME", "file:/path"),
never a secret. ``journal_due`` carries the account so a claim can take one account's work.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The rule of 0007's view, unchanged; the view now also names the trip's account.
_DUE_RULE = """
FROM journal AS j JOIN trip AS t ON t.id = j.trip_id
WHERE j.state = 'pending'
  AND t.status = 'complete'
  AND NOT EXISTS (
      SELECT 1 FROM journal AS e
      WHERE e.trip_id = j.trip_id AND e.seq < j.seq AND e.state IN ('pending', 'in_flight'))
  AND NOT EXISTS (SELECT 1 FROM conflict AS c WHERE c.trip_id = j.trip_id)
"""
_DUE = "CREATE VIEW journal_due AS SELECT j.seq, j.next_attempt_at, j.op, t.remote_id, t.account"
_DUE_0007 = "CREATE VIEW journal_due AS SELECT j.seq, j.next_attempt_at, j.op, t.remote_id"


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("tight_client_id", sa.String(), nullable=True),
        sa.Column("tight_user_id", sa.String(), nullable=True),
        sa.Column("tight_secret_ref", sa.String(), nullable=True),
        sa.Column("tight_token_ref", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("disabled_at", sa.String(length=27), nullable=True),
    )
    op.execute("DROP VIEW journal_due")
    # Plain ALTER TABLE on both: a batch (copy-and-move) on SQLite would drop trip's triggers.
    # No foreign key: SQLite could not drop the column again; the store checks the name.
    op.add_column("trip", sa.Column("account", sa.String(), nullable=True))
    op.create_index("ix_trip_account", "trip", ["account"])
    op.execute(_DUE + _DUE_RULE)


def downgrade() -> None:
    op.execute("DROP VIEW journal_due")
    op.drop_index("ix_trip_account", "trip")
    # SQLite (3.35+) drops a column in place once no index or view uses it.
    op.drop_column("trip", "account")
    op.execute(_DUE_0007 + _DUE_RULE)
    op.drop_table("account")

"""Two-way sync: conflicts held for the user, and what the server did to a trip.

- ``conflict``: a trip changed here and on the server in different ways (or deleted there,
  edited here). One row per trip: which fields differ (base, here, server, and the server's
  values in local terms), the server's copy, and the trip's journal entry, which waits.
- ``trip.origin`` (``server`` for a trip made on the server and pulled here) and
  ``trip.deleted_by`` (``server`` when the server deleted it: never re-created).
- ``journal_due``: an entry of a trip held in a conflict is not due; the view also tells
  updates (``op`` save, the trip has a Tight id) from creates and deletes, since a run
  pushes updates only after it read their server copies.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DUE = """
CREATE VIEW journal_due AS
SELECT j.seq, j.next_attempt_at, j.op, t.remote_id
FROM journal AS j JOIN trip AS t ON t.id = j.trip_id
WHERE j.state = 'pending'
  AND t.status = 'complete'
  AND NOT EXISTS (
      SELECT 1 FROM journal AS e
      WHERE e.trip_id = j.trip_id AND e.seq < j.seq AND e.state IN ('pending', 'in_flight'))
  AND NOT EXISTS (SELECT 1 FROM conflict AS c WHERE c.trip_id = j.trip_id)
"""

_DUE_0006 = """
CREATE VIEW journal_due AS
SELECT j.seq, j.next_attempt_at FROM journal AS j JOIN trip AS t ON t.id = j.trip_id
WHERE j.state = 'pending'
  AND t.status = 'complete'
  AND NOT EXISTS (
      SELECT 1 FROM journal AS e
      WHERE e.trip_id = j.trip_id AND e.seq < j.seq AND e.state IN ('pending', 'in_flight'))
"""


def upgrade() -> None:
    op.create_table(
        "conflict",
        sa.Column("trip_id", sa.String(length=36), sa.ForeignKey("trip.id"), primary_key=True),
        sa.Column("entry_seq", sa.Integer(), sa.ForeignKey("journal.seq"), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("server_record", sa.JSON(), nullable=True),
        sa.Column("found_at", sa.String(length=27), nullable=False),
    )
    op.add_column("trip", sa.Column("origin", sa.String(), nullable=True))
    op.add_column("trip", sa.Column("deleted_by", sa.String(), nullable=True))
    op.execute("DROP VIEW journal_due")
    op.execute(_DUE)


def downgrade() -> None:
    op.execute("DROP VIEW journal_due")
    op.execute(_DUE_0006)
    with op.batch_alter_table("trip") as batch:
        batch.drop_column("deleted_by")
        batch.drop_column("origin")
    op.drop_table("conflict")

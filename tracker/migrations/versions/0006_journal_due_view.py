"""One definition of "due": the journal entries a pusher may claim (before their retry time).

An entry is due when it is pending, its trip is complete, and no earlier entry of the same
trip is still open. The claim takes the first of these whose retry time has come; the push's
progress total counts them. Both read this view, so the two can never disagree.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE VIEW journal_due AS
        SELECT j.seq, j.next_attempt_at FROM journal AS j JOIN trip AS t ON t.id = j.trip_id
        WHERE j.state = 'pending'
          AND t.status = 'complete'
          AND NOT EXISTS (
              SELECT 1 FROM journal AS e
              WHERE e.trip_id = j.trip_id AND e.seq < j.seq AND e.state IN ('pending', 'in_flight'))
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW journal_due")

"""Which pull last saw each cost and each quarantined item (for "not seen in the last pull").

A boolean alone cannot tell "seen by this pull" from "seen by the previous one" while a pull
is under way (and a pull may span several processes when it resumes from its checkpoint), so
each row records the run id of the last pull that read it. When a walk completes, rows
carrying another run id are marked not seen.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cost", sa.Column("seen_run", sa.String(), nullable=True))
    op.add_column("cost_quarantine", sa.Column("seen_run", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cost_quarantine") as batch:
        batch.drop_column("seen_run")
    with op.batch_alter_table("cost") as batch:
        batch.drop_column("seen_run")

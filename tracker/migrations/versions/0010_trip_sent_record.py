"""Remember what an update sent until its answer is recorded: a save whose answer was lost
(the process killed between the request and the record) is then recognised as our own.

Without it, the next pull saw that save on the server as someone else's edit: a trip edited
again here meanwhile became a conflict with its own earlier state (reliability campaign A1
caught it). ``sent_record`` holds the save item of an update from its claim until the
answer is recorded (synced or parked); NULL otherwise.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN: no copy of the trip table, however large.
    op.add_column("trip", sa.Column("sent_record", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trip") as batch:
        batch.drop_column("sent_record")

"""The request budget shared by every process on the file, and the record of open sessions.

``request_grant`` holds the send times (wall clock, seconds since the epoch) of the requests
granted within the last rate window, per budget key (one per Tight URL and identity);
``request_budget`` holds each key's shared 429 pause and the latest time any process used
(a step back of the wall clock is recognised against it). Both stay small: grants older than
the window are deleted as new ones are taken.

``store_session`` has one row per process that has the file open: written at open, deleted
at a clean close. A row whose process is gone means the file was not closed cleanly, and the
next open runs the full integrity check (docs/sync-guarantees.md, "Integrity").

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_grant",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_request_grant_key_at", "request_grant", ["key", "at"])
    op.create_table(
        "request_budget",
        sa.Column("key", sa.String(), primary_key=True, nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.Column("horizon", sa.Float(), nullable=False),
    )
    op.create_table(
        "store_session",
        sa.Column("id", sa.String(), primary_key=True, nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.Column("started_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_session")
    op.drop_table("request_budget")
    op.drop_index("ix_request_grant_key_at", "request_grant")
    op.drop_table("request_grant")

"""Additional costs pulled from the mobility platform, their quarantine, the pull checkpoint.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.String(27)
DEC = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "cost",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("trip_guid", sa.String(), nullable=True),
        sa.Column("trip_id", sa.String(36), sa.ForeignKey("trip.id"), nullable=True),
        sa.Column("link", sa.String(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=True),
        sa.Column("cost_type", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=True),
        sa.Column("amount", DEC, nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("start_location", sa.String(), nullable=True),
        sa.Column("end_location", sa.String(), nullable=True),
        sa.Column("start_time", TS, nullable=True),
        sa.Column("end_time", TS, nullable=True),
        sa.Column("last_updated", TS, nullable=True),
        sa.Column("ext_user_guid", sa.String(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("payment_status", sa.Integer(), nullable=True),
        sa.Column("payment_attempt", TS, nullable=True),
        sa.Column("payment_user", sa.String(), nullable=True),
        sa.Column("payment_notes", sa.String(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("seen_in_last_pull", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "link IN ('trip_guid', 'time', 'ambiguous', 'none')", name="ck_cost_link"
        ),
    )
    op.create_index("ix_cost_trip", "cost", ["trip_id"])
    op.create_table(
        "cost_quarantine",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cost_id", sa.String(), nullable=True),
        sa.Column("raw", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
    )
    op.create_index("ix_cost_quarantine_cost_id", "cost_quarantine", ["cost_id"])
    op.create_table(
        "pull_state",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("checkpoint", sa.JSON(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("stop_reason", sa.String(), nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("last_complete_at", TS, nullable=True),
    )


def downgrade() -> None:
    for table in ("pull_state", "cost_quarantine", "cost"):
        op.drop_table(table)

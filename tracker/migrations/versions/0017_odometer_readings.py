"""Odometer readings per car: one row per car and day, the reading and its unit.

Local records, not journalled: nothing sends them to Tight (its car save takes only a yearly
``odometer`` figure), so there is no change to push; the tax log reads them from here.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = sa.String(27)  # ISO-8601 UTC text, see tracker.coltypes.UTCDateTime
DEC = sa.String(64)  # canonical decimal text, see tracker.coltypes.DecimalText


def upgrade() -> None:
    op.create_table(
        "odometer_reading",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("car_id", sa.String(36), sa.ForeignKey("car.id"), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reading", DEC, nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("car_id", "date", name="uq_odometer_reading_car_date"),
    )


def downgrade() -> None:
    op.drop_table("odometer_reading")

"""Index trips by Tight id again: the two-way pull looks every record of a page up by it.

0005 dropped the index when nothing read by Tight id and each push paid for it. Now every
page of a mileage walk finds its 100 trips by Tight id: without the index a scan of the
trip table, ~5-7 ms a page at 10k trips, growing with the store (bench/mileage_walk.py:
applying a page went from 12.1 to 8.7 ms at 10k trips). A create pays one index insert when
its id arrives, once per trip.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_trip_remote_id", "trip", ["remote_id"])


def downgrade() -> None:
    op.drop_index("ix_trip_remote_id", table_name="trip")

"""Import keys of trips added in bulk: a row whose key is already here is skipped.

``tracker trip import FILE.csv`` keys each row by the file's SHA-256 and its row number, so
importing the same file again (twice, or after a crash) adds nothing (docs/cli.md). A table
of its own, not a column of ``trip``: no copy of the trip table, and trips added one by one
carry nothing.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trip_import",
        sa.Column("key", sa.String(), primary_key=True, nullable=False),
        sa.Column("trip_id", sa.String(), sa.ForeignKey("trip.id"), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_trip_import_trip", "trip_import", ["trip_id"])


def downgrade() -> None:
    op.drop_index("ix_trip_import_trip", table_name="trip_import")
    op.drop_table("trip_import")

"""Trips, waypoints, cars, the change journal and leases.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.String(27)  # ISO-8601 UTC text, see tracker.coltypes.UTCDateTime
DEC = sa.String(64)  # canonical decimal text, see tracker.coltypes.DecimalText


def upgrade() -> None:
    op.create_table(
        "car",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("make", sa.String(), nullable=True),
        sa.Column("model", sa.String(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("odometer", DEC, nullable=True),
        sa.Column("odometer_unit", sa.String(), nullable=True),
        sa.Column("remote_id", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "trip",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("remote_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("lifecycle", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("start_time", TS, nullable=True),
        sa.Column("end_time", TS, nullable=True),
        sa.Column("start_lat", DEC, nullable=True),
        sa.Column("start_lng", DEC, nullable=True),
        sa.Column("end_lat", DEC, nullable=True),
        sa.Column("end_lng", DEC, nullable=True),
        sa.Column("start_address", sa.JSON(), nullable=True),
        sa.Column("end_address", sa.JSON(), nullable=True),
        sa.Column("distance", DEC, nullable=False),
        sa.Column("distance_unit", sa.String(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("classification", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("car_id", sa.String(36), sa.ForeignKey("car.id"), nullable=True),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("class_segment_ids", sa.JSON(), nullable=True),
        sa.Column("custom_data", sa.JSON(), nullable=True),
        sa.Column("remote_record", sa.JSON(), nullable=True),
        sa.Column("synced_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.CheckConstraint("status IN ('recording', 'complete')", name="ck_trip_status"),
        sa.CheckConstraint("lifecycle IN ('active', 'deleted')", name="ck_trip_lifecycle"),
        sa.CheckConstraint("source IN ('live', 'manual', 'gpx')", name="ck_trip_source"),
        sa.CheckConstraint("distance_unit IN ('km', 'mile')", name="ck_trip_unit"),
        sa.CheckConstraint(
            "classification IN ('business', 'personal', 'unclassified')",
            name="ck_trip_classification",
        ),
    )
    op.create_index("ix_trip_remote_id", "trip", ["remote_id"])
    op.create_index("ix_trip_start_time", "trip", ["start_time"])
    op.create_table(
        "waypoint",
        sa.Column("trip_id", sa.String(36), sa.ForeignKey("trip.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("t_us", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("speed", sa.Float(), nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "journal",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("trip_id", sa.String(36), sa.ForeignKey("trip.id"), nullable=False),
        sa.Column("op", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", TS, nullable=True),
        sa.Column("in_doubt", sa.Boolean(), nullable=False),
        sa.Column("error_type", sa.String(), nullable=True),
        sa.Column("error_message", sa.String(), nullable=True),
        sa.Column("error_param", sa.String(), nullable=True),
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("synced_at", TS, nullable=True),
        sa.CheckConstraint("op IN ('save', 'delete')", name="ck_journal_op"),
        sa.CheckConstraint(
            "state IN ('pending', 'in_flight', 'synced', 'parked', 'dropped')",
            name="ck_journal_state",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_journal_state_next", "journal", ["state", "next_attempt_at"])
    op.create_index("ix_journal_trip_state", "journal", ["trip_id", "state"])
    op.create_table(
        "journal_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_seq", sa.Integer(), sa.ForeignKey("journal.seq"), nullable=False),
        sa.Column("trip_id", sa.String(36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=True),
    )
    op.create_index("ix_journal_event_trip", "journal_event", ["trip_id", "id"])
    op.create_table(
        "lease",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("expires_at", TS, nullable=True),
    )


def downgrade() -> None:
    for table in ("lease", "journal_event", "journal", "waypoint", "trip", "car"):
        op.drop_table(table)

"""The tables no read of trips touches: the costs pull's and the odometer's.

Declared apart from ``tracker.tables`` (which names them lazily: ``from tracker.tables import
Cost`` still works) so that ``tracker trip list``, ``show`` and ``add`` do not build their
SQLModel classes, ~2-4 ms each (issue 15, start-up). They join the same metadata when this
module is first imported; the schema test imports it.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.coltypes import INT64, DecimalText, UTCDateTime
from tracker.tables import TABLE_CONFIG

__all__ = ["Cost", "CostQuarantine", "OdometerReading", "PullState"]


class OdometerReading(SQLModel, table=True):
    """One odometer reading of a car on a day (local record, not journalled; migration 0017)."""

    model_config = TABLE_CONFIG

    __tablename__ = "odometer_reading"
    __table_args__ = (UniqueConstraint("car_id", "date", name="uq_odometer_reading_car_date"),)

    id: int | None = Field(default=None, primary_key=True)
    car_id: str = Field(foreign_key="car.id", max_length=36)
    date: dt.date
    reading: Decimal = Field(sa_type=DecimalText)
    unit: str  # DistanceUnit
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Cost(SQLModel, table=True):
    """An additional cost pulled from the mobility platform (tolls, parking, fines ...)."""

    model_config = TABLE_CONFIG

    __tablename__ = "cost"
    __table_args__ = (Index("ix_cost_trip", "trip_id"),)

    id: int = Field(primary_key=True, sa_type=INT64)  # the platform's ID
    trip_guid: str | None = None
    trip_id: str | None = Field(default=None, foreign_key="trip.id")
    link: str = "none"  # trip_guid | time | ambiguous | none
    type_id: int | None = Field(default=None, sa_type=INT64)
    cost_type: int | None = Field(default=None, sa_type=INT64)
    label: str | None = None
    labels: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    amount: Decimal = Field(sa_type=DecimalText)
    currency: str
    notes: str | None = None
    start_location: str | None = None
    end_location: str | None = None
    start_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_updated: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ext_user_guid: str | None = None
    payment_id: int | None = Field(default=None, sa_type=INT64)
    payment_status: int | None = Field(default=None, sa_type=INT64)
    payment_attempt: datetime | None = Field(default=None, sa_type=UTCDateTime)
    payment_user: str | None = None
    payment_notes: str | None = None
    raw: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # Whose pull read it (fleet mode, migration 0023): None is the implicit account.
    account: str | None = None
    seen_in_last_pull: bool = True
    # The last pull that wrote this row (a pull that reads it unchanged writes nothing: the
    # costs a walk read are in ``pull_seen``).
    seen_run: str | None = None
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CostQuarantine(SQLModel, table=True):
    """A pulled item that did not validate: kept raw with the reason, retried next pull."""

    model_config = TABLE_CONFIG

    __tablename__ = "cost_quarantine"

    id: int | None = Field(default=None, primary_key=True)
    cost_id: str | None = Field(default=None, index=True)
    raw: str
    reason: str
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    seen_run: str | None = None  # run id of the last pull that read this item
    account: str | None = None  # whose pull read it (None: the implicit account)


class PullState(SQLModel, table=True):
    """Checkpoint of a (possibly interrupted) pull, written with each stored page."""

    model_config = TABLE_CONFIG

    __tablename__ = "pull_state"

    name: str = Field(primary_key=True)
    run_id: str | None = None
    checkpoint: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    pages: int = 0
    items: int = 0
    complete: bool = False
    stop_reason: str | None = None
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_complete_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

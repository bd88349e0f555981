"""SQLModel table models: the shape of the SQLite file.

Table models skip validation on construction, so they are only ever built from values that
already passed a model in ``tracker.inputs`` (or from the database itself). The schema is
created and evolved by the Alembic migrations in ``tracker/migrations``; a test checks that
these models and the migrated schema agree.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    text,
)
from sqlmodel import AutoString, Field, SQLModel
from sqlmodel._compat import SQLModelConfig  # model_config's own type (0.0.14 on)

from tracker.coltypes import INT64, DecimalText, UTCDateTime

# Declared in tracker.sidetables, imported on first use (PEP 562): a read of trips never
# builds them (issue 15, start-up).
_SIDE_TABLES = frozenset({"Cost", "CostQuarantine", "OdometerReading", "PullState"})

if TYPE_CHECKING:
    from tracker.sidetables import Cost as Cost
    from tracker.sidetables import CostQuarantine as CostQuarantine
    from tracker.sidetables import OdometerReading as OdometerReading
    from tracker.sidetables import PullState as PullState


def __getattr__(name: str) -> Any:
    if name in _SIDE_TABLES:
        from tracker import sidetables

        return getattr(sidetables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Table models never validate (rows are built from checked input or read from the file):
# their pydantic validators are built only if something asks for one, not at import, which
# saves ~1 ms a class at every start-up (issue 15).
TABLE_CONFIG = SQLModelConfig(defer_build=True)


class Car(SQLModel, table=True):
    """A vehicle trips can be attached to."""

    model_config = TABLE_CONFIG

    __tablename__ = "car"

    id: str = Field(primary_key=True, max_length=36)
    name: str
    make: str | None = None
    model: str | None = None
    year: int | None = None
    odometer: Decimal | None = Field(default=None, sa_type=DecimalText)
    odometer_unit: str | None = None
    remote_id: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Account(SQLModel, table=True):
    """A Tight user the store syncs for (fleet mode; migration 0021). Trips without one
    belong to the implicit account, whose credentials are the settings'. Secrets are never
    stored: only references to where they are read (``tracker.accounts``)."""

    model_config = TABLE_CONFIG

    __tablename__ = "account"

    name: str = Field(primary_key=True, max_length=64)
    tight_client_id: str | None = None
    tight_user_id: str | None = None
    tight_secret_ref: str | None = None  # "env:NAME" or "file:/path" of the client secret
    tight_token_ref: str | None = None  # the same, of a static access token
    costs_token_ref: str | None = None  # the same, of its costs API token (migration 0023)
    created_at: datetime = Field(sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Trip(SQLModel, table=True):
    """One trip. ``id`` is a local UUID4, ``remote_id`` Tight's ``mlg_...`` once pushed."""

    model_config = TABLE_CONFIG

    __tablename__ = "trip"
    __table_args__ = (
        Index("ix_trip_start_time", "start_time"),
        Index("ix_trip_remote_id", "remote_id"),
        Index("ix_trip_account", "account"),
        # The few trips still recording, whose pending changes are not due (0025). The
        # migration gives PostgreSQL's the same WHERE; a postgresql_where here would import
        # that dialect at every start-up.
        Index("ix_trip_unfinished", "status", sqlite_where=text("status <> 'complete'")),
        # The list order (tracker/triplist.py), so a page never sorts the store (0011).
        Index(
            "ix_trip_list_order",
            text("coalesce(date, '')"),
            text("coalesce(start_time, '')"),
            "id",
            "lifecycle",
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    remote_id: str | None = None
    status: str  # TripStatus
    lifecycle: str  # Lifecycle
    source: str  # TripSource
    date: dt.date | None = None
    timezone: str
    start_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    start_lat: Decimal | None = Field(default=None, sa_type=DecimalText)
    start_lng: Decimal | None = Field(default=None, sa_type=DecimalText)
    end_lat: Decimal | None = Field(default=None, sa_type=DecimalText)
    end_lng: Decimal | None = Field(default=None, sa_type=DecimalText)
    start_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    end_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    distance: Decimal = Field(sa_type=DecimalText)
    distance_unit: str  # DistanceUnit
    duration_ms: int | None = Field(default=None, sa_type=INT64)  # BIGINT on PostgreSQL
    classification: str  # Classification
    description: str | None = None
    notes: str | None = None
    car_id: str | None = Field(default=None, foreign_key="car.id")
    customer_id: str | None = None
    class_segment_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    custom_data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    remote_record: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # The save items (creates or updates) sent since the last recorded answer, a JSON list
    # (tracker.sentsaves; one object before it): a save whose answer was lost is recognised
    # as our own by the next read (migration 0010).
    sent_record: list[dict[str, Any]] | dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON)
    )
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    origin: str | None = None  # "server": made on the server and pulled here
    deleted_by: str | None = None  # "server": deleted there (never re-created)
    # The hash of the trip's latest history link (tracker.chain; migration 0018).
    chain_head: str | None = None
    # The account it belongs to (migration 0021); None: the implicit account.
    account: str | None = None


class Waypoint(SQLModel, table=True):
    """One GPS fix of a trip, in the fixed-point units of ``tracker.fixcodec`` (~30 bytes
    a fix with its key). Bulk inserts go through SQLAlchemy Core, not the ORM."""

    model_config = TABLE_CONFIG

    __tablename__ = "waypoint"
    __table_args__ = {"sqlite_with_rowid": False}

    trip_key: int = Field(foreign_key="track.key", primary_key=True, sa_type=INT64)
    seq: int = Field(primary_key=True)
    # microseconds since the track's t0_us: exact for every Python datetime
    dt_us: int = Field(sa_type=INT64)
    lat_e7: int  # 1e-7 degree
    lng_e7: int
    acc_cm: int | None = None  # accuracy radius, centimetres
    speed_cms: int | None = None  # cm/s


class JournalEntry(SQLModel, table=True):
    """A change not yet known to the server (the outbox).

    At most one *pending* entry per trip: later changes coalesce into it, and the push sends
    the trip's latest state. A change made while an entry is in flight opens a new entry,
    ordered after it by ``seq`` (a sequence, never a timestamp).
    """

    model_config = TABLE_CONFIG

    __tablename__ = "journal"
    __table_args__ = (
        Index("ix_journal_state_next", "state", "next_attempt_at"),
        Index("ix_journal_trip_seq", "trip_id", "seq"),
        Index("ix_journal_state_seq", "state", "seq"),
        # The latest error (status) without sorting the journal (0012).
        Index("ix_journal_error", "updated_at", sqlite_where=text("error_type IS NOT NULL")),
        {"sqlite_autoincrement": True},
    )

    seq: int | None = Field(default=None, primary_key=True)
    trip_id: str = Field(foreign_key="trip.id")
    op: str  # EntryOp
    state: str  # EntryState
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    in_doubt: bool = False
    error_type: str | None = None
    error_message: str | None = None
    error_param: str | None = None
    payload_version: int
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The current failure streak (with ``attempts`` and the last error): a failed attempt
    # updates these instead of adding a history row (migration 0013).
    first_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class JournalEvent(SQLModel, table=True):
    """What happened to a trip and its changes, in order: the trip's history.

    The events that change the trip's record are the links of its hash chain
    (``tracker.chain``): they carry ``state`` and ``hash``; the sync's own events do not.

    Read by trip: ``entry_seq`` names the change (journal entry) it concerns, and stays when
    ``tracker gc`` removes a synced entry past retention (no foreign key; None for an event
    about a trip with no entry left). Ids are never reused (migration 0013).
    """

    model_config = TABLE_CONFIG

    __tablename__ = "journal_event"
    __table_args__ = (
        Index("ix_journal_event_trip", "trip_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_seq: int | None = None
    trip_id: str
    at: datetime = Field(sa_type=UTCDateTime)
    event: str
    detail: str | None = None
    # A link of the trip's hash chain (tracker.chain) has these three; a sync event has
    # none. ``changes``: JSON ``{column: [old, new]}`` of the covered fields it changed.
    changes: str | None = None
    state: str | None = None
    hash: str | None = None


class Conflict(SQLModel, table=True):
    """A trip changed here and on the server in different ways, held for the user.

    ``fields`` lists each differing field: ``{name, base, local, server, values}`` (``values``:
    the server's value in local terms, taken when the user picks the server's side).
    ``kind`` is ``edit``, or ``deleted`` (deleted on the server, edited here). While the row
    exists the trip's change (``entry_seq``) is not pushed.
    """

    model_config = TABLE_CONFIG

    __tablename__ = "conflict"

    trip_id: str = Field(foreign_key="trip.id", primary_key=True, max_length=36)
    entry_seq: int = Field(foreign_key="journal.seq")
    kind: str
    fields: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    server_record: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    found_at: datetime = Field(sa_type=UTCDateTime)


class Lease(SQLModel, table=True):
    """A named lease (e.g. the one pusher allowed at a time); ``fence`` grows on every grant."""

    model_config = TABLE_CONFIG

    __tablename__ = "lease"

    name: str = Field(primary_key=True)
    owner: str | None = None
    fence: int = 0
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Bookkeeping tables, read and written with plain SQL or SQLAlchemy Core only: declared as
# Core tables on the same metadata (the schema test compares them too). A SQLModel class costs
# ~2.4 ms of start-up each (a pydantic model), a Core table ~0.2 ms (issue 15, start-up).
_META = SQLModel.metadata

TRACK = Table(
    "track",
    _META,
    # An INTEGER PRIMARY KEY: an explicit alias of the rowid, which VACUUM keeps (it may
    # renumber only implicit rowids). A row is made with a trip's first fix (migration 0016).
    Column("key", INT64, primary_key=True),
    Column("trip_id", AutoString, ForeignKey("trip.id"), nullable=False, unique=True),
    # The first fix's time (UTC epoch microseconds): waypoint times are offsets from it.
    Column("t0_us", INT64, nullable=False),
)
"""A trip's recorded fixes: their compact integer key and time base."""

TRIP_IMPORT = Table(
    "trip_import",
    _META,
    Column("key", AutoString, primary_key=True),
    Column("trip_id", AutoString, ForeignKey("trip.id"), nullable=False),
    Index("ix_trip_import_trip", "trip_id"),
    sqlite_with_rowid=False,
)
"""The import key of a trip added in bulk (``Tracker.add_trips``): a row given the same key
again is skipped, so importing a file twice (or again after a crash) adds nothing."""

TALLY = Table(
    "tally",
    _META,
    Column("key", AutoString, primary_key=True),
    Column("n", Integer, nullable=False),
)
"""Counts kept by triggers in the same transaction as each change (migration 0012; see
``tracker.tally``)."""

PULL_SEEN = Table(
    "pull_seen",
    _META,
    Column("id", Integer, primary_key=True),
    Column("run_id", AutoString, nullable=False),
    Column("ranges", AutoString, nullable=False),
)
"""Cost IDs a pull run has read so far, as sorted ``[first, last]`` ranges (JSON): one row
per checkpoint, cleared when the run ends (docs/costs.md)."""

REQUEST_GRANT = Table(
    "request_grant",
    _META,
    Column("id", Integer, primary_key=True),
    Column("key", AutoString, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_request_grant_key_at", "key", "at"),
)
"""One request a budget granted, at ``at`` (wall clock, epoch seconds): the grants of the last
rate window, shared by every process on the file (``tracker.grants``)."""

REQUEST_BUDGET = Table(
    "request_budget",
    _META,
    Column("key", AutoString, primary_key=True),
    Column("paused_until", Float, nullable=False),
    Column("horizon", Float, nullable=False),
)
"""A budget's shared 429 pause and the latest wall time any process used (its horizon)."""

STORE_SESSION = Table(
    "store_session",
    _META,
    Column("id", AutoString, primary_key=True),
    Column("host", AutoString, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("tag", AutoString, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
)
"""A process that has the file open (written at open, deleted at a clean close)."""

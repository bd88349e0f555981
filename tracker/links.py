"""Writing the trip history's hash chain (``tracker.chain``), in the caller's transaction.

Every path that changes a covered field of a trip ends with :func:`link` (or, for trips
added in bulk, writes :func:`first_links`): the link's state is read back from the row as
stored, so what is hashed is what ``tracker verify`` reads, whatever Python types wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, ColumnClause, ColumnElement, Text, bindparam, cast, column, select
from sqlalchemy import table as table_of
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from tracker.chain import COVERED, Stored, changes_text, diff, link_hash, state_digest
from tracker.coltypes import utc_text
from tracker.tables import Trip

__all__ = [
    "JSON_COVERED",
    "LinkRow",
    "covered_row",
    "covered_sql",
    "first_links",
    "insert_links",
    "link",
]


#: The covered columns PostgreSQL stores as ``json``: psycopg would parse them, and a
#: parsed value need not dump back to the bytes stored (nor a JSON ``null`` to anything but
#: None), so they are read as their stored text, which ``json`` keeps verbatim.
JSON_COVERED = frozenset(
    name
    for name in COVERED
    if isinstance(Trip.__table__.c[name].type, JSON)  # type: ignore[attr-defined]
)


@cache
def covered_sql(*, where_id: str | None = None, dialect: str = "sqlite") -> str:
    """``SELECT <covered fields>, chain_head FROM trip [WHERE id <where_id> ?] ORDER BY id``
    as text for ``dialect`` (a SQLAlchemy dialect name), written by SQLAlchemy's compiler
    from the column names (never by string formatting), for the driver-level reads of the
    chain's hot paths. On PostgreSQL the JSON columns are read as text (:data:`JSON_COVERED`);
    the placeholder stays SQLite's ``?`` (``tracker.db`` rewrites it there)."""
    columns: list[ColumnElement[Any]] = [_read_as(name, dialect) for name in COVERED]
    columns.append(column("chain_head"))
    stmt = select(*columns).select_from(table_of("trip"))
    if where_id == "=":
        stmt = stmt.where(column("id") == bindparam("id"))
    elif where_id == ">":
        stmt = stmt.where(column("id") > bindparam("id"))
    elif where_id is not None:
        raise ValueError(f"where_id must be '=' or '>', not {where_id!r}")
    return str(stmt.order_by(column("id")).compile(dialect=sqlite.dialect()))


def _read_as(name: str, dialect: str) -> ColumnElement[Any]:
    plain: ColumnClause[Any] = column(name)
    if dialect == "postgresql" and name in JSON_COVERED:
        return cast(plain, Text).label(name)
    return plain


def _covered_for(conn: Any) -> str:
    return covered_sql(where_id="=", dialect=conn.dialect.name)


_LATEST_SEQ_SQL = "SELECT max(seq) FROM journal WHERE trip_id = ?"
_LINK_SQL = (
    "INSERT INTO journal_event (entry_seq, trip_id, at, event, detail, changes, state, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_HEAD_SQL = "UPDATE trip SET chain_head = ? WHERE id = ?"

LinkRow = tuple[int | None, str, str, str, str | None, str | None, str, str]
"""A link as inserted: entry seq, trip id, instant (stored text), event, detail, changes,
state, hash."""


def covered_row(s: Session, trip_id: str) -> tuple[Stored, ...]:
    """The trip's covered fields as stored now (pending ORM changes flushed first)."""
    s.flush()
    conn = s.connection()
    row = conn.exec_driver_sql(_covered_for(conn), (trip_id,)).one()
    return tuple(row[:-1])


def link(
    s: Session,
    trip_id: str,
    now: datetime,
    event: str,
    detail: str | None = None,
    *,
    before: Sequence[Stored] | None = None,
) -> str:
    """Add a link to the trip's chain for a change just made in ``s`` (call it after the
    change, last): ``before``, the covered row read before the change, makes the link say
    what changed. Returns the new head."""
    s.flush()
    conn = s.connection()
    row = conn.exec_driver_sql(_covered_for(conn), (trip_id,)).one()
    values, prev = tuple(row[:-1]), row[-1]
    changes = None if before is None else changes_text(diff(before, values))
    state = state_digest(values)
    at = utc_text(now)
    head = link_hash(prev, trip_id, at, event, detail, changes, state)
    seq = conn.exec_driver_sql(_LATEST_SEQ_SQL, (trip_id,)).scalar()
    conn.exec_driver_sql(_LINK_SQL, (seq, trip_id, at, event, detail, changes, state, head))
    conn.exec_driver_sql(_HEAD_SQL, (head, trip_id))
    return head


def first_links(
    trips: Sequence[tuple[int | None, Sequence[Stored]]],
    at: str,
    event: str,
    details: Sequence[str],
) -> list[LinkRow]:
    """The first link of each new trip, from the values it is inserted with (no I/O):
    ``trips`` as (entry seq, its covered values in ``COVERED`` order, as stored)."""
    rows: list[LinkRow] = []
    for (seq, values), detail in zip(trips, details, strict=True):
        trip_id = str(values[0])  # COVERED starts with the id
        state = state_digest(values)
        head = link_hash(None, trip_id, at, event, detail, None, state)
        rows.append((seq, trip_id, at, event, detail, None, state, head))
    return rows


def insert_links(conn: Any, rows: list[LinkRow]) -> None:
    """Insert links written by :func:`first_links` (the trips' heads are in their rows)."""
    if rows:
        conn.exec_driver_sql(_LINK_SQL, rows)

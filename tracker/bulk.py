"""Many trips at once (``Tracker.add_trips``): one transaction per chunk.

Each chunk is one ``BEGIN IMMEDIATE`` transaction holding its trips, their journal entries
(a pending save each, with its "queued save" event: the outbox invariant of
``tracker.journal``), their first history links (``tracker.links``), their import keys and
their waypoints, so a crash leaves whole chunks only. Rows are validated one by one before
their chunk is written (``tracker.bulkrows``); the rows are built once and written with
executemany straight to the driver, not through the ORM's unit of work (the rate target:
>= 0.5x raw ``sqlite3`` executemany of the same rows, bench/bulk.py).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from itertools import islice
from typing import Any

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from tracker import journal
from tracker.accounts import require_active
from tracker.bulkrows import (
    TRIP_COLUMNS,
    BulkReport,
    Checked,
    RowError,
    Tally,
    check,
    trip_values,
)
from tracker.chain import COVERED, recorded_how
from tracker.coltypes import utc_text
from tracker.db import Database
from tracker.errors import InvalidInputError
from tracker.importkeys import imported_keys
from tracker.inputs import waypoint_rows
from tracker.links import first_links, insert_links
from tracker.tables import Car, Trip
from tracker.tracks import append_fixes
from tracker.triprows import TripRules, resolve_car

DEFAULT_CHUNK = 1000
MAX_CHUNK = 10_000  # the chunk's cars and keys are looked up with one IN (...) each

Progress = Callable[[BulkReport], None]


class _Rejected(Exception):
    """A row found bad while its chunk was written: the chunk is rolled back."""

    def __init__(self, row: Checked, error: RowError) -> None:
        super().__init__(error.message)
        self.row = row
        self.error = error


def add_trips(
    db: Database,
    rules: TripRules,
    rows: Iterable[Any],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    account: str | None = None,
) -> BulkReport:
    """Add many trips, ``chunk_size`` per transaction (see ``Tracker.add_trips``), to
    ``account`` (None: the implicit account; refused before anything is read when it is
    no active account)."""
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise InvalidInputError("chunk_size", f"must be between 1 and {MAX_CHUNK}")
    with db.read() as s:
        owner = require_active(s, account)
    tally = Tally(dry_run=dry_run)
    strict = not (skip_invalid or dry_run)
    for chunk in _chunks(rows, chunk_size):
        tally.rows += len(chunk)
        good = _valid(chunk, tally, strict)
        if good is None:
            break
        if dry_run:
            _check_chunk(db, good, tally)
        elif not _write_chunk(db, rules, good, tally, skip_invalid, owner):
            break
        if on_progress is not None:
            on_progress(tally.report())
    return tally.report()


def _valid(chunk: list[Checked | RowError], tally: Tally, strict: bool) -> list[Checked] | None:
    """The chunk's valid rows, the others counted; None when an invalid row stops it."""
    good: list[Checked] = []
    for item in chunk:
        if isinstance(item, RowError):
            tally.reject(item)
            if strict:
                tally.stopped_at = item.row
                return None
        else:
            good.append(item)
    return good


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Checked | RowError]]:
    items = iter(rows)
    position = 0
    while True:
        raw = list(islice(items, size))
        if not raw:
            return
        yield [check(item, position + i + 1) for i, item in enumerate(raw)]
        position += len(raw)


def _write_chunk(
    db: Database,
    rules: TripRules,
    rows: list[Checked],
    tally: Tally,
    skip_invalid: bool,
    account: str | None,
) -> bool:
    """One transaction; a row found bad inside it rolls it back, and the chunk is written
    again without that row (or, not skipping, nothing more is written: False)."""
    while True:
        try:
            with db.write() as s:
                require_active(s, account)  # not disabled meanwhile
                added, skipped = _insert(s, rules, utc_text(db.now()), rows, account)
        except _Rejected as bad:
            tally.reject(bad.error)
            if not skip_invalid:
                tally.stopped_at = bad.error.row
                return False
            rows = [r for r in rows if r is not bad.row]
            continue
        tally.added += added
        tally.skipped += skipped
        return True


def _check_chunk(db: Database, rows: list[Checked], tally: Tally) -> None:
    """A dry run of :func:`_write_chunk`: every check, no write."""
    with db.read() as s:
        conn = s.connection()
        fresh, skipped = _fresh(conn, rows)
        fresh, unknown = _with_cars(s, fresh)
        bad = {id(r): e for r, e in unknown}
        for row in fresh:
            error = bad.get(id(row)) or _track_error(row)
            if error is None:
                tally.added += 1
            else:
                tally.reject(error)
        tally.skipped += skipped


def _insert(
    s: Session, rules: TripRules, now: str, rows: list[Checked], account: str | None
) -> tuple[int, int]:
    conn = s.connection()
    fresh, skipped = _fresh(conn, rows)
    fresh, unknown = _with_cars(s, fresh)
    for row, error in unknown:
        raise _Rejected(row, error)
    zone = rules.timezone
    ids = [str(uuid.uuid4()) for _ in fresh]
    trips = [trip_values(i, r.given, zone, now) for i, r in zip(ids, fresh, strict=True)]
    if not trips:
        return 0, skipped
    seqs = journal.next_seqs(conn, len(trips))
    links = first_links(
        [
            (q, [t[i] if i >= 0 else None for i in _COVERED_AT])
            for q, t in zip(seqs, trips, strict=True)
        ],
        now,
        "recorded",
        [recorded_how("manual", None, r.key, bulk=True) for r in fresh],
    )
    # Each trip row carries its first link's hash (its chain head) from the start.
    conn.exec_driver_sql(
        _trip_sql(), [(*t, h[-1], account) for t, h in zip(trips, links, strict=True)]
    )
    journal.add_pending(conn, [(q, i, now) for q, i in zip(seqs, ids, strict=True)])
    insert_links(conn, links)
    keys = [(r.key, i) for i, r in zip(ids, fresh, strict=True) if r.key is not None]
    if keys:
        conn.exec_driver_sql(_IMPORT_SQL, keys)
    for trip_id, row in zip(ids, fresh, strict=True):
        if row.waypoints:
            try:
                append_fixes(s, trip_id, row.waypoints)
            except InvalidInputError as err:
                raise _Rejected(row, RowError(row.number, err.field, err.reason)) from None
    return len(fresh), skipped


def _fresh(conn: Any, rows: list[Checked]) -> tuple[list[Checked], int]:
    """The rows whose import key is not in the store yet (nor earlier in ``rows``)."""
    keys = [r.key for r in rows if r.key is not None]
    if not keys:
        return rows, 0
    taken = imported_keys(conn, keys)
    fresh: list[Checked] = []
    for row in rows:
        if row.key is not None:
            if row.key in taken:
                continue
            taken.add(row.key)
        fresh.append(row)
    return fresh, len(rows) - len(fresh)


def _with_cars(
    s: Session, rows: list[Checked]
) -> tuple[list[Checked], list[tuple[Checked, RowError]]]:
    """The rows with each car named by its whole id (a unique prefix is accepted, as by
    ``trips.add``), and the rows naming no car (with the reason of the lookup)."""
    refs = {r.given.car_id for r in rows if r.given.car_id is not None}
    if not refs:
        return rows, []
    conn = s.connection()
    whole: dict[str, str | RowError] = {
        c: c for c in conn.execute(select(Car.id).where(col(Car.id).in_(refs))).scalars()
    }
    for ref in refs - whole.keys():  # a prefix, or no car: looked up as trips.add does
        try:
            whole[ref] = resolve_car(s, ref) or ref
        except InvalidInputError as err:
            whole[ref] = RowError(0, err.field, err.reason)
    out: list[Checked] = []
    bad: list[tuple[Checked, RowError]] = []
    for row in rows:
        car = row.given.car_id
        found = None if car is None else whole[car]
        if isinstance(found, RowError):
            bad.append((row, replace(found, row=row.number)))
            out.append(row)
        elif found is not None and found != car:
            out.append(replace(row, given=row.given.model_copy(update={"car_id": found})))
        else:
            out.append(row)
    return out, bad


def _track_error(row: Checked) -> RowError | None:
    if not row.waypoints:
        return None
    try:
        waypoint_rows(0, 0, row.waypoints, None, None)
    except InvalidInputError as err:
        return RowError(row.number, err.field, err.reason)
    return None


_IMPORT_SQL = "INSERT INTO trip_import (key, trip_id) VALUES (?, ?)"
# Where each covered column (tracker.chain) is in a trip_values row; -1: not set (NULL).
_COVERED_AT = [TRIP_COLUMNS.index(c) if c in TRIP_COLUMNS else -1 for c in COVERED]


@functools.cache
def _trip_sql() -> str:
    """The Core INSERT of :data:`TRIP_COLUMNS`, ``chain_head`` and ``account``, compiled
    once for SQLite (qmark)."""
    from sqlalchemy.dialects import sqlite

    names = (*TRIP_COLUMNS, "chain_head", "account")
    table = Trip.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values({name: bindparam(name) for name in names})
    compiled = stmt.compile(dialect=sqlite.dialect())
    # Positional: the values go in the order of the table's columns (trip_values' order,
    # then the head and the account, the table's last columns).
    assert tuple(compiled.positiontup or ()) == names, compiled.positiontup
    return str(compiled)


__all__ = ["DEFAULT_CHUNK", "MAX_CHUNK", "add_trips"]

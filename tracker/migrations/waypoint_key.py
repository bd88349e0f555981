"""Migration 0016's conversion of the waypoint table, resumable and all or nothing.

Revision 0010 keyed each fix by its trip's 36-character id and stored REALs (~87-98 bytes a
fix with its index); 0016 keys it by the small integer ``track.key`` and stores fixed-point
integers (``tracker.fixcodec``). A store with millions of fixes is converted in place:

1. :func:`stage` (run by ``tracker.schema`` before the Alembic transaction) copies the old
   rows into ``waypoint_next`` in chunks of :data:`CHUNK`, each chunk one short
   ``BEGIN IMMEDIATE`` transaction. The checkpoint is the copy itself (the last trip and
   seq in ``waypoint_next``), so a process killed mid-way loses at most the chunk under
   way, and two processes opening the store at once simply share the chunks.
2. :func:`finish` (migration 0016's ``upgrade``, in the one transaction that also records
   the revision) copies whatever the chunks have not (everything when nothing was staged;
   fixes appended meanwhile by an older trip-tracker), checks the counts, drops the old
   table and renames ``waypoint_next`` to ``waypoint``.

Until that transaction commits, ``waypoint`` is the old table, untouched, and the truth:
no reader ever sees a half-converted store. ``track`` and ``waypoint_next`` are new tables
that code at 0010 never reads. Fixes are only ever appended (never updated or deleted), so
what is copied of a trip is always a prefix of it, by ``seq``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Select,
    and_,
    column,
    func,
    insert,
    literal,
    select,
    table,
    tuple_,
)

from tracker.errors import StorageError
from tracker.fixcodec import ACC_SCALE, DEG_SCALE, SPEED_SCALE, sql_encode

log = logging.getLogger(__name__)

#: Fixes copied per staged transaction: ~25 ms of work, so another process opening the
#: store meanwhile waits far less than its busy timeout.
CHUNK = 20_000

_TRACK = (
    "CREATE TABLE IF NOT EXISTS track ("
    "key INTEGER NOT NULL, trip_id VARCHAR NOT NULL, t0_us INTEGER NOT NULL, "
    "PRIMARY KEY (key), UNIQUE (trip_id), FOREIGN KEY(trip_id) REFERENCES trip (id))"
)
_NEXT = (
    "CREATE TABLE IF NOT EXISTS waypoint_next ("
    "trip_key INTEGER NOT NULL, seq INTEGER NOT NULL, dt_us INTEGER NOT NULL, "
    "lat_e7 INTEGER NOT NULL, lng_e7 INTEGER NOT NULL, acc_cm INTEGER, speed_cms INTEGER, "
    "PRIMARY KEY (trip_key, seq), FOREIGN KEY(trip_key) REFERENCES track (key)"
    ") WITHOUT ROWID"
)
# The tables as this migration sees them (lightweight constructs, not the models, which
# describe the layout at head). Its statements are built with them: no SQL from strings.
_OLD = table(
    "waypoint", *(column(c) for c in ("trip_id", "seq", "t_us", "lat", "lng", "accuracy", "speed"))
)
_NEW_COLUMNS = ("trip_key", "seq", "dt_us", "lat_e7", "lng_e7", "acc_cm", "speed_cms")
_TRACKS = table("track", column("key"), column("trip_id"), column("t0_us"))


def _converted(w: Any, k: Any) -> Select[Any]:
    """The old fixes ``w`` of tracks ``k`` as new rows (``tracker.fixcodec``'s encoding)."""
    return select(
        k.c.key,
        w.c.seq,
        w.c.t_us - k.c.t0_us,
        sql_encode(w.c.lat, DEG_SCALE),
        sql_encode(w.c.lng, DEG_SCALE),
        sql_encode(w.c.accuracy, ACC_SCALE),
        sql_encode(w.c.speed, SPEED_SCALE),
    )


def _into(name: str, rows: Select[Any]) -> Insert:
    return insert(table(name, *(column(c) for c in _NEW_COLUMNS))).from_select(
        list(_NEW_COLUMNS), rows
    )


def stage(engine: Engine, path: Path, chunk: int = CHUNK) -> int:
    """Copy the old fixes into ``waypoint_next``, one committed chunk at a time.

    Resumes where an earlier (killed) run stopped. Returns the fixes this call copied.
    Each transaction first checks, under the write lock, that the old table is still there:
    another process may have finished the migration meanwhile.
    """
    with engine.begin() as conn:
        if not _old_layout(conn):
            return 0
        prepare(conn)
        total = conn.exec_driver_sql("SELECT count(*) FROM waypoint").scalar_one()
        done = conn.exec_driver_sql("SELECT count(*) FROM waypoint_next").scalar_one()
    copied = 0
    while True:
        with engine.begin() as conn:
            n = copy_chunk(conn, chunk)
        if not n:
            return copied
        copied += n
        done += n
        log.info("upgrading %s: %d of %d waypoints converted", path, done, total)


def prepare(conn: Connection) -> None:
    """Create ``track`` and ``waypoint_next`` unless an earlier run did."""
    conn.exec_driver_sql(_TRACK)
    conn.exec_driver_sql(_NEXT)


def copy_chunk(conn: Connection, chunk: int) -> int:
    """Copy the next ``chunk`` old fixes after the checkpoint, in the caller's transaction.

    Returns how many were copied (0: the copy is complete, or no longer needed).
    """
    if not _old_layout(conn):
        return 0
    last = conn.exec_driver_sql(
        "SELECT k.trip_id, (SELECT max(n.seq) FROM waypoint_next n WHERE n.trip_key = k.key) "
        "FROM track k ORDER BY k.key DESC LIMIT 1"
    ).first()
    after = (last[0], -1 if last[1] is None else last[1]) if last else ("", -1)
    end = (
        conn.exec_driver_sql(
            "SELECT trip_id, seq FROM waypoint WHERE (trip_id, seq) > (?, ?) "
            "ORDER BY trip_id, seq LIMIT 1 OFFSET ?",
            (*after, chunk - 1),
        ).first()
        or conn.exec_driver_sql(
            "SELECT trip_id, seq FROM waypoint WHERE (trip_id, seq) > (?, ?) "
            "ORDER BY trip_id DESC, seq DESC LIMIT 1",
            after,
        ).first()
    )
    if end is None:
        return 0
    # Keys in trip-id order, so the track with the highest key holds the checkpoint.
    conn.exec_driver_sql(
        "INSERT INTO track (trip_id, t0_us) SELECT trip_id, min(t_us) FROM waypoint "
        "WHERE trip_id > ? AND trip_id <= ? GROUP BY trip_id ORDER BY trip_id",
        (after[0], end[0]),
    )
    w, k = _OLD.alias("w"), _TRACKS.alias("k")
    place = tuple_(w.c.trip_id, w.c.seq)
    rows = (
        _converted(w, k)
        .select_from(w.join(k, k.c.trip_id == w.c.trip_id))
        .where(place > tuple_(*map(literal, after)), place <= tuple_(*map(literal, end)))
        .order_by(w.c.trip_id, w.c.seq)
    )
    return conn.execute(_into("waypoint_next", rows)).rowcount


def _old_layout(conn: Connection) -> bool:
    return bool(
        conn.exec_driver_sql(
            "SELECT 1 FROM pragma_table_info('waypoint') WHERE name = 'trip_id'"
        ).first()
    )


def finish(conn: Connection) -> None:
    """Copy what is left, check, and swap the tables (migration 0016's upgrade)."""
    prepare(conn)
    # Trips with fixes and no track yet (all of them when nothing was staged).
    conn.exec_driver_sql(
        "INSERT INTO track (trip_id, t0_us) "
        "SELECT t.id, (SELECT min(w.t_us) FROM waypoint w WHERE w.trip_id = t.id) FROM trip t "
        "WHERE EXISTS (SELECT 1 FROM waypoint w WHERE w.trip_id = t.id) "
        "AND NOT EXISTS (SELECT 1 FROM track k WHERE k.trip_id = t.id) ORDER BY t.id"
    )
    # Each trip's fixes after its copied prefix.
    w, k = _OLD.alias("w"), _TRACKS.alias("k")
    n = table("waypoint_next", column("trip_key"), column("seq")).alias("n")
    copied = select(func.max(n.c.seq)).where(n.c.trip_key == k.c.key).scalar_subquery()
    rows = (
        _converted(w, k)
        .select_from(
            k.join(w, and_(w.c.trip_id == k.c.trip_id, w.c.seq > func.coalesce(copied, -1)))
        )
        .order_by(k.c.key, w.c.seq)
    )
    conn.execute(_into("waypoint_next", rows))
    old = conn.exec_driver_sql("SELECT count(*) FROM waypoint").scalar_one()
    new = conn.exec_driver_sql("SELECT count(*) FROM waypoint_next").scalar_one()
    if old != new:  # a bug, or a damaged file: the transaction rolls back, nothing changes
        where = conn.engine.url.database
        raise StorageError(
            f"upgrading {where} stopped: {old} waypoints but {new} converted; nothing was "
            "changed (the store keeps its old layout): keep a copy of the file and report it",
            path=where,
        )
    _swap(conn, "waypoint_next")
    log.info("upgrading: %d waypoints converted, tables swapped (committed with 0016)", new)


def _swap(conn: Connection, replacement: str) -> None:
    """Drop ``waypoint`` and rename ``replacement`` to it.

    ``secure_delete`` (on in Debian's SQLite) would zero every page of the dropped table
    through the WAL: a second copy of the old table's size. FAST frees the pages without
    writing them; the same fixes live on in the new table anyway.
    """
    before = conn.exec_driver_sql("PRAGMA secure_delete").scalar_one()
    conn.exec_driver_sql("PRAGMA secure_delete = FAST")
    try:
        conn.exec_driver_sql("DROP TABLE waypoint")
        conn.exec_driver_sql(f"ALTER TABLE {replacement} RENAME TO waypoint")
    finally:
        conn.exec_driver_sql(f"PRAGMA secure_delete = {int(before)}")


def revert(conn: Connection) -> None:
    """Back to the layout before (migration 0016's downgrade), in the caller's transaction."""
    conn.exec_driver_sql(
        "CREATE TABLE waypoint_prev (trip_id VARCHAR(36) NOT NULL, seq INTEGER NOT NULL, "
        "t_us INTEGER NOT NULL, lat FLOAT NOT NULL, lng FLOAT NOT NULL, accuracy FLOAT, "
        "speed FLOAT, PRIMARY KEY (trip_id, seq), FOREIGN KEY(trip_id) REFERENCES trip (id)"
        ") WITHOUT ROWID"
    )
    w = table("waypoint", *(column(c) for c in _NEW_COLUMNS)).alias("w")
    k = _TRACKS.alias("k")
    rows = (
        select(
            k.c.trip_id,
            w.c.seq,
            k.c.t0_us + w.c.dt_us,
            w.c.lat_e7 / literal(DEG_SCALE),
            w.c.lng_e7 / literal(DEG_SCALE),
            w.c.acc_cm / literal(ACC_SCALE),
            w.c.speed_cms / literal(SPEED_SCALE),
        )
        .select_from(w.join(k, k.c.key == w.c.trip_key))
        .order_by(k.c.trip_id, w.c.seq)
    )
    names = list(_OLD.c.keys())
    conn.execute(insert(table("waypoint_prev", *map(column, names))).from_select(names, rows))
    _swap(conn, "waypoint_prev")
    conn.exec_driver_sql("DROP TABLE track")

"""Bring a database file to the current schema (Alembic), in place, all or nothing.

The common case (file already current) costs one small query and never imports Alembic.
A migration that converts a large table may stage its copy first, in short committed
chunks that a later open resumes (:data:`STAGED`); the Alembic transaction then finishes it
and swaps, so the file still moves from one revision to the next all or nothing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from tracker.db import APPLICATION_ID, reader_of, translate_errors
from tracker.errors import SchemaTooNewError, StorageUnavailableError

#: Every revision this code knows, oldest first; the last one is the head.
#: A test checks this against the Alembic scripts in tracker/migrations/versions.
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
    "0016",
    "0017",
    "0018",
    "0019",
    "0020",
    "0021",
    "0022",
    "0023",
    "0024",
    "0025",
)
HEAD = KNOWN_REVISIONS[-1]

_MIGRATIONS = Path(__file__).parent / "migrations"

#: Revisions whose conversion is staged before the Alembic transaction, by the ``stage``
#: function of the named module (imported only when a file needs it).
STAGED: dict[str, str] = {"0016": "tracker.migrations.waypoint_key"}


#: The tables of the database (its current schema on PostgreSQL), by dialect.
_TABLES_SQL = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
}


def _tables(conn: Connection) -> list[str]:
    return [str(row[0]) for row in conn.execute(text(_TABLES_SQL[conn.dialect.name]))]


def read_revision(conn: Connection) -> str | None:
    """The Alembic revision recorded in the file, or None for a file without our schema."""
    has_table = "alembic_version" in _tables(conn)
    if not has_table:
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def ensure_schema(
    engine: Engine, path: Path | str, *, target: str = HEAD, staged: bool = True
) -> bool:
    """Create or upgrade the schema of ``path`` to ``target`` (default: head); True when an
    existing file was migrated (its integrity is then checked before use).

    ``staged=False`` skips the staged copies (:data:`STAGED`): each conversion then runs
    whole in the Alembic transaction (what bench/waypoint_store.py compares against).

    Raises SchemaTooNewError for a file from a newer trip-tracker, StorageUnavailableError
    for a SQLite file that is not ours, and typed StorageErrors for SQLite failures.
    """
    reader = reader_of(engine)
    with translate_errors(path), reader.connect() as conn:
        revision = read_revision(conn)
        _check_ownership(conn, revision, path)
    if revision == target:
        return False
    _check_known(revision, path)
    if staged:
        _stage(engine, path, revision, target)
    with translate_errors(path), engine.begin() as conn:
        # Re-read under the write lock: another process may have upgraded meanwhile.
        revision = read_revision(conn)
        if revision == target:
            return False
        _check_known(revision, path)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        _run_alembic(conn, target)
    return revision is not None


def _stage(engine: Engine, path: Path | str, revision: str | None, target: str) -> None:
    if revision is None:
        return  # a new file: nothing to convert
    first, last = KNOWN_REVISIONS.index(revision), KNOWN_REVISIONS.index(target)
    for staged in KNOWN_REVISIONS[first + 1 : last + 1]:
        if staged in STAGED:
            module = importlib.import_module(STAGED[staged])
            with translate_errors(path):
                module.stage(engine, path)


def _check_ownership(conn: Connection, revision: str | None, path: Path | str) -> None:
    if revision is not None:
        return
    tables = _tables(conn)
    if not tables:
        return  # a new store
    if conn.dialect.name == "postgresql":
        raise StorageUnavailableError(
            f"{path} holds tables but no trip-tracker schema; give TRACKER_DATABASE_URL "
            "an empty database (or a schema of its own)",
            path=str(path),
        )
    app_id = conn.exec_driver_sql("PRAGMA application_id").scalar()
    if app_id != APPLICATION_ID:
        raise StorageUnavailableError(
            f"{path} is a SQLite database but not a trip-tracker one; "
            "point TRACKER_HOME at another folder",
            path=str(path),
        )


def _check_known(revision: str | None, path: Path | str) -> None:
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise SchemaTooNewError(
            f"{path} was written by a newer trip-tracker (schema {revision}); "
            "upgrade trip-tracker to open it",
            path=str(path),
        )


def _run_alembic(conn: Connection, target: str) -> None:
    # Imported here: Alembic is only needed when the file is new or older than this code.
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)

"""Opening the SQLite file (or a PostgreSQL database) the right way, and turning their
failures into typed errors.

Every connection gets the same PRAGMAs (WAL, busy_timeout, synchronous, foreign keys).
Write transactions start with ``BEGIN IMMEDIATE``: the app, the daemon and the CLI share one
file, and a deferred read-then-write transaction fails at once with SQLITE_BUSY_SNAPSHOT when
another process commits in between. Reads use a deferred ``BEGIN`` so they never block writers.

The data folder is created 0700 and the database file is pre-created 0600 before SQLite
opens it, so the ``-wal`` and ``-shm`` files SQLite creates next to it inherit 0600.

PostgreSQL (fleet mode, ``TRACKER_DATABASE_URL``; :func:`create_pg_engine`) has none of the
file's parts. Its counterparts: a write transaction is READ COMMITTED and first takes one
transaction-scoped advisory lock (:data:`WRITE_LOCK`), so writers are serialised exactly as
``BEGIN IMMEDIATE`` serialises them on SQLite and every read-then-write of the store keeps
the meaning it has there; the pushers' steps (claims with ``FOR UPDATE SKIP LOCKED``, answers
to entries each one holds) take it shared, so workers never wait for one another, only for
the store's other writers; a read is REPEATABLE READ READ ONLY (one snapshot that blocks no
writer, as SQLite's deferred read); ``durable=False`` is ``SET LOCAL synchronous_commit =
off``; the pool is SQLAlchemy's QueuePool over psycopg 3 connections, checked before use.
The store's raw SQL is written for SQLite's driver (``?`` and ``:name`` placeholders, id lists
through ``json_each``, the date sort key ``coalesce(date, '')``): on PostgreSQL it is
rewritten for psycopg at the one place every driver-level statement passes
(:func:`for_postgres`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from tracker.errors import (
    CorruptDatabaseError,
    DatabaseBusyError,
    ReadOnlyStorageError,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
)
from tracker.sqldates import dates_for_postgres
from tracker.sqlids import ids_for_postgres

#: Written in the file header, so we can tell our files from other SQLite databases.
APPLICATION_ID = 0x54525450  # "TRTP"

Synchronous = Literal["FULL", "NORMAL"]
Clock = Callable[[], datetime]
"""The store's wall clock: an aware UTC ``datetime`` (tests pass their own)."""


def utcnow() -> datetime:
    """The system clock as the store reads it (aware, UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DbOptions:
    """How to open the file. ``busy_timeout`` is in seconds."""

    synchronous: Synchronous = "FULL"
    busy_timeout: float = 5.0


#: Files SQLite opens next to the database by name (they would follow a planted symlink).
SIDE_FILES = ("-wal", "-shm", "-journal")


def prepare_file(path: Path) -> None:
    """Create the folder (0700) and the empty file (0600) if missing; never loosen modes.

    The file is ours: it is created with ``O_NOFOLLOW | O_EXCL``, a symbolic link at its
    place (or at its ``-wal``/``-shm``/``-journal`` side files) is refused, an existing file
    must be a regular file owned by the current user and is tightened to 0600, and the folder
    must not be writable by other users (nobody else can swap the file between this check and
    SQLite's open). An existing empty file of ours is what a crash right after the pre-create
    leaves: SQLite makes it a database.

    Raises StorageUnavailableError / ReadOnlyStorageError with a one-line message.
    """
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except PermissionError as err:
        raise ReadOnlyStorageError(
            f"cannot create the data folder {folder}: permission denied; "
            "set TRACKER_HOME to a writable folder",
            path=str(path),
        ) from err
    except OSError as err:
        raise StorageUnavailableError(
            f"cannot create the data folder {folder}: {err.strerror}; "
            "set TRACKER_HOME to a writable folder",
            path=str(path),
        ) from err
    if not folder.is_dir():
        raise StorageUnavailableError(
            f"{folder} is not a folder; set TRACKER_HOME to a folder", path=str(path)
        )
    _refuse(folder_refusal(folder.stat(), os.geteuid()), folder, path)
    for side in SIDE_FILES:
        twin = path.with_name(path.name + side)
        if twin.is_symlink():
            _refuse("is a symbolic link", twin, path)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        _adopt(path)  # already there (ours from an earlier run, or a planted link): check it
        return
    except PermissionError as err:
        raise ReadOnlyStorageError(
            f"cannot create {path}: the folder is not writable; fix its permissions "
            "or set TRACKER_HOME to a writable folder",
            path=str(path),
        ) from err
    except OSError as err:
        raise StorageUnavailableError(
            f"cannot create {path}: {err.strerror}", path=str(path)
        ) from err
    os.close(fd)


def _adopt(path: Path) -> None:
    """Check an existing database file without following a link; tighten it to 0600."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if err.errno == errno.ELOOP:
            _refuse("is a symbolic link", path, path)
        if path.is_dir():
            raise StorageUnavailableError(
                f"{path} is a folder, not a database file; move it away", path=str(path)
            ) from err
        if isinstance(err, PermissionError):
            raise ReadOnlyStorageError(
                f"cannot open {path}: permission denied; fix its permissions", path=str(path)
            ) from err
        raise StorageUnavailableError(
            f"cannot open {path}: {err.strerror}", path=str(path)
        ) from err
    try:
        info = os.fstat(fd)
        _refuse(file_refusal(info, os.geteuid()), path, path)
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & 0o700)  # keep the 0600 promise
    finally:
        os.close(fd)


def file_refusal(info: os.stat_result, me: int) -> str | None:
    """Why an existing database file (``fstat`` of it) is not ours to open, or None."""
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a database file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_uid != me:
        return f"is owned by another user (uid {info.st_uid})"
    return None


def folder_refusal(info: os.stat_result, me: int) -> str | None:
    """Why the data folder (``stat`` of it) cannot hold our files safely, or None.

    Writable by others without the sticky bit, anyone could replace the database file; owned
    by someone else, they could change its mode at any time. Root's folders are accepted.
    """
    if info.st_uid not in (me, 0):
        return f"is owned by another user (uid {info.st_uid})"
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        return f"is writable by every user (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def _refuse(why: str | None, what: Path, path: Path) -> None:
    if why is not None:
        raise StorageUnavailableError(
            f"{what} {why}: refused, the database must be a file of yours in a folder of "
            "yours; move it away or set TRACKER_HOME to a folder of yours",
            path=str(path),
        )


def file_mode(path: Path) -> int:
    """The permission bits of ``path`` (for status output and tests)."""
    return stat.S_IMODE(path.stat().st_mode)


#: The advisory lock key every PostgreSQL write transaction takes first ("TRTP"): one writer
#: at a time, as on SQLite; shared among the pushers' steps (``Database.write(shared=True)``).
WRITE_LOCK = APPLICATION_ID


def is_postgres_url(url: str) -> bool:
    """True for a PostgreSQL SQLAlchemy URL (``postgresql://`` or ``postgresql+psycopg://``)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    return scheme == "postgresql" or scheme.startswith("postgresql+")


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"


def qmark_to_format(sql: str) -> str:
    """SQLite's placeholders as psycopg's: ``?`` as ``%s``, ``:name`` as ``%(name)s`` (and a
    literal ``%`` as ``%%``), outside quoted strings and identifiers; a ``::`` cast is left
    alone. Pure."""
    out: list[str] = []
    quote: str | None = None
    n, size = 0, len(sql)
    while n < size:
        char = sql[n]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            n += 1
            continue
        elif char == ":" and _named_at(sql, n):
            end = n + 1
            while end < size and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            out.append(f"%({sql[n + 1 : end]})s")
            n = end
            continue
        out.append("%%" if char == "%" else char)
        n += 1
    return "".join(out)


def _named_at(sql: str, n: int) -> bool:
    """Whether the ``:`` at ``n`` starts a named placeholder (not a ``::`` cast)."""
    before = sql[n - 1] if n else " "
    after = sql[n + 1] if n + 1 < len(sql) else " "
    return before != ":" and not before.isalnum() and (after.isalpha() or after == "_")


@functools.lru_cache(maxsize=1024)
def for_postgres(sql: str) -> str:
    """A statement written for SQLite's driver as PostgreSQL's (psycopg's) reads it: id
    lists (``tracker.sqlids``), the date sort key (``tracker.sqldates``), then placeholders
    (:func:`qmark_to_format`). Cached: the store's statements are a few hundred constant
    texts."""
    return qmark_to_format(dates_for_postgres(ids_for_postgres(sql)))


def pg_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named (``postgresql://`` would pick psycopg2)."""
    scheme, _sep, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme.lower() == "postgresql" else url


def create_pg_engine(url: str, options: DbOptions = DbOptions()) -> Engine:
    """An Engine on a PostgreSQL database: writes serialised by :data:`WRITE_LOCK`, the
    store's ``?`` placeholders rewritten, waits for a lock bounded by ``busy_timeout``."""
    busy_ms = int(options.busy_timeout * 1000)
    engine = create_engine(
        pg_url(url),
        pool_size=2,
        max_overflow=4,
        pool_pre_ping=True,  # a server restart leaves dead pooled connections
        hide_parameters=True,
        isolation_level="READ COMMITTED",
        # ISO dates: a date read as text is SQLite's stored form (tracker/triplist.py).
        connect_args={"options": f"-c lock_timeout={busy_ms} -c timezone=UTC -c datestyle=ISO"},
    )

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _placeholders(
        _conn: Any, _cursor: Any, statement: str, params: Any, context: Any, _many: bool
    ) -> tuple[str, Any]:
        if context is not None and context.compiled is None and params:
            return for_postgres(statement), params
        return statement, params

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get("sqlite_begin") == "DEFERRED":
            return
        if options.get("write_lock") == "shared":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({WRITE_LOCK})")
        else:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")

    return engine


def reader_of(engine: Engine) -> Engine:
    """The engine's read-only flavour: SQLite's deferred BEGIN, PostgreSQL's REPEATABLE READ
    READ ONLY snapshot; neither blocks a writer."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(
            sqlite_begin="DEFERRED", isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    return engine.execution_options(sqlite_begin="DEFERRED")


def create_db_engine(path: Path, options: DbOptions = DbOptions()) -> Engine:
    """An Engine on ``path`` with our PRAGMAs and IMMEDIATE write transactions.

    Use ``engine.execution_options(sqlite_begin="DEFERRED")`` for read-only work.
    """
    busy_ms = int(options.busy_timeout * 1000)
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=4,
        # Bound values (trip notes, tokens one day) never appear in error text.
        hide_parameters=True,
        connect_args={"timeout": options.busy_timeout, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is deferred and skips DDL).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute(f"PRAGMA synchronous = {options.synchronous}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA trusted_schema = OFF")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql("BEGIN" if mode == "DEFERRED" else "BEGIN IMMEDIATE")

    return engine


_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_FULL = {"SQLITE_FULL"}
_READONLY = {"SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH"}
_CORRUPT = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_CANTOPEN = {"SQLITE_CANTOPEN"}


def classify_sqlite_error(err: BaseException, path: str) -> StorageError | None:
    """Map a sqlite3 error (possibly wrapped by SQLAlchemy) to our typed error, or None."""
    orig = err.orig if isinstance(err, exc.DBAPIError) else err
    if not isinstance(orig, sqlite3.Error):
        return None
    name: str = getattr(orig, "sqlite_errorname", "") or ""
    base = name.split("_", 2)
    family = "_".join(base[:2]) if len(base) >= 2 else name
    text = str(orig)
    if family in _BUSY or "database is locked" in text:
        return DatabaseBusyError(
            f"database {path} is busy: another process held the write lock too long; "
            "try again in a moment",
            path=path,
        )
    if family in _FULL or name in {
        "SQLITE_IOERR_WRITE",
        "SQLITE_IOERR_FSYNC",
        "SQLITE_IOERR_TRUNCATE",
    }:
        return StorageFullError(
            f"could not write {path} (disk full or file size limit); nothing was saved; "
            "free some space and try again",
            path=path,
        )
    if family in _READONLY or "readonly" in text:
        return ReadOnlyStorageError(
            f"database {path} is read-only; fix the file's permissions "
            "or set TRACKER_HOME to a writable folder",
            path=path,
        )
    if family in _CORRUPT or "malformed" in text or "not a database" in text:
        return CorruptDatabaseError(
            f"database {path} is damaged ({text}); it was left untouched: keep a copy and "
            f"recover it with `sqlite3 {path} .recover`",
            path=path,
        )
    if (family in _CANTOPEN or "unable to open" in text) and not _writable(path):
        # A WAL database in a read-only place cannot even be opened (no -shm can be made).
        return ReadOnlyStorageError(
            f"database {path} is on a read-only file system or folder; make it writable "
            "or set TRACKER_HOME to a writable folder",
            path=path,
        )
    if family in _CANTOPEN or "unable to open" in text:
        return StorageUnavailableError(
            f"cannot open database {path}; check that it exists and its folder is readable",
            path=path,
        )
    if family == "SQLITE_IOERR":
        return StorageError(f"I/O error on {path} ({name}); check the disk", path=path)
    return None


#: PostgreSQL SQLSTATE classes and codes, as our typed errors (pure data, see below).
_PG_BUSY = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization failure
_PG_FULL = {"53100", "53200"}  # disk_full, out_of_memory
_PG_READONLY = {"25006"}  # read_only_sql_transaction (a standby)
_PG_UNAVAILABLE_CLASSES = {"08", "28", "3D", "57", "53"}  # connection, auth, no db, shutdown


def classify_pg_error(sqlstate: str | None, text: str, where: str) -> StorageError | None:
    """Map a PostgreSQL failure (its SQLSTATE, None when the connection itself failed) to
    our typed error, or None for a failure that is a bug of ours (raised as it is). Pure."""
    if sqlstate in _PG_BUSY:
        return DatabaseBusyError(
            f"database {where} is busy: another worker held a lock too long; try again in a moment",
            path=where,
        )
    if sqlstate in _PG_FULL:
        return StorageFullError(
            f"could not write {where} (the server is out of space); nothing was saved; "
            "free some space on the database server and try again",
            path=where,
        )
    if sqlstate in _PG_READONLY:
        return ReadOnlyStorageError(
            f"database {where} is read-only (a standby?); point TRACKER_DATABASE_URL at "
            "the primary",
            path=where,
        )
    if sqlstate is None or sqlstate[:2] in _PG_UNAVAILABLE_CLASSES:
        first = text.strip().splitlines()[0] if text.strip() else "no answer"
        return StorageUnavailableError(
            f"cannot use database {where} ({first}); check that the server runs and "
            "TRACKER_DATABASE_URL is right",
            path=where,
        )
    return None


def _classify_pg(err: BaseException, where: str) -> StorageError | None:
    orig = err.orig if isinstance(err, exc.DBAPIError) else err
    module = type(orig).__module__ or ""
    if not module.startswith("psycopg"):
        return None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None and not isinstance(err, exc.OperationalError):
        return None
    return classify_pg_error(sqlstate, str(orig), where)


def _writable(path: str) -> bool:
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        return True  # missing, not read-only: reported as unavailable
    return os.access(folder, os.W_OK) and (not target.exists() or os.access(target, os.W_OK))


@contextlib.contextmanager
def translate_errors(path: Path | str) -> Iterator[None]:
    """Re-raise SQLite failures as typed StorageErrors with a one-line message."""
    try:
        yield
    except (exc.DBAPIError, sqlite3.Error) as err:
        typed = classify_sqlite_error(err, str(path)) or _classify_pg(err, str(path))
        if typed is None:
            raise
        raise typed from err


class Database:
    """One opened SQLite file (or PostgreSQL database): its transactions, its clock and
    its integrity check.

    Every part of the store (trips, cars, the journal, the outbox, leases, costs) works
    through one of these. Thread-safe: each transaction takes its own pooled connection.
    SQLite's own corruption errors, met by any transaction, become CorruptDatabaseError and
    mark the file as damaged until a full check passes (:meth:`check_integrity`).
    """

    def __init__(
        self, path: Path | None, engine: Engine, clock: Clock = utcnow, *, location: str = ""
    ) -> None:
        #: The SQLite file; None on PostgreSQL.
        self.path = path
        #: What messages name: the file, or the URL without its password.
        self.location = location or str(path)
        self.engine = engine
        #: True on PostgreSQL (fleet mode): the file's parts (PRAGMAs, file size) do not apply.
        self.postgres = engine.dialect.name == "postgresql"
        self._reader = reader_of(engine)
        # PostgreSQL: pushers' steps share the write lock (SQLite: BEGIN IMMEDIATE all the same).
        self._shared = engine.execution_options(write_lock="shared")
        self._now = clock
        self._damaged = False

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            with translate_errors(self.location):
                yield
        except CorruptDatabaseError:
            self._damaged = True  # refuse to sync until a full check passes
            raise

    @contextlib.contextmanager
    def write(self, *, durable: bool = True, shared: bool = False) -> Iterator[Session]:
        """A write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error.

        ``shared=True`` (PostgreSQL only; SQLite ignores it): the write lock is taken shared,
        for transactions that touch only rows they lock themselves (the pushers' steps):
        several run at once, none with another writer.

        ``durable=False``: the commit does not wait for the disk (``synchronous=NORMAL`` for
        this transaction only); it survives the process being killed, not a power cut, and
        the next durable commit makes it durable. For records whose loss costs nothing
        stored (the request budget's grants): ~0.02 ms instead of a ~2 ms fsync.
        """
        if durable:
            bind = self._shared if shared and self.postgres else self.engine
            with self._translated(), Session(bind) as session, session.begin():
                yield session
            return
        if self.postgres:
            with self._translated(), Session(self.engine) as session, session.begin():
                session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")
                yield session
            return
        with self._translated(), self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            (level,) = raw.execute("PRAGMA synchronous").fetchone()
            raw.execute("PRAGMA synchronous = NORMAL")  # outside a transaction: allowed
            try:
                with Session(bind=conn) as session, session.begin():
                    yield session
            finally:
                raw.execute(f"PRAGMA synchronous = {int(level)}")

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction (deferred BEGIN): a consistent snapshot that blocks no writer."""
        with self._translated(), Session(self._reader) as session, session.begin():
            yield session

    @contextlib.contextmanager
    def rolled_back(self) -> Iterator[Session]:
        """A write transaction that is always rolled back (a dry run of a real write)."""
        with self._translated(), Session(self.engine) as session:
            session.begin()
            try:
                yield session
            finally:
                session.rollback()

    def now(self) -> datetime:
        """The store's clock (UTC)."""
        return self._now()

    @property
    def damage_seen(self) -> bool:
        """True when SQLite reported damage (or a full check failed) and no full check has
        passed since."""
        return self._damaged

    def check_integrity(self) -> None:
        """The guard before a sync, O(1): raise CorruptDatabaseError (writing nothing) when
        damage was seen and a full check (:meth:`verify_integrity`) does not pass now;
        otherwise return at once without reading the file. The full check at open after an
        unclean close or a migration is ``Tracker.open``'s (``tracker.sessions``)."""
        if self._damaged:
            self.verify_integrity()

    def verify_integrity(self) -> None:
        """The full check, ``PRAGMA quick_check`` (it reads the whole file, in a read
        snapshot that blocks no writer): raise CorruptDatabaseError when the file is
        damaged; a check that passes clears the damage seen before.

        On PostgreSQL the server owns its files' integrity (data checksums, amcheck): the
        check there is that the database answers."""
        if self.postgres:
            with self.read() as s:
                s.connection().exec_driver_sql("SELECT 1")
            self._damaged = False
            return
        with self.read() as s:
            problems = [row[0] for row in s.connection().exec_driver_sql("PRAGMA quick_check")]
        if problems != ["ok"]:
            self._damaged = True
            raise CorruptDatabaseError(
                f"database {self.path} is damaged ({problems[0]}); it was left untouched and "
                f"nothing was synced: keep a copy and recover it with "
                f"`sqlite3 {self.path} .recover`",
                path=str(self.path),
            )
        self._damaged = False

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

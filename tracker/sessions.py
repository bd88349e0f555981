"""Who has the file open: one row per process, written at open and deleted at a clean close.

A row whose process is gone means that process did not close the file cleanly (killed,
crashed, the machine lost power). The next open then runs the full integrity check before
anything uses the file (``Tracker.open``); a clean history costs one small read and one
small write per open and close instead of reading the whole file.

Telling a process gone: on this host, its pid no longer exists, or the pid now belongs to
another process (Linux: the boot id and the process's start time, recorded as ``tag``, no
longer match). A row from another host cannot be judged and is left alone (SQLite's WAL
mode needs every process on one host anyway).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from tracker.coltypes import utc_text
from tracker.db import Database
from tracker.errors import DatabaseBusyError, ReadOnlyStorageError

__all__ = ["Sessions", "gone", "process_tag"]

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def process_tag(pid: int) -> str:
    """What tells this process from a later one with the same pid: the boot id and the
    process's start time (Linux); empty where the system does not say."""
    try:
        boot = _BOOT_ID.read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (start time); the command name (field 2) may hold spaces, so split after it.
    fields = stat.rpartition(")")[2].split()
    return f"{boot}:{fields[19]}" if len(fields) > 19 else ""


def gone(host: str, pid: int, tag: str = "") -> bool:
    """True when the process ``pid`` of ``host`` (with ``tag``, when known) no longer runs.

    Only a process of this host can be judged; another host's is taken as alive.
    """
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return False  # this process: alive by definition
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by another user
    return bool(tag) and process_tag(pid) != tag


class Sessions:
    """The open sessions of one store (a part of :class:`~tracker.store.Tracker`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def unclean(self) -> list[str]:
        """The sessions whose process is gone without closing the file, described."""
        with self._db.read() as s:
            rows = s.connection().exec_driver_sql(
                "SELECT id, host, pid, tag, started_at FROM store_session"
            )
            return [
                f"pid {pid} on {host}, opened {started}"
                for _id, host, pid, tag, started in rows
                if gone(host, pid, tag)
            ]

    def enter(self, *, check: Callable[[], None], must_check: bool = False) -> str | None:
        """Record this process's session; returns its id (None when the file cannot take
        the write now: busy or read-only; the open goes on without one).

        When a session of a process that is gone is found (or ``must_check``: the file was
        just migrated), ``check`` (the full integrity check) runs first, before anything is
        written: it raises CorruptDatabaseError for a damaged file, which is left untouched.
        """
        if must_check or self.unclean():
            check()
        session_id = uuid.uuid4().hex
        try:
            with self._db.write() as s:
                conn = s.connection()
                stale = [
                    row[0]
                    for row in conn.exec_driver_sql("SELECT id, host, pid, tag FROM store_session")
                    if gone(row[1], row[2], row[3])
                ]
                for old in stale:
                    conn.exec_driver_sql("DELETE FROM store_session WHERE id = ?", (old,))
                conn.exec_driver_sql(
                    "INSERT INTO store_session (id, host, pid, tag, started_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        session_id,
                        socket.gethostname(),
                        os.getpid(),
                        process_tag(os.getpid()),
                        utc_text(self._db.now()),
                    ),
                )
        except (DatabaseBusyError, ReadOnlyStorageError):
            return None  # nothing of ours to check later: this open writes nothing itself
        return session_id

    def leave(self, session_id: str) -> None:
        """Delete this process's session: the file was closed cleanly."""
        with self._db.write() as s:
            s.connection().exec_driver_sql("DELETE FROM store_session WHERE id = ?", (session_id,))

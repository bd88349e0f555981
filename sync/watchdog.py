"""The service's watchdog: notices wall-clock jumps, and commits made by other processes.

Why: APScheduler 3.11 computes its next wake-up from the wall clock, so a wall clock stepped
back by an hour stalls an interval job for that hour. The watchdog ticks on the monotonic
clock, compares the wall clock's progress with it, and reports a jump. It also polls
``PRAGMA data_version`` so changes committed by *another* process (the CLI, the app) trigger
a push within seconds; on PostgreSQL (fleet mode) it LISTENs for the journal's NOTIFY
(migration 0020) instead, sent by whichever machine queued the change.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sync.clock import Clock

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.db import Database

__all__ = [
    "JOURNAL_CHANNEL",
    "JUMP_TOLERANCE",
    "Changes",
    "DataVersion",
    "Notifications",
    "Watchdog",
    "changes_of",
]

JOURNAL_CHANNEL = "tracker_journal"
"""What migration 0020's trigger NOTIFYs when a journal entry becomes pending."""

log = logging.getLogger(__name__)

JUMP_TOLERANCE = 2.0
"""Seconds of disagreement between wall and monotonic progress that count as a jump."""


class DataVersion:
    """``PRAGMA data_version`` on a private read-only connection: it changes when another
    connection commits a change to the file."""

    def __init__(self, path: Path) -> None:
        self._con: sqlite3.Connection | None = None
        self._last = 0
        try:
            self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._last = self._read()
        except sqlite3.Error:
            self.close()  # a connection that cannot read is closed, not left to the GC
            self._con = None

    def _read(self) -> int:
        assert self._con is not None
        return int(self._con.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        """True when another connection committed since the last call."""
        if self._con is None:
            return False
        try:
            now = self._read()
        except sqlite3.Error:
            return False
        changed, self._last = now != self._last, now
        return changed

    def close(self) -> None:
        """Close the private connection."""
        if self._con is not None:
            self._con.close()


class Notifications:
    """PostgreSQL: ``LISTEN`` on the journal's channel on a private connection (taken out
    of the engine's pool for good: it stays in autocommit, listening)."""

    def __init__(self, engine: Engine) -> None:
        self._con: Any = None
        try:
            raw = engine.raw_connection()
            con: Any = raw.driver_connection
            raw.detach()  # closed for real by close(), never handed back to the pool
            con.autocommit = True
            con.execute(f"LISTEN {JOURNAL_CHANNEL}")
            self._con = con
        except Exception:  # the watchdog then only watches the clock
            log.warning("cannot listen for changes made elsewhere", exc_info=True)

    def changed(self) -> bool:
        """True when a change was queued (here or elsewhere) since the last call."""
        if self._con is None:
            return False
        try:
            return any(True for _ in self._con.notifies(timeout=0))
        except Exception:
            log.warning("stopped listening for changes made elsewhere", exc_info=True)
            self.close()
            return False

    def close(self) -> None:
        """Close the private connection."""
        con, self._con = self._con, None
        if con is not None:
            with contextlib.suppress(Exception):
                con.close()


class Changes(Protocol):
    """Where the watchdog learns of changes committed by other processes."""

    def changed(self) -> bool: ...

    def close(self) -> None: ...


def changes_of(db: Database) -> Changes:
    """The store's change source: the file's data version, or the server's notifications."""
    if db.path is None:
        return Notifications(db.engine)
    return DataVersion(db.path)


class Watchdog:
    """A daemon thread ticking every ``interval`` seconds until ``stop`` is set.

    ``on_jump(drift)`` runs when the wall clock moved ``drift`` seconds more (or less) than
    the monotonic clock; ``on_change()`` when another process committed to the store
    (``changes``: opened in the thread, closed when it ends).
    """

    def __init__(
        self,
        changes: Callable[[], Changes],
        clock: Clock,
        stop: threading.Event,
        *,
        interval: float,
        on_jump: Callable[[float], None],
        on_change: Callable[[], None],
    ) -> None:
        self._changes = changes
        self._clock = clock
        self._stop = stop
        self._interval = interval
        self._on_jump = on_jump
        self._on_change = on_change
        self._thread = threading.Thread(target=self._watch, name="sync-watchdog", daemon=True)

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (after ``stop`` was set)."""
        self._thread.join(timeout)

    def _watch(self) -> None:
        clock = self._clock
        last_wall, last_mono = clock.wall().timestamp(), clock.monotonic()
        version = self._changes()
        try:
            while not self._stop.wait(self._interval):
                wall, mono = clock.wall().timestamp(), clock.monotonic()
                drift = (wall - last_wall) - (mono - last_mono)
                last_wall, last_mono = wall, mono
                if abs(drift) > JUMP_TOLERANCE:
                    self._on_jump(drift)
                if version.changed():
                    self._on_change()
        except Exception:  # the watchdog must never take the process down
            log.exception("sync watchdog stopped")
        finally:
            version.close()

"""The service's watchdog: notices wall-clock jumps, and commits made by other processes.

Why: APScheduler 3.11 computes its next wake-up from the wall clock, so a wall clock stepped
back by an hour stalls an interval job for that hour. The watchdog ticks on the monotonic
clock, compares the wall clock's progress with it, and reports a jump. It also polls
``PRAGMA data_version`` so changes committed by *another* process (the CLI, the app) trigger
a push within seconds.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from sync.clock import Clock

__all__ = ["JUMP_TOLERANCE", "DataVersion", "Watchdog"]

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


class Watchdog:
    """A daemon thread ticking every ``interval`` seconds until ``stop`` is set.

    ``on_jump(drift)`` runs when the wall clock moved ``drift`` seconds more (or less) than
    the monotonic clock; ``on_change()`` when another process committed to ``path``.
    """

    def __init__(
        self,
        path: Path,
        clock: Clock,
        stop: threading.Event,
        *,
        interval: float,
        on_jump: Callable[[float], None],
        on_change: Callable[[], None],
    ) -> None:
        self._path = path
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
        version = DataVersion(self._path)
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

"""Time as the sync side sees it: an injectable clock.

The engine, the request budget and the scheduler never call ``time`` or ``datetime.now``
themselves; they receive a :class:`Clock`. Production passes :class:`SystemClock`; tests and
simulations pass :class:`ManualClock`, whose ``sleep`` moves time forward instantly, so a
five-minute rate-limit wait costs nothing and is exactly reproducible.

Two scales, on purpose:

- ``monotonic()`` measures durations (rate windows, backoff waits). It never jumps, whatever
  NTP or the user does to the system clock.
- ``wall()`` is an aware UTC ``datetime`` for timestamps that are stored or compared across
  processes (a journal entry's ``next_attempt_at``).
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What the sync side needs to know about time."""

    def wall(self) -> datetime:
        """The current time as an aware UTC datetime (may step when the system clock is set)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a scale that never goes back; only differences are meaningful."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (>= 0)."""
        ...


class SystemClock:
    """The real clock: ``datetime.now(UTC)``, ``time.monotonic`` and ``time.sleep``."""

    def wall(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``; a negative or NaN duration is a bug and raises ValueError."""
        time.sleep(_checked(seconds))


_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class ManualClock:
    """A clock that only moves when told to (or when something sleeps on it).

    ``sleep(s)`` advances both scales by ``s`` at once and records ``s`` in :attr:`slept`, so a
    test can assert exactly which waits happened. :meth:`step_wall` moves only the wall clock
    (forwards or backwards), which is how tests prove that monotonic logic ignores clock steps.

    Thread-safe: a simulation may share it between a worker and the test thread.

    >>> clock = ManualClock()
    >>> clock.sleep(1.5)
    >>> clock.monotonic(), clock.slept
    (1.5, [1.5])
    """

    def __init__(self, start: datetime = _EPOCH, monotonic_start: float = 0.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start datetime")
        self._wall = start.astimezone(UTC)
        self._mono = float(monotonic_start)
        self._lock = threading.Lock()
        self.slept: list[float] = []
        """Every duration passed to :meth:`sleep`, in order."""

    def wall(self) -> datetime:
        """The simulated UTC time."""
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        """The simulated monotonic reading."""
        with self._lock:
            return self._mono

    def sleep(self, seconds: float) -> None:
        """Advance time by ``seconds`` instantly and record the sleep."""
        seconds = _checked(seconds)
        with self._lock:
            self.slept.append(seconds)
            self._advance(seconds)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (both scales) without recording a sleep."""
        seconds = _checked(seconds)
        with self._lock:
            self._advance(seconds)

    def step_wall(self, delta: timedelta | float) -> None:
        """Jump the wall clock only (an NTP correction, a user changing the time); may go back."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._wall += delta

    def _advance(self, seconds: float) -> None:
        if seconds > 0:
            # A positive sleep must move the clock even when it is smaller than the float's
            # resolution at the current reading; otherwise a "sleep until t" loop whose last
            # step rounds to nothing would spin forever.
            self._mono = max(self._mono + seconds, math.nextafter(self._mono, math.inf))
            self._wall += timedelta(seconds=seconds)


def _checked(seconds: float) -> float:
    seconds = float(seconds)
    if not seconds >= 0:  # also rejects NaN
        raise ValueError(f"sleep length must be a non-negative number, not {seconds!r}")
    return seconds

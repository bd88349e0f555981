"""Time as the sandbox sees it: an injectable monotonic clock.

Token expiry and the rate limit read ``sandbox.clock()``; tests pass a :class:`ManualClock` and
move it forward instead of sleeping. Wall-clock steps do not matter here (both are durations).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Clock = Callable[[], float]
"""A function returning seconds on a monotonic scale (``time.monotonic`` by default)."""


class ManualClock:
    """A clock that only moves when told to; safe to advance from the test thread.

    >>> clock = ManualClock()
    >>> clock.advance(301)
    >>> clock()
    301.0
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backwards: it stands for monotonic time)."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        with self._lock:
            self._now += seconds

"""Tight's documented rate limit: N requests per sliding window, counted per access token.

A sliding log (not fixed buckets) because it is the strictest reading of "1000 requests per
5 minutes": no 300-second span ever holds more than ``limit`` admitted requests, which is the
property a client's own limiter is tested against. Refused requests are not counted.
"""

from __future__ import annotations

from collections import deque

from sync.sandbox.clock import Clock


class SlidingWindow:
    """Admit at most ``limit`` calls per ``window`` seconds per key; ``limit=None`` disables it."""

    def __init__(self, limit: int | None, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def admit(self, key: str) -> float | None:
        """``None`` if admitted (and counted); otherwise seconds until a slot frees up."""
        if self.limit is None:
            return None
        now = self._clock()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return max(0.0, seen[0] + self.window - now)
        seen.append(now)
        return None

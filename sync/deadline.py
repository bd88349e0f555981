"""A run's time budget: a phone's OS grants a background task about 30 seconds.

A run given a budget does what fits: it starts no batch or page once the budget is spent,
no in-run retry or rate-limit wait reaches past it, and no request may outlast it. What was
not done stays queued, consistent and resumable (docs/sync-guarantees.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sync.clock import Clock

__all__ = ["Deadline"]


@dataclass(frozen=True)
class Deadline:
    """A moment on ``clock``'s monotonic scale (``until``: infinite for no budget)."""

    clock: Clock
    until: float = math.inf

    @classmethod
    def after(cls, clock: Clock, seconds: float | None) -> Deadline:
        """``seconds`` from now on ``clock``; None for no budget."""
        if seconds is None:
            return cls(clock)
        if not seconds > 0:
            raise ValueError(f"a time budget must be a positive number of seconds, not {seconds}")
        return cls(clock, clock.monotonic() + seconds)

    @property
    def bounded(self) -> bool:
        """True when there is a budget at all."""
        return math.isfinite(self.until)

    def remaining(self) -> float:
        """Seconds left (infinite without a budget, never below 0)."""
        return max(0.0, self.until - self.clock.monotonic())

    def expired(self) -> bool:
        """True once the budget is spent."""
        return self.clock.monotonic() >= self.until

    def cap(self, seconds: float) -> float:
        """``seconds``, shortened so it ends within the budget."""
        return min(seconds, self.remaining())

"""Client-side request budget: stay under the server's rate limit instead of hitting it.

Tight allows 1000 requests per 5 minutes per access token (docs/decisions.md) and documents no
rate-limit headers, so the client keeps its own count. One :class:`RequestBudget` per token is
shared by everything that calls that API (push batches, reconciliation queries, deletes).

Guarantee: with ``limit`` L and ``window`` W, no half-open interval ``[t, t + W)`` of the
budget's monotonic clock contains more than L granted requests. It is a sliding-window log, so
any fixed-window counter the server might use (fixed windows are particular sliding windows)
is satisfied too. It is also exact: request L+1 is granted at the very instant request 1 leaves
the window (its answer's time once settled), not later.

:class:`RequestBudget` keeps its window in memory, on the monotonic clock: stepping the wall
clock (NTP, the user; DST has no effect anyway) changes nothing, and at most ``limit``
timestamps are kept. It cannot see requests made with the same token by another process, or
by this one before a restart within the window.

:class:`SharedBudget`, what the engine uses, adds the window kept in the store
(``tracker.grants``): every process on the file with the same URL and identity (the daemon,
``tracker sync``, an app) takes its grants from one window, so together they stay under the
limit. Each grant is one small write transaction. It reads the wall clock, the one clock
the processes share; a step back is taken conservatively, and a step forward cannot make a
process exceed the limit on its own, since it also keeps its monotonic window
(``tracker.grants`` explains both). A 429's pause is shared too.

Network latency: the server counts a request when it arrives, somewhere between our send and
its answer. A grant is therefore stamped twice: when taken, and again when its answer (or its
failure) comes back (:meth:`RequestBudget.settle`), which moves the stamp to that later time.
Spacing the answers by the window spaces the arrivals by at least as much, whatever the
latency, so the in-process window holds on the server too; a request still unanswered counts
from its send (a request's deadline is far shorter than the window). The shared window does
the same (one more small write per request; in a push run it goes with the next grant's
write instead, :meth:`SharedBudget.coalescing`), so processes together keep to a server
window equal to theirs too.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from tracker.grants import Answered, Window
from tracker.ratewindow import slot_wait

if TYPE_CHECKING:
    from sync.clock import Clock
    from sync.settings import MileageSettings
    from tracker.grants import RequestGrants

__all__ = ["RequestBudget", "SharedBudget", "budget_key", "spent_until"]


class RequestBudget:
    """A thread-safe sliding-window rate limiter on an injected clock.

    >>> from sync.clock import ManualClock
    >>> budget = RequestBudget(limit=2, window=10.0, clock=ManualClock())
    >>> budget.try_acquire(), budget.try_acquire(), budget.try_acquire()
    (True, True, False)
    >>> budget.wait_time()
    10.0
    """

    def __init__(self, limit: int = 1000, window: float = 300.0, *, clock: Clock) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1 (got {limit})")
        if not (window > 0 and math.isfinite(window)):
            raise ValueError(f"window must be a positive number of seconds (got {window})")
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        # The stamps of the last `limit` grants, ascending. Only the oldest of them matters:
        # once the deque is full, a new grant is allowed when that oldest one has left the
        # window. A stamp is the send time until settle() moves it to the answer's time.
        self._sent: deque[float] = deque(maxlen=limit)
        # Send stamps of the grants not settled yet, oldest first.
        self._unsettled: deque[float] = deque()
        self._paused_until = -math.inf
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: MileageSettings, *, clock: Clock) -> RequestBudget:
        """The budget of one Tight token: ``rate_limit`` requests per ``rate_window`` seconds."""
        return cls(settings.rate_limit, settings.rate_window, clock=clock)

    def _wait_locked(self, now: float) -> float:
        full = len(self._sent) >= self.limit
        return slot_wait(self._sent[0] if full else None, self._paused_until, now, self.window)

    def _take_locked(self, now: float) -> float:
        """Take a slot if one is free at ``now`` (0.0 returned), else the seconds to wait."""
        wait = self._wait_locked(now)
        if wait <= 0:
            self._grant_locked(now)
        return wait

    def _grant_locked(self, now: float) -> None:
        if (
            len(self._sent) == self.limit
            and self._unsettled
            and self._unsettled[0] == self._sent[0]
        ):
            self._unsettled.popleft()  # its stamp leaves the log: nothing left to move
        self._sent.append(now)
        self._unsettled.append(now)

    def settle(self) -> None:
        """The answer to a granted request came back (or it failed): count it from now.

        Call once per grant, after its request ends however it ends. It moves the earliest
        unsettled grant's stamp to now; which grant's does not matter, as the window only
        counts stamps, and once all are settled the stamps are the answers' times. A grant
        never settled keeps its send time (as before this existed).
        """
        with self._lock:
            if not self._unsettled:
                return
            sent = self._unsettled.popleft()
            if sent in self._sent:
                self._sent.remove(sent)  # the first equal stamp: equal stamps are alike
                self._sent.append(max(self._clock.monotonic(), sent))

    @contextmanager
    def coalescing(self) -> Iterator[None]:
        """A stretch of back-to-back requests (a push run): :class:`SharedBudget` writes
        the answers' stamps with the next grant instead of one by one. Nothing to do here."""
        yield

    def flush(self) -> None:
        """Write the answers' stamps held back by :meth:`coalescing` (none here)."""

    def wait_time(self) -> float:
        """Seconds until a request may be sent (0 when one may be sent now)."""
        with self._lock:
            return self._wait_locked(self._clock.monotonic())

    def try_acquire(self) -> bool:
        """Take one request slot if one is free now; never blocks."""
        with self._lock:
            return self._take_locked(self._clock.monotonic()) <= 0

    def acquire(self, max_wait: float | None = None) -> bool:
        """Block (on the clock's ``sleep``) until a request may be sent, then take the slot.

        With ``max_wait``, give up without sleeping when the slot is further away than that
        many seconds from the call, and return False (a CLI run can then stop and leave the
        rest queued instead of blocking for minutes). Returns True once the slot is taken.
        """
        deadline = None if max_wait is None else self._clock.monotonic() + max_wait
        while True:
            with self._lock:
                now = self._clock.monotonic()
                wait = self._take_locked(now)
                if wait <= 0:
                    return True
            if deadline is not None and now + wait > deadline:
                return False
            # Sleep outside the lock so other threads can look; re-check afterwards since a
            # penalty may have been added or another thread may have taken the slot meanwhile.
            self._clock.sleep(wait)

    def penalize(self, seconds: float) -> None:
        """Pause the whole budget for ``seconds`` from now (a 429's Retry-After).

        Pauses only extend: a shorter penalty never cuts a longer one short.
        """
        if not seconds >= 0:  # also rejects NaN
            raise ValueError(f"penalty must be a non-negative number of seconds (got {seconds})")
        with self._lock:
            now = self._clock.monotonic()
            self._paused_until = max(self._paused_until, now + seconds)

    def note_retry_after(self, seconds: float | None) -> None:
        """:meth:`penalize` for a parsed Retry-After; ``None`` (no header) changes nothing.

        Without a Retry-After the caller's backoff already spaces the retry of that request;
        pausing every other user of the budget on a guess would only slow the drain.
        """
        if seconds is not None:
            self.penalize(seconds)

    def in_window(self) -> int:
        """How many requests were granted within the last ``window`` seconds."""
        with self._lock:
            start = self._clock.monotonic() - self.window
            return sum(1 for sent in self._sent if sent > start)


def budget_key(settings: MileageSettings) -> str:
    """The shared window's name for these settings: one per Tight URL and identity (the
    static token, or the client id and user id). A hash: no secret is written to the file."""
    cfg = settings
    token = cfg.token.get_secret_value() if cfg.token is not None else ""
    identity = "\0".join((cfg.url, token, cfg.client_id or "", cfg.user_id or ""))
    return "tight:" + hashlib.sha256(identity.encode()).hexdigest()[:16]


class SharedBudget(RequestBudget):
    """A :class:`RequestBudget` whose window is also kept in the store, shared by every
    process on the file: a request goes when both this process's window (monotonic) and the
    shared one (wall clock, ``tracker.grants``) have room; a 429's pause holds them all.

    Thread-safe like its base; the shared check and grant are one write transaction.
    """

    def __init__(
        self,
        grants: RequestGrants,
        key: str,
        limit: int = 1000,
        window: float = 300.0,
        *,
        clock: Clock,
    ) -> None:
        super().__init__(limit, window, clock=clock)
        self._grants = grants
        self._shape = Window(key, self.limit, self.window)
        # Ids of the shared grants not settled yet (bounded like the log: a caller that never
        # settles leaves them at their send times, as before settling existed).
        self._open_grants: deque[int] = deque(maxlen=self.limit)
        # Within coalescing(): answers whose stamps go with the next grant (or flush()).
        self._coalescing = 0
        self._answers: list[Answered] = []

    @classmethod
    def for_store(
        cls, settings: MileageSettings, grants: RequestGrants, *, clock: Clock
    ) -> SharedBudget:
        """The shared budget of the Tight identity in ``settings`` on one store."""
        return cls(
            grants, budget_key(settings), settings.rate_limit, settings.rate_window, clock=clock
        )

    def _wall(self) -> float:
        return self._clock.wall().timestamp()

    def _wait_locked(self, now: float) -> float:
        local = super()._wait_locked(now)
        return max(local, _whole_microseconds(self._grants.wait(self._shape, self._wall)))

    def _take_locked(self, now: float) -> float:
        local = super()._wait_locked(now)
        if local > 0:
            self._flush_locked()  # a wait: the held-back stamps go now, not after it
            return local
        wait, grant = self._grants.take_grant(self._shape, self._wall, self._answers)
        self._answers.clear()  # written in the grant's transaction, whatever its outcome
        wait = _whole_microseconds(wait)
        if wait <= 0:
            self._grant_locked(now)
            if grant is not None:
                self._open_grants.append(grant)
        return wait

    def settle(self) -> None:
        """As :meth:`RequestBudget.settle`, in the shared window too (one small write).

        Within :meth:`coalescing` the stamp (the answer's time, read now) is written with
        this process's next grant instead, in the grant's transaction, or by :meth:`flush`:
        at the latest when the stretch ends or before any wait (for the budget, a retry).
        Meanwhile another process sees the grant at its send time: that changes a decision
        of its only once the send time has left the window (a window, 5 min by default,
        after the send; the next grant here comes within one batch) or, when the window is
        full, the wait it works out (it then checks again at that time). A process killed
        meanwhile leaves its send time, as one killed before the answer does."""
        super().settle()
        with self._lock:
            grant = self._open_grants.popleft() if self._open_grants else None
            if grant is not None and self._coalescing:
                self._answers.append((grant, self._wall()))
                return
        if grant is not None:
            self._grants.answered(grant, self._wall)

    @contextmanager
    def coalescing(self) -> Iterator[None]:
        """Back-to-back requests: each answer's stamp is written with the next grant (one
        write per request instead of two); the rest when the stretch ends."""
        with self._lock:
            self._coalescing += 1
        try:
            yield
        finally:
            with self._lock:
                self._coalescing -= 1
            self.flush()

    def flush(self) -> None:
        """Write the answers' stamps held back by :meth:`coalescing` now."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._answers:
            self._grants.answered_at(self._answers)
            self._answers.clear()

    def penalize(self, seconds: float) -> None:
        """Pause this process and every other one on the file for ``seconds`` from now."""
        super().penalize(seconds)
        self.flush()
        self._grants.pause(self._shape.key, seconds, self._wall)

    def in_window(self) -> int:
        """How many requests (of every process on the file) lie within the last window."""
        return self._grants.in_window(self._shape, self._wall)


def _whole_microseconds(seconds: float) -> float:
    """A wait on the wall clock rounded up to its resolution (a microsecond): a sleep of less
    would not move a wall clock that counts microseconds, and the wait would never end."""
    return math.ceil(seconds * 1e6) / 1e6


def spent_until(clock: Clock, waiting: float) -> str:
    """Why a request was not sent: the budget is spent for ``waiting`` more seconds (the
    time it frees is given in UTC); the work stays queued."""
    free = clock.wall() + timedelta(seconds=waiting)
    return (
        f"request budget spent until {free:%H:%M:%S} UTC (shared by every process syncing "
        "this file); kept queued"
    )

"""The sliding-window rule of a request budget, pure: how long until the next request may go.

A budget of ``limit`` requests per ``window`` seconds keeps the send times of its grants. The
next request may go when fewer than ``limit`` grants lie in the last ``window`` seconds, that
is once the ``limit``-th latest grant has left the window, and when no pause (a 429's
Retry-After) is running. Both the in-memory budget (``sync.budget``, on a monotonic clock)
and the shared one in the database (``tracker.grants``, on the wall clock) decide with these
functions.
"""

from __future__ import annotations

__all__ = ["slot_wait", "step_back"]


def slot_wait(kth_latest: float | None, paused_until: float, now: float, window: float) -> float:
    """Seconds from ``now`` until a request may be sent (0.0: now).

    ``kth_latest`` is the send time of the ``limit``-th latest grant still inside the window
    (None when fewer than ``limit`` are); ``paused_until`` the end of the current pause.

    >>> slot_wait(None, 0.0, 10.0, 300.0)
    0.0
    >>> slot_wait(5.0, 0.0, 10.0, 300.0)
    295.0
    >>> slot_wait(None, 40.0, 10.0, 300.0)
    30.0
    """
    wait = paused_until - now
    if kth_latest is not None:
        wait = max(wait, kth_latest + window - now)
    return max(0.0, wait)


def step_back(horizon: float, now: float) -> float:
    """How far the clock went back: ``horizon`` is the latest time any user of the budget
    read, ``now`` the time read now (0.0 when the clock did not go back).

    Every stamp taken before a step back lies that much in the future of the new clock, at
    least. Moving the stamps (grants and pause) back by this amount, no more, keeps each of
    them at or after the instant it would have on the new clock, so a grant leaves the window
    no earlier than it really does: the limit still holds, at the cost of waiting at most
    one window longer than needed, whatever the size of the step.

    >>> step_back(1000.0, 400.0), step_back(400.0, 1000.0)
    (600.0, 0.0)
    """
    return max(0.0, horizon - now)

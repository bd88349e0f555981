"""Waiting for something another thread or process does, without a fixed sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.sandbox import Sandbox
    from tracker.store import Tracker

POLL = 0.02


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last value.

    For state another process changes (a file, a database): a thread in this process should
    signal an event instead (:func:`wait_event`).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL)
    return predicate()


def wait_event(event: threading.Event, timeout: float) -> bool:
    """Wait until ``event`` is set (True) or ``timeout`` passes (False)."""
    return event.wait(timeout)


def retry_due(store: Tracker, timeout: float = 10.0) -> bool:
    """Wait until the journal's earliest retry time has come on the store's clock (True), so
    the next push may send it; at once when nothing waits."""

    def due() -> bool:
        at = store.journal.next_attempt_at()
        return at is None or at <= store.now()

    return wait_for(due, timeout)


def all_answered(sandbox: Sandbox, timeout: float) -> bool:
    """Wait until the server has answered every request it received (a slow server finishing
    the work of a client that gave up)."""
    return wait_for(lambda: all(r.status is not None for r in sandbox.requests), timeout)

"""Waiting for something another thread or process does, without a fixed sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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

"""What became of one pushed change: the one verdict type from the server's answer to the journal.

The sync side classifies each item of an answer into one of these values (pure functions,
no I/O); the outbox records them (``tracker.outbox.Outbox.step``). The same value travels
the whole way: there is no second translation in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Parked", "Retry", "Synced", "Verdict"]


@dataclass(frozen=True)
class Synced:
    """The server has the change. ``remote_id`` and ``record`` (the server's copy) are stored
    on the trip; a missing one keeps what is stored."""

    remote_id: str | None = None
    record: dict[str, Any] | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Parked:
    """The server rejected the change; it waits for the user (edit, retry or drop)."""

    error_type: str
    message: str
    param: str | None = None


@dataclass(frozen=True)
class Retry:
    """Try again later.

    ``in_doubt``: the server may already have applied it (a create is looked up before it
    is sent again). ``at``: when, set by the pusher's retry policy before recording (the
    classifier leaves it None); ``retry_after``: the server's own hint in seconds (0: at
    once). ``item_error``: the server's own per-item error, which counts toward giving up
    (an outage never does).
    """

    error_type: str
    message: str
    in_doubt: bool = False
    at: datetime | None = None
    retry_after: float | None = None
    item_error: bool = False


Verdict = Synced | Parked | Retry

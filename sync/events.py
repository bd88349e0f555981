"""What a sync run tells an app while it runs, so a UI can show it without polling.

Pass a :data:`Listener` (any callable taking one event) to the engine, the service or
``sync.open_app``. It is called on the thread that runs the sync, in order: keep it quick and
hand the event to your UI thread. An exception it raises is logged and ignored: a listener
can never break a sync.

A run emits :class:`SyncStarted`, then per step :class:`StepStarted`, :class:`Progress`
(after each batch or page), :class:`TripPulled` for each trip the server changed,
:class:`ConflictFound` for each change held in a conflict, :class:`TripStateChanged` (and
:class:`TripParked`) for each trip the server answered a push for, then
:class:`SyncFinished` with the report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracker.enums import SyncState

if TYPE_CHECKING:
    from sync.report import SyncReport

__all__ = [
    "ConflictFound",
    "Listener",
    "Progress",
    "StepStarted",
    "SyncEvent",
    "SyncFinished",
    "SyncStarted",
    "TripParked",
    "TripPulled",
    "TripStateChanged",
    "notify",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncStarted:
    """A run began; ``steps`` are the steps it will try, in order (``costs``, ``push``)."""

    steps: tuple[str, ...]


@dataclass(frozen=True)
class StepStarted:
    """One step began. ``total``: how many items it expects, when known."""

    step: str
    total: int | None = None


@dataclass(frozen=True)
class Progress:
    """A step moved on: ``done`` of ``total`` (None when unknown) ``unit`` so far."""

    step: str
    done: int
    total: int | None
    unit: str


@dataclass(frozen=True)
class TripStateChanged:
    """The server answered for a trip: its sync state now (``synced``; ``pending`` or
    ``in_doubt`` for a retry later) and its id on the server."""

    trip_id: str
    state: SyncState
    remote_id: str | None


@dataclass(frozen=True)
class TripParked:
    """The server rejected a trip's change; it waits for the user (``tracker parked``)."""

    trip_id: str
    seq: int
    error_type: str
    message: str
    param: str | None


@dataclass(frozen=True)
class TripPulled:
    """The server changed a trip (``updated``), or deleted it (``deleted``): the local trip
    followed."""

    trip_id: str
    change: str


@dataclass(frozen=True)
class ConflictFound:
    """A trip changed here and on the server in different ways: its change is held until the
    user resolves it (``tracker conflicts``, ``store.conflicts``)."""

    trip_id: str


@dataclass(frozen=True)
class SyncFinished:
    """A run ended (also after a failure: see ``report.failures``)."""

    report: SyncReport


SyncEvent = (
    SyncStarted
    | StepStarted
    | Progress
    | TripStateChanged
    | TripParked
    | TripPulled
    | ConflictFound
    | SyncFinished
)
Listener = Callable[[SyncEvent], None]
"""Called with every event of a run, on the sync's thread."""


def notify(listener: Listener | None, event: SyncEvent) -> None:
    """Hand ``event`` to ``listener``; its failure is logged, never raised."""
    if listener is None:
        return
    try:
        listener(event)
    except Exception:
        log.exception("a sync listener failed on %s; the sync goes on", type(event).__name__)

"""``tracker daemon``: the sync service in the foreground until SIGTERM or SIGINT.

One daemon per database: it holds the ``daemon`` lease (renewed while it runs); a second
one exits with "already running". On SIGTERM/SIGINT it stops scheduling, lets the batch in
flight finish (the pusher stops between batches), releases its leases and exits 0. A
SIGKILLed daemon's leases simply expire and the next process takes over; the entries it had
claimed come back, in-doubt creates are reconciled before anything is resent.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from sync import logs
from sync.errors import AlreadyRunningError
from sync.owners import dead_here, new_owner
from sync.service import SyncService
from sync.settings import Settings
from tracker.store import Tracker

log = logging.getLogger(__name__)

DAEMON_LEASE = "daemon"


def run_daemon(
    settings: Settings,
    store: Tracker,
    *,
    log_file: Path | None = None,
    pull: Callable[[threading.Event], dict[str, Any]] | None = None,
) -> int:
    """Run until a signal arrives; returns the exit code (0)."""
    logs.configure(settings.log_level, log_file=log_file, secrets=logs.settings_secrets(settings))
    ttl = timedelta(seconds=settings.schedule.lease_seconds)
    owner = new_owner()
    fence = store.acquire_lease(DAEMON_LEASE, owner, ttl)
    held = store.lease_info(DAEMON_LEASE)
    if fence is None and held.owner is not None and dead_here(held.owner):
        # A SIGKILLed daemon on this host: start at once instead of after its lease expires.
        store.release_lease(DAEMON_LEASE, held.owner, held.fence)
        fence = store.acquire_lease(DAEMON_LEASE, owner, ttl)
    if fence is None:
        raise AlreadyRunningError(
            f"a daemon is already running on {store.path} ({held.owner}); stop it first"
        )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping after the batch in flight", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    service = SyncService(settings, store, pull=pull)
    try:
        service.start()
        log.info("daemon %s running on %s", owner, store.path)
        renew_every = max(0.5, settings.schedule.lease_seconds / 3)
        while not stop.wait(renew_every):
            if not store.renew_lease(DAEMON_LEASE, owner, fence, ttl):
                log.error("lost the daemon lease to another process; stopping")
                break
    finally:
        service.stop()
        store.release_lease(DAEMON_LEASE, owner, fence)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        log.info("daemon stopped")
    return 0

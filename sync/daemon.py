"""``tracker daemon``: the sync service in the foreground until SIGTERM or SIGINT.

One daemon per database: it holds the ``daemon`` lease (renewed while it runs); a second
one exits with "already running". On SIGTERM/SIGINT it stops scheduling, lets the batch in
flight finish (the run stops between batches), releases its leases and exits 0. A SIGKILLed
daemon's leases are taken over at once by the next process on the same host; the entries it
had claimed come back, in-doubt creates are reconciled before anything is resent.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType

from sync import logs
from sync.engine import SyncEngine
from sync.lease import HeldLease
from sync.owners import new_owner
from sync.service import SyncService

__all__ = ["DAEMON_LEASE", "run_daemon"]

log = logging.getLogger(__name__)

DAEMON_LEASE = "daemon"


def run_daemon(engine: SyncEngine, *, log_file: Path | None = None) -> int:
    """Run until a signal arrives; returns the exit code (0)."""
    settings = engine.settings
    store = engine.store
    logs.configure(
        settings.log_level,
        log_file=log_file,
        secrets=logs.settings_secrets(settings),
        log_format=settings.log_format,
    )
    ttl = timedelta(seconds=settings.schedule.lease_seconds)
    # Fleet mode (PostgreSQL): as many daemons as machines, each under a lease of its own.
    fleet = store.db.postgres
    lease = HeldLease(
        store.leases,
        f"{DAEMON_LEASE}:{new_owner()}" if fleet else DAEMON_LEASE,
        ttl,
        engine.clock,
        busy=lambda held: (
            f"a daemon is already running on {store.db.location} ({held.owner}); stop it first"
        ),
        forget=fleet,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "stopping after the batch in flight", extra={"signal": signal.Signals(signum).name}
        )
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    service = SyncService(engine)
    try:
        service.start()
        log.info("daemon running", extra={"owner": lease.owner, "db": store.db.location})
        while not stop.wait(max(0.5, ttl.total_seconds() / 3)):
            if not lease.keep():
                log.error("lost the daemon lease to another process; stopping")
                break
    finally:
        service.stop()
        lease.release()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        log.info("daemon stopped")
    return 0

"""Journal garbage collection as ``tracker gc`` and the daemon run it: under the sync leases.

``Tracker.gc`` does the work (``tracker.gc``); this takes the ``push`` and ``pull`` leases
first, so it never runs beside a sync run on the same store, in this process or another:
while a run holds either lease it is refused (``AlreadyRunningError``, exit 75: try again),
and while it holds them a sync run is refused the same way. VACUUM needs that: it holds the
write lock for the whole rewrite of the file.
"""

from __future__ import annotations

from datetime import timedelta

from sync.clock import Clock
from sync.costs.pull import PULL_LEASE
from sync.engine import PUSH_LEASE
from sync.lease import HeldLease
from sync.settings import Settings
from tracker.leases import LeaseInfo
from tracker.retention import GcReport
from tracker.store import Tracker

__all__ = ["collect_garbage", "retention_of"]


def retention_of(settings: Settings) -> timedelta:
    """How long synced entries are kept (``TRACKER_JOURNAL_RETENTION_DAYS``)."""
    return timedelta(days=settings.journal.retention_days)


def _busy(held: LeaseInfo) -> str:
    return (
        f"a sync is running ({held.name} lease held by {held.owner}); gc waits for no sync: "
        "run it again when the sync is done"
    )


def collect_garbage(
    store: Tracker,
    settings: Settings,
    clock: Clock,
    *,
    dry_run: bool = False,
    vacuum: bool = False,
) -> GcReport:
    """Compact the journal (and with ``vacuum`` shrink the file) while holding the sync
    leases; raises AlreadyRunningError while a sync runs. A dead pusher's lease on this host
    is taken over as a sync would (its claims given back)."""
    ttl = timedelta(seconds=settings.schedule.lease_seconds)
    with (
        HeldLease(
            store.leases,
            PUSH_LEASE,
            ttl,
            clock,
            busy=_busy,
            on_takeover=store.outbox.expire_claims,
        ),
        HeldLease(store.leases, PULL_LEASE, ttl, clock, busy=_busy),
    ):
        return store.gc(retention_of(settings), dry_run=dry_run, vacuum=vacuum)

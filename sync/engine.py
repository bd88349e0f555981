"""The sync engine: settings + store + HTTP clients + rate budget + the sync lease.

``SyncEngine.push()`` is the one job the scheduler, the daemon and ``tracker sync`` run.
Only one process pushes a database at a time: the engine takes the ``push`` lease in the
database first (renewed between batches) and refuses with AlreadyRunningError otherwise.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta

import httpx

from sync.auth import TokenSource
from sync.budget import RequestBudget
from sync.client import build_client
from sync.clock import Clock, SystemClock
from sync.errors import AlreadyRunningError
from sync.owners import dead_here, new_owner
from sync.push import Hook, Progress, Pusher, PushReport
from sync.settings import Settings
from tracker.lease import LeaseHold
from tracker.store import Tracker

PUSH_LEASE = "push"
log = logging.getLogger(__name__)


class SyncEngine:
    """Runs pushes (and pulls) of one store. Build once; call ``push()`` as often as needed."""

    def __init__(
        self,
        settings: Settings,
        store: Tracker,
        *,
        clock: Clock | None = None,
        mileage_client: httpx.Client | None = None,
        rng: random.Random | None = None,
        hook: Hook | None = None,
    ) -> None:
        self._hook = hook
        self.settings = settings
        self.store = store
        self.clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._mileage_client = mileage_client
        self._owns_client = mileage_client is None
        # One budget per engine: a daemon's runs share it, as the limit is per token.
        self.budget = RequestBudget.from_settings(settings.mileage, clock=self.clock)
        self._lock = threading.Lock()

    @property
    def mileage_client(self) -> httpx.Client:
        """The Tight client (built from settings on first use)."""
        if self._mileage_client is None:
            self._mileage_client = build_client(self.settings.mileage.url, self.settings.mileage)
        return self._mileage_client

    def push(
        self,
        *,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        retry_waiting: bool = False,
    ) -> PushReport:
        """One push run under the sync lease. Raises AlreadyRunningError when another
        process holds it, AuthError / EndpointMissingError when the remote refuses.

        ``retry_waiting``: entries waiting for their retry time are sent too (a sync asked
        for by hand); the scheduler and the daemon keep to the retry schedule."""
        with self._lock:
            # Before the first write: a damaged file is never pushed from or written to.
            self.store.check_integrity()
            ttl = timedelta(seconds=self.settings.schedule.lease_seconds)
            owner = new_owner()
            fence = self.store.acquire_lease(PUSH_LEASE, owner, ttl)
            if fence is None:
                fence = self._take_over_from_dead(owner, ttl)
            if fence is None:
                held = self.store.lease_info(PUSH_LEASE)
                raise AlreadyRunningError(
                    f"sync already running (held by {held.owner} until "
                    f"{held.expires_at:%H:%M:%S} UTC); try again later"
                    if held.expires_at
                    else "sync already running; try again later"
                )
            try:
                client = self.mileage_client
                tokens = TokenSource(self.settings.mileage, client, self.clock, self.budget)
                pusher = Pusher(
                    self.store,
                    self.settings.mileage,
                    client,
                    clock=self.clock,
                    budget=self.budget,
                    tokens=tokens,
                    owner=owner,
                    rng=self._rng,
                    progress=progress,
                    hook=self._hook,
                    retry_waiting=retry_waiting,
                )
                report = pusher.run(stop, hold=LeaseHold(PUSH_LEASE, owner, fence, ttl))
                report.requests += tokens.minted
                return report
            finally:
                self.store.release_lease(PUSH_LEASE, owner, fence)

    def _take_over_from_dead(self, owner: str, ttl: timedelta) -> int | None:
        """A pusher killed on this host: take its lease now, and give its claimed entries
        back (creates among them in doubt) instead of waiting for both leases to expire."""
        held = self.store.lease_info(PUSH_LEASE)
        if held.owner is None or not dead_here(held.owner):
            return None
        log.info("the previous pusher (%s) died; taking over", held.owner)
        self.store.release_lease(PUSH_LEASE, held.owner, held.fence)
        self.store.expire_claims(held.owner)
        return self.store.acquire_lease(PUSH_LEASE, owner, ttl)

    def close(self) -> None:
        """Close the HTTP clients this engine built."""
        if self._owns_client and self._mileage_client is not None:
            self._mileage_client.close()
            self._mileage_client = None

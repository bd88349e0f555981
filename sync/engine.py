"""The sync engine: one store, the remotes it syncs with, and one run that composes them.

``SyncEngine.run()`` is what the CLI, the daemon, the background service and an embedding
app all call. A run pulls the platform's costs, then pushes the journal to Tight; each step
under its own lease in the database (one pusher and one puller per database at a time),
each within the run's time budget. A step that fails is reported and the next one still
runs. docs/architecture.md shows how a change travels through it.
"""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import httpx

from sync.budget import RequestBudget
from sync.clock import Clock, SystemClock
from sync.costs.api import CostsApi
from sync.costs.auth import costs_auth
from sync.costs.mapping import link_tolerance_of, read_context
from sync.costs.pull import PULL_LEASE, CostsPull
from sync.costs.refresh import refresh_cost
from sync.costs.report import PullReport, RefreshReport
from sync.costs.strategies import paginator_from_settings
from sync.deadline import Deadline
from sync.errors import SyncError
from sync.events import Listener, StepStarted, SyncFinished, SyncStarted, notify
from sync.http.client import build_client
from sync.http.credentials import CredentialsProvider
from sync.lease import HeldLease
from sync.report import SyncReport
from sync.settings import Settings
from sync.tight.api import TightApi
from sync.tight.auth import TightAuth
from sync.tight.batch import BatchSender, Schedule
from sync.tight.preview import preview_push
from sync.tight.push import Hook, Pusher
from sync.tight.report import PushReport
from tracker.errors import TrackerError
from tracker.leases import LeaseInfo
from tracker.store import Tracker

__all__ = ["PUSH_LEASE", "SyncEngine"]

PUSH_LEASE = "push"


class SyncEngine:
    """Syncs one store. Build once; call :meth:`run` as often as needed (runs of one engine
    take turns; other processes are kept out by the leases). Close it when done.

    ``transport`` replaces the network for both remotes (an ``httpx`` transport: the
    sandbox in process, a test server); ``credentials`` / ``costs_credentials`` supply
    tokens on demand (``sync.http.credentials``); ``listener`` receives the run's events
    (``sync.events``); ``clock`` and ``rng`` drive every wait and jitter.
    """

    def __init__(
        self,
        settings: Settings,
        store: Tracker,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        credentials: CredentialsProvider | None = None,
        costs_credentials: CredentialsProvider | None = None,
        listener: Listener | None = None,
        rng: random.Random | None = None,
        hook: Hook | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or SystemClock()
        self.listener = listener
        self._transport = transport
        self._credentials = credentials
        self._costs_credentials = costs_credentials
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._hook = hook or (lambda _point: None)
        # One budget per engine: a daemon's runs share it, as the limit is per token.
        self.budget = RequestBudget.from_settings(settings.mileage, clock=self.clock)
        self._clients: dict[str, httpx.Client] = {}
        self._tight_auth: TightAuth | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the run
    def run(
        self,
        *,
        push: bool = True,
        pull: bool | None = None,
        budget: float | None = None,
        stop: threading.Event | None = None,
        retry_waiting: bool = False,
    ) -> SyncReport:
        """One sync run: pull costs (``pull``; None: when the costs API is configured), then
        push the journal (``push``).

        ``budget``: seconds the run may take; it stops between batches and pages once spent,
        leaving everything consistent and resumable. ``stop``: set it to end the run after
        the batch or page under way. ``retry_waiting``: changes waiting for their retry time
        are sent too (a sync asked for by hand; the scheduler keeps to the schedule).

        Raises CorruptDatabaseError (and touches nothing) for a damaged file. A step's own
        failure (offline, refused, misconfigured, another process syncing) is in the
        report's ``failures``.
        """
        with self._lock:
            # Before the first write: a damaged file is never pushed from or pulled into.
            self.store.check_integrity()
            deadline = Deadline.after(self.clock, budget)
            do_pull = bool(self.settings.costs.url) if pull is None else pull
            steps = (("costs",) if do_pull else ()) + (("push",) if push else ())
            report = SyncReport(steps=steps)
            notify(self.listener, SyncStarted(steps))
            try:
                for step in steps:
                    if stop is not None and stop.is_set():
                        report.stopped = "stop requested"
                        break
                    if deadline.expired():
                        report.stopped = "the run's time budget is spent"
                        break
                    try:
                        if step == "costs":
                            report.costs = self._pull_costs(deadline, stop)
                        else:
                            report.push = self._push(deadline, stop, retry_waiting)
                    except (SyncError, TrackerError) as err:
                        report.failures[step] = err
            finally:
                notify(self.listener, SyncFinished(report))
            return report

    def _lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.schedule.lease_seconds)

    def _push(
        self, deadline: Deadline, stop: threading.Event | None, retry_waiting: bool
    ) -> PushReport:
        cfg = self.settings.mileage
        client = self.mileage_client
        auth = self._tight_auth
        assert auth is not None
        outbox = self.store.outbox
        with HeldLease(
            self.store.leases,
            PUSH_LEASE,
            self._lease_ttl(),
            self.clock,
            busy=_push_busy,
            on_takeover=outbox.expire_claims,
        ) as lease:
            total = outbox.due_count(retry_waiting=retry_waiting)
            notify(self.listener, StepStarted("push", total))
            api = TightApi(
                cfg,
                client,
                clock=self.clock,
                budget=self.budget,
                deadline=deadline,
                rng=self._rng,
                on_headers=lambda: self._hook("after_send"),
            )
            sender = BatchSender(
                api, cfg, Schedule(api.policy, self.clock, self._rng, cfg.max_attempts)
            )
            pusher = Pusher(
                outbox,
                sender,
                lease,
                clock=self.clock,
                budget=self.budget,
                deadline=deadline,
                lease_for=timedelta(seconds=cfg.lease_seconds),
                listener=self.listener,
                hook=self._hook,
                retry_waiting=retry_waiting,
                total=total,
            )
            minted = auth.minted
            report = pusher.run(stop)
            report.requests = api.requests + auth.minted - minted
            return report

    def _pull_costs(self, deadline: Deadline, stop: threading.Event | None) -> PullReport:
        cfg = self.settings.costs
        context = read_context(cfg)
        tolerance = link_tolerance_of(cfg)
        client = self.costs_client
        with HeldLease(
            self.store.leases, PULL_LEASE, self._lease_ttl(), self.clock, busy=_pull_busy
        ) as lease:
            notify(self.listener, StepStarted("costs"))
            api = CostsApi(cfg, client, clock=self.clock, rng=self._rng, deadline=deadline)
            return CostsPull(
                self.store.costs,
                api,
                paginator_from_settings(cfg),
                lease,
                context=context,
                tolerance=tolerance,
                deadline=deadline,
                listener=self.listener,
                stop=stop,
            ).run()

    # ------------------------------------------------------------------ single jobs
    def refresh_cost(self, cost_id: int) -> RefreshReport:
        """Fetch one cost from the platform and store it (the pull's rules)."""
        cfg = self.settings.costs
        context = read_context(cfg)
        tolerance = link_tolerance_of(cfg)
        api = CostsApi(
            cfg, self.costs_client, clock=self.clock, rng=self._rng, deadline=Deadline(self.clock)
        )
        return refresh_cost(self.store.costs, api, cost_id, context=context, tolerance=tolerance)

    def preview(self) -> dict[str, Any]:
        """What the next push asked for by hand would send (token redacted); changes nothing."""
        return preview_push(self.settings, self.store)

    # ------------------------------------------------------------------ clients
    @property
    def mileage_client(self) -> httpx.Client:
        """The Tight client (built from settings on first use, with its auth flow)."""
        if "mileage" not in self._clients:
            cfg = self.settings.mileage
            self._tight_auth = TightAuth(
                cfg, clock=self.clock, provider=self._credentials, budget=self.budget
            )
            self._clients["mileage"] = build_client(
                cfg.url, cfg, transport=self._transport, auth=self._tight_auth, name="mileage"
            )
        return self._clients["mileage"]

    @property
    def costs_client(self) -> httpx.Client:
        """The costs client (built from settings on first use, with its auth flow)."""
        if "costs" not in self._clients:
            cfg = self.settings.costs
            auth = costs_auth(cfg, clock=self.clock, provider=self._costs_credentials)
            self._clients["costs"] = build_client(
                cfg.url, cfg, transport=self._transport, auth=auth, name="costs"
            )
        return self._clients["costs"]

    def close(self) -> None:
        """Close the HTTP clients this engine built."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> SyncEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _push_busy(held: LeaseInfo) -> str:
    if held.expires_at is None:
        return "sync already running; try again later"
    return (
        f"sync already running (held by {held.owner} until {held.expires_at:%H:%M:%S} UTC); "
        "try again later"
    )


def _pull_busy(held: LeaseInfo) -> str:
    return f"a costs pull is already running ({held.owner}); try again later"

"""The sync engine: one store, the remotes it syncs with, and one run that composes them.

``SyncEngine.run()`` is what the CLI, the daemon, the background service and an embedding
app all call. A run pulls the platform's costs, then pushes the journal to Tight; each step
under its own lease in the database (one pusher and one puller per database at a time),
each within the run's time budget. A step that fails is reported and the next one still
runs. docs/architecture.md shows how a change travels through it.
"""

from __future__ import annotations

import logging
import random
import threading
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import httpx

from sync.accountsettings import for_account
from sync.budget import SharedBudget
from sync.clock import Clock, SystemClock
from sync.costs.api import CostsApi
from sync.costs.auth import costs_auth
from sync.costs.mapping import link_tolerance_of, read_context
from sync.costs.pull import PULL_LEASE, CostsPull
from sync.costs.refresh import refresh_cost
from sync.costs.report import PullReport, RefreshReport
from sync.costs.strategies import paginator_from_settings
from sync.deadline import Deadline
from sync.errors import AlreadyRunningError, SyncError, TransientRemoteError
from sync.events import Listener, StepStarted, SyncFinished, SyncStarted, notify
from sync.http.client import build_client
from sync.http.credentials import CredentialsProvider
from sync.http.cutoff import CutOff
from sync.http.reach import Reachability
from sync.lease import HeldLease
from sync.owners import new_owner
from sync.preview import preview_run
from sync.report import SyncReport
from sync.settings import Settings
from sync.steps import run_steps
from sync.tight.api import TightApi
from sync.tight.auth import TightAuth
from sync.tight.batch import BatchSender, Schedule
from sync.tight.deduction import deduction_schedule
from sync.tight.fresh import FreshReads
from sync.tight.inbound import Decider
from sync.tight.pull import MileagePull, MileagePullReport
from sync.tight.push import Hook, Pusher
from sync.tight.report import PushReport
from sync.tight.window import window_start
from tracker.errors import StorageError, TrackerError
from tracker.leases import LeaseInfo
from tracker.liveness import alive
from tracker.store import Tracker

__all__ = ["MILEAGE_PULL_LEASE", "PUSH_LEASE", "SyncEngine"]

PUSH_LEASE = "push"
"""The lease of Tight's side of a run: one process pulls and pushes mileage at a time (on
SQLite; in fleet mode each worker pushes under a lease of its own, ``push:<owner>``)."""
MILEAGE_PULL_LEASE = "mileage-pull"
"""Fleet mode: the walk of Tight's records, one worker at a time (on SQLite the push lease
covers it)."""

log = logging.getLogger(__name__)


class SyncEngine:
    """Syncs one store. Build once; call :meth:`run` as often as needed (runs of one engine
    take turns; other processes are kept out by the leases). Close it when done.

    ``transport`` replaces the network for both remotes (an ``httpx`` transport: the
    sandbox in process, a test server); ``credentials`` / ``costs_credentials`` supply
    tokens on demand (``sync.http.credentials``); ``listener`` receives the run's events
    (``sync.events``); ``clock`` and ``rng`` drive every wait and jitter. ``account``
    (fleet mode): sync that account's trips only, with its credentials (read from where its
    references point, ``sync.accountsettings``) and its own request budget; None (the
    default) or ``default``: the implicit account, with the settings' credentials.
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
        account: str | None = None,
    ) -> None:
        if account is not None:
            settings, store = for_account(settings, store, account)
        self.settings = settings
        self.store = store
        self.clock = clock or SystemClock()
        self.listener = listener
        self._transport = transport
        self._credentials = credentials
        self._costs_credentials = costs_credentials
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.hook: Hook = hook or (lambda _point: None)
        # One window per Tight identity in the store: the daemon's runs, `tracker sync` and
        # an app on the same file share it, as the server's limit is per token.
        self.budget = SharedBudget.for_store(settings.mileage, store.grants, clock=self.clock)
        self._clients: dict[str, httpx.Client] = {}
        self._cutoff = CutOff()  # both clients' sockets: one interrupt() cuts them all
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
        connect_tries: int | None = None,
    ) -> SyncReport:
        """One sync run: pull (the platform's costs, then what changed on Tight), then push
        the journal.

        ``pull``: True pulls from every configured remote, False from none, None (the
        default) the costs when their API is configured, and Tight's records when two-way
        sync is on and the run does not push (a push reads Tight's copies of the trips it
        updates first anyway). ``budget``: seconds the run may take; it stops between
        batches and pages once spent, leaving everything consistent and resumable. ``stop``:
        set it to end the run after the batch or page under way. ``retry_waiting``: changes
        waiting for their retry time are sent too (a sync asked for by hand; the scheduler
        keeps to the schedule). ``connect_tries``: tries of a request whose server cannot be
        connected to (None: the API's retries); a server given up on is not tried again in
        the run, so an offline run ends at once with everything kept queued.

        Raises CorruptDatabaseError (and touches nothing) for a damaged file. A step's own
        failure (offline, refused, misconfigured, another process syncing) is in the
        report's ``failures``.
        """
        with self._lock:
            # Before the first write: a damaged file is never pushed from or pulled into.
            self.store.check_integrity()
            steps = run_steps(self.settings, push, pull)
            report = SyncReport(steps=steps)
            notify(self.listener, SyncStarted(steps))
            try:
                reach = Reachability(connect_tries)
                self._run_steps(
                    report, Deadline.after(self.clock, budget), stop, retry_waiting, reach
                )
                report.unreachable = reach.down
            finally:
                notify(self.listener, SyncFinished(report))
            return report

    def _run_steps(
        self,
        report: SyncReport,
        deadline: Deadline,
        stop: threading.Event | None,
        retry_waiting: bool,
        reach: Reachability,
    ) -> None:
        tight: _TightRun | None = None
        with ExitStack() as held:
            for step in report.steps:
                if stop is not None and stop.is_set():
                    report.stopped = "stop requested"
                    break
                if deadline.expired():
                    report.stopped = "the run's time budget is spent"
                    break
                try:
                    if step == "costs":
                        report.costs = self._pull_costs(deadline, stop, reach)
                        continue
                    if tight is None:  # Tight's steps share one lease: one writer of trips
                        lease = held.enter_context(self._push_lease())
                        # Before the first claim: others see at once if this process dies.
                        held.enter_context(alive(self.store.db, lease.owner))
                        tight = _TightRun(self, lease, deadline, reach)
                    if step == "mileage":
                        report.mileage = tight.pull(stop)
                    elif not _same_fate(report.failures.get("mileage")):
                        report.push = tight.push(stop, retry_waiting)
                        report.mileage = tight.pulled or report.mileage
                except (SyncError, TrackerError) as err:
                    report.failures[step] = err
                    if isinstance(err, StorageError):
                        break  # the database is every step's: the next would fail alike

    def _push_lease(self) -> HeldLease:
        # Fleet mode (PostgreSQL): workers push side by side, each under its own lease; the
        # claims' own leases and fences keep them apart (tracker.claims), and a dead worker's
        # claims return when their leases expire. The row goes with the run.
        fleet = self.store.db.postgres
        return HeldLease(
            self.store.leases,
            f"{PUSH_LEASE}:{new_owner()}" if fleet else PUSH_LEASE,
            self._lease_ttl(),
            self.clock,
            busy=_push_busy,
            on_takeover=self.store.outbox.expire_claims,
            forget=fleet,
        )

    def _lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.schedule.lease_seconds)

    def tight_api(self, deadline: Deadline, reach: Reachability | None = None) -> TightApi:
        """One run's view of Tight's API (the engine's client, budget and clock)."""
        return TightApi(
            self.settings.mileage,
            self.mileage_client,
            clock=self.clock,
            budget=self.budget,
            deadline=deadline,
            rng=self.rng,
            on_headers=lambda: self.hook("after_send"),
            reach=reach,
        )

    def _pull_costs(
        self, deadline: Deadline, stop: threading.Event | None, reach: Reachability
    ) -> PullReport:
        cfg = self.settings.costs
        context = read_context(cfg)
        tolerance = link_tolerance_of(cfg)
        client = self.costs_client
        # One costs pull per account at a time; accounts pull side by side.
        account = self.store.account
        name = _of_account(PULL_LEASE, account)
        with HeldLease(
            self.store.leases, name, self._lease_ttl(), self.clock, busy=_pull_busy
        ) as lease:
            notify(self.listener, StepStarted("costs"))
            api = CostsApi(
                cfg, client, clock=self.clock, rng=self.rng, deadline=deadline, reach=reach
            )
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

    def work_due(self) -> bool:
        """Whether a push run would find changes due now (a watchdog's question)."""
        return self.store.outbox.due_count() > 0

    # ------------------------------------------------------------------ single jobs
    def refresh_cost(self, cost_id: int) -> RefreshReport:
        """Fetch one cost from the platform and store it (the pull's rules)."""
        cfg = self.settings.costs
        context = read_context(cfg)
        tolerance = link_tolerance_of(cfg)
        api = CostsApi(
            cfg, self.costs_client, clock=self.clock, rng=self.rng, deadline=Deadline(self.clock)
        )
        return refresh_cost(
            self.store.costs,
            api,
            cost_id,
            context=context,
            tolerance=tolerance,
            treatments=cfg.treatments,
        )

    def preview(self, *, push: bool = True, pull: bool | None = False) -> dict[str, Any]:
        """What a run asked for by hand would send (token redacted); sends and changes nothing.

        ``push`` and ``pull`` mean what they mean for :meth:`run`. A pull cannot be played
        without asking the server, so its entries are the first request of each pull step,
        marked ``"pull": true``; the pages after it depend on the answers.
        """
        return preview_run(
            self.settings,
            self.store,
            run_steps(self.settings, push, pull),
            self.clock.wall().date(),
        )

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
                cfg.url,
                cfg,
                transport=self._transport,
                auth=self._tight_auth,
                name="mileage",
                cutoff=self._cutoff,
            )
        return self._clients["mileage"]

    @property
    def tight_auth(self) -> TightAuth:
        """The auth flow of the Tight client (its counter of minted tokens)."""
        _ = self.mileage_client
        assert self._tight_auth is not None
        return self._tight_auth

    @property
    def costs_client(self) -> httpx.Client:
        """The costs client (built from settings on first use, with its auth flow)."""
        if "costs" not in self._clients:
            cfg = self.settings.costs
            auth = costs_auth(cfg, clock=self.clock, provider=self._costs_credentials)
            self._clients["costs"] = build_client(
                cfg.url,
                cfg,
                transport=self._transport,
                auth=auth,
                name="costs",
                cutoff=self._cutoff,
            )
        return self._clients["costs"]

    def interrupt(self) -> None:
        """Cut every request under way (thread-safe; a stopping daemon's last resort): a
        blocked read returns at once, its outcome unknown, and no request starts until
        :meth:`resume`. The run under way then ends with everything kept for later."""
        self._cutoff.cut()

    def resume(self) -> None:
        """Allow requests again after :meth:`interrupt`."""
        self._cutoff.resume()

    def close(self) -> None:
        """Close the HTTP clients this engine built."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> SyncEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _same_fate(error: Exception | None) -> bool:
    """True when the mileage pull's failure would fail the push the same way (a refusal, a
    misconfiguration, the database): the push is then not tried. After a temporary failure
    it is (creates and deletes can go; updates wait for a read of their copies), and after
    another fleet worker's walk (a push reads the copies it updates itself)."""
    return error is not None and not isinstance(error, TransientRemoteError | AlreadyRunningError)


def _of_account(lease: str, account: str | None) -> str:
    """A lease of one account's work (each account walks its own records)."""
    return lease if account is None else f"{lease}:{account}"


def _walk_busy(held: LeaseInfo) -> str:
    return f"another worker ({held.owner}) is reading Tight's changes; this run only pushes"


def _push_busy(held: LeaseInfo) -> str:
    if held.expires_at is None:
        return "sync already running; try again later"
    return (
        f"sync already running (held by {held.owner} until {held.expires_at:%H:%M:%S} UTC); "
        "try again later"
    )


def _pull_busy(held: LeaseInfo) -> str:
    return f"a costs pull is already running ({held.owner}); try again later"


class _TightRun:
    """Tight's side of one run, under the push lease: the mileage pull, then the push, with
    one API (budgets, counters) and one merge state (the records read in this run)."""

    def __init__(
        self, engine: SyncEngine, lease: HeldLease, deadline: Deadline, reach: Reachability
    ) -> None:
        self.engine = engine
        self.lease = lease
        self.deadline = deadline
        self.api = engine.tight_api(deadline, reach)
        self.decider = Decider(engine.settings.mileage, engine.settings.sync_conflicts)
        self.pulled: MileagePullReport | None = None
        self.deduction = deduction_schedule(engine.settings)

    def _mileage(self, stop: threading.Event | None) -> MileagePull:
        engine = self.engine
        pull = MileagePull(
            engine.store,
            self.api,
            engine.settings.mileage,
            self.decider,
            deadline=self.deadline,
            listener=engine.listener,
            stop=stop,
            deduction=self.deduction,
        )
        if self.pulled is not None:
            pull.report = self.pulled  # one report for the walk and the reads before a push
        self.pulled = pull.report
        return pull

    def pull(self, stop: threading.Event | None) -> MileagePullReport:
        """Walk Tight's records of the open window and merge them."""
        engine = self.engine
        with ExitStack() as held:
            if engine.store.db.postgres:
                # Fleet mode: one walker at a time (the others push meanwhile).
                held.enter_context(
                    HeldLease(
                        engine.store.leases,
                        _of_account(MILEAGE_PULL_LEASE, engine.store.account),
                        engine._lease_ttl(),
                        engine.clock,
                        busy=_walk_busy,
                    )
                )
            notify(engine.listener, StepStarted("mileage"))
            since = window_start(engine.settings.mileage.pull_since, engine.clock.wall().date())
            return self._mileage(stop).walk(since)

    def push(self, stop: threading.Event | None, retry_waiting: bool) -> PushReport:
        """Read the server copies of the trips about to be updated, then push."""
        engine = self.engine
        cfg = engine.settings.mileage
        auth = engine.tight_auth
        minted = auth.minted
        outbox = engine.store.outbox
        updates: bool | FreshReads = True
        deduction = self.deduction
        if deduction is not None:
            # Before the updates are listed: a trip whose amount moved (a tier shift) is one.
            outbox.requeue_deductions(deduction)
        if cfg.two_way:
            # Each update is merged with a server copy read right before its batch.
            pending = outbox.due_updates(retry_waiting=retry_waiting)
            updates = FreshReads(pending, self._mileage(stop).refresh, cfg.batch_size)
        total = outbox.due_count(retry_waiting=retry_waiting)
        notify(engine.listener, StepStarted("push", total))
        before = self.api.requests
        schedule = Schedule(self.api.policy, engine.clock, engine.rng, cfg.max_attempts)
        pusher = Pusher(
            outbox,
            BatchSender(self.api, cfg, schedule),
            self.lease,
            clock=engine.clock,
            budget=engine.budget,
            deadline=self.deadline,
            lease_for=timedelta(seconds=cfg.lease_seconds),
            listener=engine.listener,
            hook=engine.hook,
            retry_waiting=retry_waiting,
            updates=updates,
            total=total,
            deduction=deduction,
        )
        report = pusher.run(stop)
        report.requests = self.api.requests - before + auth.minted - minted
        if isinstance(updates, FreshReads):
            report.updates_held = updates.unread
        return report

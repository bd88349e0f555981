"""Background sync: APScheduler jobs that run the engine, safe against clock steps.

Embedded in an app (``service.start()`` / ``service.stop()``; no blocking, no signal
handling) or run by the daemon. Jobs: push every ``push_interval`` seconds (each push reads
Tight's copies of the trips it updates first) and pull (costs, and what changed on Tight)
every ``pull_interval`` (interval triggers with jitter, coalesced, one instance each), plus a
debounced "sync soon" one-off push after local changes, the journal's gc every
``gc_interval`` (daily; ``sync.gc``: under the sync leases, so never beside a run), and
the full integrity check of the file every ``integrity_interval`` (on a thread of the
lowest CPU priority, in a read snapshot: it never holds a push up; a damaged file then
makes every run refuse). A watchdog (``sync.watchdog``) reschedules on wall-clock jumps
and notices other processes' commits.

Offline is normal: a failed run pushes the job's next run back with jittered exponential
backoff (capped), never gives up, and never spins.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.engine import SyncEngine
from sync.errors import AlreadyRunningError, AuthError
from sync.gc import collect_garbage
from sync.http.retry import RetryPolicy, next_attempt_at
from sync.watchdog import Watchdog, changes_of
from tracker.errors import TrackerError

__all__ = ["CHECK", "GC", "PULL", "PUSH", "SOON", "JobState", "ServiceState", "SyncService"]

log = logging.getLogger(__name__)

PUSH, PULL, SOON, GC, CHECK = "push", "pull", "push-soon", "gc", "integrity"

STOP_GRACE = 2.0
"""Seconds a stopping service lets the request in flight finish before cutting it."""


@dataclass
class JobState:
    """What the service knows about one job, for ``status``."""

    runs: int = 0
    failures: int = 0
    last_run_at: datetime | None = None
    last_error: str | None = None
    last_report: dict[str, Any] | None = None


@dataclass
class ServiceState:
    """Observable state of a running service."""

    push: JobState = field(default_factory=JobState)
    pull: JobState = field(default_factory=JobState)
    gc: JobState = field(default_factory=JobState)
    check: JobState = field(default_factory=JobState)
    clock_jumps: int = 0


class SyncService:
    """Runs ``engine`` in the background of the current process.

    Thread-safe: ``start``, ``stop`` and ``sync_soon`` may be called from any thread; the
    runs happen on the scheduler's threads (the engine's listener is called there).
    """

    def __init__(
        self,
        engine: SyncEngine,
        *,
        rng: random.Random | None = None,
        watch_interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.clock = engine.clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._watch_interval = watch_interval
        self._policy = RetryPolicy.from_settings(self.settings.mileage)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._scheduler: Any = None
        self._watchdog: Watchdog | None = None
        self.state = ServiceState()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the scheduler and the watchdog (returns at once)."""
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        with self._lock:
            if self._scheduler is not None:
                return
            schedule = self.settings.schedule
            self._stop.clear()
            self.engine.resume()
            scheduler = BackgroundScheduler(timezone="UTC")
            now = self._now()
            jobs = [(PUSH, self._run_push, schedule.push_interval)]
            mileage = self.settings.mileage
            if self.settings.costs.url or (mileage.two_way and mileage.url):
                jobs.append((PULL, self._run_pull, schedule.pull_interval))
            for job_id, run, interval in jobs:
                scheduler.add_job(
                    run,
                    IntervalTrigger(seconds=interval, jitter=schedule.jitter or None),
                    id=job_id,
                    next_run_time=now,  # a first run right away
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=max(1, int(interval)),
                    replace_existing=True,
                )
            scheduler.add_job(
                self._run_gc,
                IntervalTrigger(seconds=schedule.gc_interval, jitter=schedule.jitter or None),
                id=GC,
                # After the first push (gc and a run exclude each other: see sync.gc).
                next_run_time=now + timedelta(seconds=schedule.push_interval),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(schedule.gc_interval)),
                replace_existing=True,
            )
            if schedule.integrity_interval > 0:
                every = schedule.integrity_interval
                scheduler.add_job(
                    self._run_check,
                    IntervalTrigger(seconds=every),
                    id=CHECK,
                    next_run_time=now + timedelta(seconds=every),  # the open checked if due
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=max(1, int(every)),
                    replace_existing=True,
                )
            scheduler.start()
            self._scheduler = scheduler
            db = self.engine.store.db
            self._watchdog = Watchdog(
                lambda: changes_of(db),
                self.clock,
                self._stop,
                interval=self._watch_interval,
                on_jump=self._clock_jumped,
                on_change=self._changed_elsewhere,
            )
            self._watchdog.start()
        log.info("sync service started", extra={"push_every_s": schedule.push_interval})

    def stop(self, timeout: float = 30.0, grace: float = STOP_GRACE) -> None:
        """Stop scheduling; let a running batch finish (the run stops between batches), but
        cut its requests after ``grace`` seconds, whatever the server does (a silent or
        dripping server must not hold a SIGTERM up); release the leases. Safe to call twice."""
        self._stop.set()
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
            watchdog, self._watchdog = self._watchdog, None
        if scheduler is not None:
            cutter = threading.Timer(grace, self.engine.interrupt)
            cutter.daemon = True
            cutter.start()
            try:
                scheduler.shutdown(wait=True)
            finally:
                cutter.cancel()
        if watchdog is not None:
            watchdog.join(timeout)
        log.info("sync service stopped")

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._scheduler is not None

    def sync_soon(self) -> None:
        """Push in ``soon_delay`` seconds; calls within that delay fold into one run."""
        scheduler = self._scheduler
        if scheduler is None or self._stop.is_set():
            return
        if scheduler.get_job(SOON) is not None:
            return  # already coming
        when = self._now() + timedelta(seconds=self.settings.schedule.soon_delay)
        self._add_soon(scheduler, when)

    def next_runs(self) -> dict[str, datetime | None]:
        """Next scheduled run of each job (UTC)."""
        scheduler = self._scheduler
        if scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in scheduler.get_jobs()}

    # ------------------------------------------------------------------ jobs
    def _run_push(self) -> None:
        if self._run(PUSH, self.state.push, push=True, pull=False):
            self._follow_up()

    def _run_pull(self) -> None:
        self._run(PULL, self.state.pull, push=False, pull=True)

    def _run(self, job_id: str, state: JobState, *, push: bool, pull: bool) -> bool:
        """One run of the engine for a job; False when it failed (and was rescheduled)."""
        state.runs += 1
        state.last_run_at = self._now()
        try:
            report = self.engine.run(push=push, pull=pull, stop=self._stop)
        except Exception as err:  # a bug or a damaged file must not kill the scheduler thread
            log.exception("run failed unexpectedly", extra={"job": job_id})
            self._failed(job_id, state, err)
            return False
        error = next(iter(report.failures.values()), None)
        if isinstance(error, AlreadyRunningError):
            log.info("run skipped: another process is running it", extra={"job": job_id})
            return False
        if error is not None:
            self._failed(job_id, state, error)
            return False
        state.failures = 0
        state.last_error = None
        state.last_report = report.to_dict()
        pushed = report.push
        if pushed is not None and (pushed.synced or pushed.parked or pushed.deleted):
            done = {"synced": pushed.synced, "deleted": pushed.deleted}
            done |= {"parked": len(pushed.parked), "retry_later": pushed.retried}
            log.info("push done", extra=done)
        return True

    def _run_gc(self) -> None:
        """Compact the journal (no VACUUM: freed pages are reused by later writes). A sync
        under way defers it by a push interval; any other failure waits for the next day."""
        state = self.state.gc
        state.runs += 1
        state.last_run_at = self._now()
        try:
            report = collect_garbage(self.engine.store, self.settings, self.clock)
        except AlreadyRunningError:
            log.info("gc deferred: a sync is running")
            self._reschedule(
                GC, self._now() + timedelta(seconds=self.settings.schedule.push_interval)
            )
            return
        except Exception as err:  # a damaged or full disk must not kill the scheduler thread
            log.warning("gc failed: %s; next try at the next gc interval", err)
            state.failures += 1
            state.last_error = str(err)
            return
        state.failures = 0
        state.last_error = None
        state.last_report = report.to_dict()
        log.info("gc: %d entries and %d history rows removed", report.entries, report.events)

    def _run_check(self) -> None:
        """The periodic full integrity check. A damaged file is remembered by the store:
        every run then refuses (CorruptDatabaseError) until a full check passes."""
        state = self.state.check
        state.runs += 1
        state.last_run_at = self._now()
        try:
            at_low_priority(self.engine.store.verify_integrity)
        except TrackerError as err:
            state.failures += 1
            state.last_error = str(err)
            log.error("integrity check failed: %s", err)
            return
        state.failures = 0
        state.last_error = None
        log.info("integrity check passed")

    def _failed(self, job_id: str, state: JobState, err: BaseException) -> None:
        """Push the job's next run back with backoff: offline costs one attempt per slot."""
        state.failures += 1
        state.last_error = str(err)
        level = logging.ERROR if isinstance(err, AuthError) else logging.WARNING
        at = next_attempt_at(self._policy, state.failures, self._now(), None, self._rng)
        schedule = self.settings.schedule
        interval = schedule.push_interval if job_id == PUSH else schedule.pull_interval
        at = max(at, self._now() + timedelta(seconds=interval))
        log.log(
            level,
            "%s failed (%d in a row): %s; next try at %s",
            job_id,
            state.failures,
            err,
            at.isoformat(timespec="seconds"),
        )
        self._reschedule(job_id, at)

    def _follow_up(self) -> None:
        """Entries waiting for a retry sooner than the next interval get a run of their own."""
        due = self.engine.store.journal.next_attempt_at()
        scheduler = self._scheduler
        if due is None or scheduler is None:
            return
        job = scheduler.get_job(PUSH)
        if job is not None and job.next_run_time is not None and due < job.next_run_time:
            self._add_soon(scheduler, max(due, self._now()))

    def _add_soon(self, scheduler: Any, when: datetime) -> None:
        scheduler.add_job(
            self._run_push,
            "date",
            run_date=when,
            id=SOON,
            replace_existing=True,
            misfire_grace_time=60,
        )

    def _reschedule(self, job_id: str, at: datetime) -> None:
        scheduler = self._scheduler
        job = None if scheduler is None else scheduler.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=at)

    # ------------------------------------------------------------------ watchdog
    def _changed_elsewhere(self) -> None:
        if self.engine.work_due():
            self.sync_soon()

    def _clock_jumped(self, drift: float) -> None:
        """Reschedule every job from the new wall clock (APScheduler would stall)."""
        self.state.clock_jumps += 1
        log.warning("wall clock jumped; rescheduling sync jobs", extra={"jump_s": round(drift)})
        scheduler = self._scheduler
        if scheduler is None:
            return
        now = self._now()
        schedule = self.settings.schedule
        for job_id, interval in (
            (PUSH, schedule.push_interval),
            (PULL, schedule.pull_interval),
            (GC, schedule.gc_interval),
        ):
            job = scheduler.get_job(job_id)
            if job is None:
                continue
            nxt = job.next_run_time
            limit = now + timedelta(seconds=interval)
            if nxt is None or nxt > limit:
                job.modify(next_run_time=limit)
        scheduler.wakeup()

    def _now(self) -> datetime:
        return self.clock.wall()


def at_low_priority(work: Callable[[], None]) -> None:
    """Run ``work`` on a new thread of the lowest CPU priority and wait for it; its error is
    raised here. On Linux the priority is the thread's own (elsewhere it would be the whole
    process's, so it is left as it is)."""
    errors: list[BaseException] = []

    def body() -> None:
        if sys.platform == "linux":
            # Not allowed here (a sandbox, a container): run at the normal priority.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        try:
            work()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=body, name="tracker-integrity", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]

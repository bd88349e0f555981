"""Background sync: APScheduler jobs around ``SyncEngine``, safe against clock steps.

Embedded in an app (``service.start()`` / ``service.stop()``; no blocking, no signal
handling) or run by the daemon. Jobs: push every ``push_interval`` seconds and pull every
``pull_interval`` (interval triggers with jitter, coalesced, one instance each), plus a
debounced "sync soon" one-off job after local changes.

Why a watchdog thread: APScheduler 3.11 computes its next wake-up from the wall clock, so a
wall clock stepped back by an hour stalls an interval job for that hour. The watchdog ticks
on the monotonic clock (``Event.wait``), compares the wall clock's progress with it, and on a
jump reschedules every job and wakes the scheduler. It also polls ``PRAGMA data_version`` so
changes committed by *another* process (the CLI, the app) trigger a push within seconds.

Offline is normal: a failed run pushes the job's next run back with jittered exponential
backoff (capped), never gives up, and never spins.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.backoff import RetryPolicy, next_attempt_at
from sync.clock import Clock, SystemClock
from sync.engine import SyncEngine
from sync.errors import AlreadyRunningError, AuthError, SyncError
from sync.settings import Settings
from tracker.errors import TrackerError
from tracker.store import Tracker

log = logging.getLogger(__name__)

PUSH, PULL, SOON = "push", "pull", "push-soon"
JUMP_TOLERANCE = 2.0  # seconds of disagreement between wall and monotonic progress


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
    clock_jumps: int = 0


class SyncService:
    """Runs sync in the background of the current process."""

    def __init__(
        self,
        settings: Settings,
        store: Tracker,
        *,
        engine: SyncEngine | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        pull: Callable[[threading.Event], dict[str, Any]] | None = None,
        watch_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or SystemClock()
        self.engine = engine or SyncEngine(settings, store, clock=self.clock)
        self._owns_engine = engine is None
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._pull = pull
        self._watch_interval = watch_interval
        self._policy = RetryPolicy.from_settings(settings.mileage)
        self._stop = threading.Event()
        self._scheduler: Any = None
        self._watchdog: threading.Thread | None = None
        self.state = ServiceState()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the scheduler and the watchdog (returns at once)."""
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        schedule = self.settings.schedule
        self._stop.clear()
        scheduler = BackgroundScheduler(timezone=UTC)
        now = self._now()
        scheduler.add_job(
            self._run_push,
            IntervalTrigger(seconds=schedule.push_interval, jitter=schedule.jitter or None),
            id=PUSH,
            next_run_time=now,  # a first push right away
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(schedule.push_interval)),
            replace_existing=True,
        )
        if self._pull is not None:
            scheduler.add_job(
                self._run_pull,
                IntervalTrigger(seconds=schedule.pull_interval, jitter=schedule.jitter or None),
                id=PULL,
                next_run_time=now,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(schedule.pull_interval)),
                replace_existing=True,
            )
        scheduler.start()
        self._scheduler = scheduler
        self._watchdog = threading.Thread(target=self._watch, name="sync-watchdog", daemon=True)
        self._watchdog.start()
        log.info("sync service started: push every %ss", schedule.push_interval)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling; let a running batch finish (the pusher stops between batches),
        release the lease. Safe to call twice."""
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._watchdog is not None:
            self._watchdog.join(timeout)
            self._watchdog = None
        if self._owns_engine:
            self.engine.close()
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
        scheduler.add_job(
            self._run_push,
            "date",
            run_date=when,
            id=SOON,
            replace_existing=True,
            misfire_grace_time=60,
        )

    def next_runs(self) -> dict[str, datetime | None]:
        """Next scheduled run of each job (UTC)."""
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    # ------------------------------------------------------------------ jobs
    def _run_push(self) -> None:
        state = self.state.push
        state.runs += 1
        state.last_run_at = self._now()
        try:
            report = self.engine.push(stop=self._stop)
        except AlreadyRunningError:
            log.info("push skipped: another process is pushing")
            return
        except (SyncError, TrackerError) as err:
            self._failed(PUSH, state, err)
            return
        except Exception:  # a bug must not kill the scheduler thread: log, back off
            log.exception("push run failed unexpectedly")
            self._failed(PUSH, state, RuntimeError("internal error, see the log"))
            return
        state.failures = 0
        state.last_error = None
        state.last_report = report.to_dict()
        if report.synced or report.parked or report.deleted:
            log.info(
                "pushed %d, deleted %d, parked %d, retry later %d",
                report.synced,
                report.deleted,
                len(report.parked),
                report.retried,
            )
        self._follow_up()

    def _run_pull(self) -> None:
        state = self.state.pull
        state.runs += 1
        state.last_run_at = self._now()
        assert self._pull is not None
        try:
            state.last_report = self._pull(self._stop)
        except (SyncError, TrackerError) as err:
            self._failed(PULL, state, err)
            return
        except Exception:
            log.exception("pull run failed unexpectedly")
            self._failed(PULL, state, RuntimeError("internal error, see the log"))
            return
        state.failures = 0
        state.last_error = None

    def _failed(self, job_id: str, state: JobState, err: BaseException) -> None:
        """Push the job's next run back with backoff: offline costs one attempt per slot."""
        state.failures += 1
        state.last_error = str(err)
        level = logging.ERROR if isinstance(err, AuthError) else logging.WARNING
        at = next_attempt_at(self._policy, state.failures, self._now(), None, self._rng)
        interval = (
            self.settings.schedule.push_interval
            if job_id == PUSH
            else self.settings.schedule.pull_interval
        )
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
        due = self.store.next_attempt_at()
        scheduler = self._scheduler
        if due is None or scheduler is None:
            return
        job = scheduler.get_job(PUSH)
        if job is not None and job.next_run_time is not None and due < job.next_run_time:
            scheduler.add_job(
                self._run_push,
                "date",
                run_date=max(due, self._now()),
                id=SOON,
                replace_existing=True,
                misfire_grace_time=60,
            )

    def _reschedule(self, job_id: str, at: datetime) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        job = scheduler.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=at)

    # ------------------------------------------------------------------ watchdog
    def _watch(self) -> None:
        last_wall, last_mono = time.time(), time.monotonic()
        version = _DataVersion(self.store.path)
        try:
            while not self._stop.wait(self._watch_interval):
                wall, mono = time.time(), time.monotonic()
                drift = (wall - last_wall) - (mono - last_mono)
                last_wall, last_mono = wall, mono
                if abs(drift) > JUMP_TOLERANCE:
                    self._clock_jumped(drift)
                if version.changed() and self.store.peek(1):
                    self.sync_soon()
        except Exception:  # the watchdog must never take the process down
            log.exception("sync watchdog stopped")
        finally:
            version.close()

    def _clock_jumped(self, drift: float) -> None:
        """Reschedule every job from the new wall clock (APScheduler would stall)."""
        self.state.clock_jumps += 1
        log.warning("wall clock jumped by %+.0f s; rescheduling sync jobs", drift)
        scheduler = self._scheduler
        if scheduler is None:
            return
        now = self._now()
        schedule = self.settings.schedule
        for job_id, interval in ((PUSH, schedule.push_interval), (PULL, schedule.pull_interval)):
            job = scheduler.get_job(job_id)
            if job is None:
                continue
            nxt = job.next_run_time
            limit = now + timedelta(seconds=interval)
            if nxt is None or nxt > limit:
                job.modify(next_run_time=limit)
        scheduler.wakeup()

    def _now(self) -> datetime:
        return datetime.now(UTC)


class _DataVersion:
    """``PRAGMA data_version`` on a private read-only connection: it changes when another
    connection commits a change to the file."""

    def __init__(self, path: Any) -> None:
        self._con: sqlite3.Connection | None
        try:
            self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._last = self._read()
        except sqlite3.Error:
            self._con = None
            self._last = 0

    def _read(self) -> int:
        assert self._con is not None
        return int(self._con.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        if self._con is None:
            return False
        try:
            now = self._read()
        except sqlite3.Error:
            return False
        changed, self._last = now != self._last, now
        return changed

    def close(self) -> None:
        if self._con is not None:
            self._con.close()

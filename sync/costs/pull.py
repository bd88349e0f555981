"""The costs pull: the platform's additional costs, page by page, into the local store.

A run walks ``GET /v1/additional-costs/list`` with the configured paging strategy
(``sync.costs.pager``), validates each item on its own (a bad item is quarantined, its
page-mates stored) and stores each page with the pager's checkpoint in one transaction
(``store.costs``). A run killed or failing at page 37 resumes at page 37; only a complete
walk marks costs missing from the list as not seen. The next page is fetched while this one
is stored. The rules are in docs/costs.md.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import timedelta

from sync.ahead import Ahead
from sync.costs.api import CostsApi, Params
from sync.costs.mapping import read_item
from sync.costs.pager import CheckpointMismatchError, Paginator, walk
from sync.costs.pages import PageResult
from sync.costs.report import PullReport
from sync.costs.wire import ReadContext
from sync.deadline import Deadline
from sync.errors import AlreadyRunningError, SyncError, TransientRemoteError
from sync.events import Listener, Progress, notify
from sync.lease import HeldLease
from tracker.costs import CostIn, CostStore, PullStart, QuarantineIn
from tracker.errors import StateError, TrackerError

__all__ = ["PULL_LEASE", "STEP", "CostsPull", "Prefetch"]

log = logging.getLogger(__name__)

STEP = "costs"
PULL_LEASE = "pull"


class CostsPull:
    """One pull run: walk the pages, store each with its checkpoint, close the run."""

    def __init__(
        self,
        costs: CostStore,
        api: CostsApi,
        pager: Paginator,
        lease: HeldLease,
        *,
        context: ReadContext,
        tolerance: timedelta,
        deadline: Deadline,
        listener: Listener | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self._costs = costs
        self._api = api
        self._pager = pager
        self._lease = lease
        self._context = context
        self._tolerance = tolerance
        self._deadline = deadline
        self._listener = listener
        self._stop = stop
        self.report = PullReport()

    def run(self) -> PullReport:
        """Walk from the checkpoint (or the first page) to the end of the list, a guard, a
        stop, the time budget or a lost lease. Raises AlreadyRunningError when another
        process restarted the pull meanwhile."""
        try:
            with Ahead("costs-prefetch") as worker:
                self._walk(Prefetch(worker, self._api.page_once, self._api.page, self._api.backoff))
        except StateError as err:
            raise AlreadyRunningError(str(err)) from None
        finally:
            self.report.requests, self.report.retries = self._api.requests, self._api.retries
        return self.report

    def _walk(self, fetch: Prefetch) -> None:
        run = self._start()
        try:
            self._pages(run, fetch)
        except (TrackerError, SyncError):
            # Pages that changed nothing wait for a checkpoint (CostStore.store_page): keep
            # them, so the next pull resumes after the last page read. Best effort: the
            # store (or the run) may be what failed.
            with contextlib.suppress(TrackerError):
                self._costs.save_progress(run_id=run.run_id)
            raise

    def _pages(self, run: PullStart, fetch: Prefetch) -> None:
        pager, report = self._pager, self.report
        for page in walk(pager, fetch):
            if not pager.finished:
                fetch.ahead(pager.next_params())
            self._store(run.run_id, page)
            if self._stop is not None and self._stop.is_set():
                report.stopped = "stop requested; the next pull resumes after the last page"
                self._costs.save_progress(run_id=run.run_id)
                return
            if self._deadline.expired():
                report.stopped = "the run's time budget is spent; the next pull resumes here"
                self._costs.save_progress(run_id=run.run_id)
                return
            if not self._lease.keep():
                report.stopped = "lost the pull lease to another process"
                return
        reason = None if pager.stop_reason is None else str(pager.stop_reason)
        finished = self._costs.finish_run(
            run_id=run.run_id, complete=pager.complete, stop_reason=reason
        )
        report.complete = pager.complete
        report.stop_reason = reason
        report.marked_not_seen = finished.marked_not_seen
        report.quarantine_cleared = finished.quarantine_cleared
        report.warning = pager.warning()
        if report.warning:
            log.warning("%s", report.warning)

    def _start(self) -> PullStart:
        """Begin a run, resuming the stored checkpoint when it fits the current settings."""
        run = self._costs.begin_run()
        if run.checkpoint is None:
            return run
        pager = self._pager
        try:
            pager.restore(run.checkpoint)
        except CheckpointMismatchError as err:
            log.warning("starting the pull over: %s", err)
            pager.reset()
            return self._costs.begin_run(fresh=True)
        if not pager.finished:
            self.report.resumed_at = dict(pager.next_params())
            log.info("resuming the costs pull at %s", self.report.resumed_at)
        return run

    def _store(self, run_id: str, page: PageResult) -> None:
        costs: list[CostIn] = []
        rejects: list[QuarantineIn] = []
        for item in page.items:
            read = read_item(item, self._context)
            if isinstance(read, CostIn):
                costs.append(read)
            else:
                log.warning("cost %s quarantined: %s", read.cost_id, read.reason)
                rejects.append(read)
        pager = self._pager
        stored = self._costs.store_page(
            costs,
            rejects,
            run_id=run_id,
            checkpoint=pager.state(),
            pages=pager.pages_read,
            items=pager.items_read,
            link_tolerance=self._tolerance,
        )
        for reject in stored.refused:
            log.warning("cost %s quarantined: %s", reject.cost_id, reject.reason)
        if stored.repeated:
            log.warning(
                "cost IDs %s came more than once on one page: one copy per ID is stored (the "
                "newest LastUpdated, the later copy on a tie); a quarantined copy stays",
                ", ".join(stored.repeated[:20]),
            )
        self.report.add(stored, rejects, len(page.items))
        notify(self._listener, Progress(STEP, pager.items_read, page.total, "costs"))


class Prefetch:
    """Fetches the next page on ``worker`` while the current one is validated and stored.

    At most one page is fetched ahead, with a single attempt (``once``) and no waiting; it
    is used only when the walk asks for exactly its parameters. Every wait happens in the
    walk's own thread: after a temporary failure of the page fetched ahead the walk waits one
    backoff delay (``backoff``, counted as a retry), then fetches the page as usual
    (``retrying``, with its in-run retries); any other failure is raised as is. A page
    fetched for nothing (stop, lease lost, error) is dropped.
    """

    def __init__(
        self,
        worker: Ahead,
        once: Callable[[Params], PageResult],
        retrying: Callable[[Params], PageResult],
        backoff: Callable[[TransientRemoteError], None],
    ) -> None:
        self._worker = worker
        self._once = once
        self._retrying = retrying
        self._backoff = backoff
        self._fetched: tuple[Params, Future[PageResult]] | None = None

    def ahead(self, params: Params) -> None:
        """Start fetching the page with ``params`` (dropping any other page fetched ahead)."""
        self._fetched = (dict(params), self._worker.start(self._once, params))

    def __call__(self, params: Params) -> PageResult:
        fetched, self._fetched = self._fetched, None
        if fetched is not None and fetched[0] == params:
            try:
                return fetched[1].result()
            except AlreadyRunningError:
                raise
            except TransientRemoteError as err:
                self._backoff(err)
        return self._retrying(params)

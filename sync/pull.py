"""The pull engine: the platform's additional costs, page by page, into the local store.

One run walks ``GET /v1/additional-costs/list`` with the configured paging strategy
(``sync.pager``), validates each item on its own (``sync.wire.costs``) and stores each page
with its checkpoint (``tracker.costs.store_page``). The rules (resuming, quarantine, not seen,
transport and exit codes) are in docs/costs.md.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import tenacity

from sync.backoff import RetryPolicy, build_retrying, next_delay, parse_retry_after
from sync.client import NotSent, Reply, build_client, send
from sync.clock import Clock, SystemClock
from sync.errors import (
    AlreadyRunningError,
    AuthError,
    ConfigError,
    EndpointMissingError,
    PermanentRemoteError,
    ProtocolError,
    TransientRemoteError,
)
from sync.owners import dead_here, new_owner
from sync.pager import (
    CheckpointMismatchError,
    PageResult,
    Paginator,
    Params,
    decode_page,
    paginator_from_settings,
    walk,
)
from sync.settings import CostsSettings, Settings
from sync.wire.costs import ReadContext, loads_exact, read_item
from tracker import costs as local
from tracker.costs import CostIn, QuarantineIn, StoredPage
from tracker.costviews import CostView
from tracker.errors import InvalidInputError, StateError
from tracker.store import Tracker

__all__ = [
    "ITEM_PATH",
    "LIST_PATH",
    "PULL_LEASE",
    "PullReport",
    "RefreshReport",
    "pull_costs",
    "refresh_cost",
]

log = logging.getLogger(__name__)

LIST_PATH = "/v1/additional-costs/list"
ITEM_PATH = "/v1/additional-costs/{cost_id}"
PULL_LEASE = "pull"
DEFAULT_LEASE_SECONDS = 120.0
MAX_LISTED = 50
"""Ambiguous links and quarantine reasons listed in a report (the counts are complete)."""

Progress = Callable[[str, int], None]
"""``progress(event, n)``: ("resumed", page number), ("page", items), ("done", total items)."""


@dataclass
class PullReport:
    """What one pull run did. Counts cover this run (a resumed run: since it resumed)."""

    pages: int = 0
    items: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    quarantined: int = 0
    resolved: int = 0
    linked_by_guid: int = 0
    linked_by_time: int = 0
    unlinked: int = 0
    ambiguous: int = 0
    ambiguous_costs: list[dict[str, Any]] = field(default_factory=list)
    quarantine_reasons: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    resumed_at: dict[str, Any] | None = None
    """The request parameters the run resumed at, when it resumed an interrupted walk."""
    complete: bool = False
    stop_reason: str | None = None
    warning: str | None = None
    marked_not_seen: int = 0
    quarantine_cleared: int = 0
    stopped: str | None = None
    """Why the run stopped before the end of the list (stop requested, lease lost)."""

    def add(self, stored: StoredPage, rejects: Sequence[QuarantineIn], items: int) -> None:
        """Count one stored page."""
        self.pages += 1
        self.items += items
        self.inserted += stored.inserted
        self.updated += stored.updated
        self.unchanged += stored.unchanged
        self.stale += stored.stale
        self.quarantined += stored.quarantined
        self.resolved += stored.resolved
        self.linked_by_guid += stored.linked_by_guid
        self.linked_by_time += stored.linked_by_time
        self.unlinked += stored.unlinked
        self.ambiguous += len(stored.ambiguous)
        for link in stored.ambiguous[: MAX_LISTED - len(self.ambiguous_costs)]:
            self.ambiguous_costs.append({"cost_id": link.cost_id, "trip_ids": list(link.trip_ids)})
        for reject in rejects[: MAX_LISTED - len(self.quarantine_reasons)]:
            self.quarantine_reasons.append({"cost_id": reject.cost_id, "reason": reject.reason})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "pages": self.pages,
            "items": self.items,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "quarantined": self.quarantined,
            "resolved": self.resolved,
            "linked_by_guid": self.linked_by_guid,
            "linked_by_time": self.linked_by_time,
            "unlinked": self.unlinked,
            "ambiguous": self.ambiguous,
            "ambiguous_costs": list(self.ambiguous_costs),
            "quarantine_reasons": list(self.quarantine_reasons),
            "requests": self.requests,
            "retries": self.retries,
            "resumed_at": self.resumed_at,
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "warning": self.warning,
            "marked_not_seen": self.marked_not_seen,
            "quarantine_cleared": self.quarantine_cleared,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class RefreshReport:
    """What refreshing one cost did: ``outcome`` is inserted, updated, unchanged, stale,
    quarantined or gone (the platform no longer has it; kept locally, marked not seen)."""

    cost_id: int
    outcome: str
    reason: str | None
    cost: CostView | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "cost_id": self.cost_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "cost": None if self.cost is None else self.cost.to_json(),
        }


# ---------------------------------------------------------------- transport


class _CostsApi:
    """GET requests to the business-mobile API with auth, deadline and in-run retries."""

    def __init__(
        self,
        cfg: CostsSettings,
        client: httpx.Client,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self._cfg = cfg
        self._client = client
        self._clock = clock
        self.requests = 0
        self.retries = 0
        self._auth = _auth_header(cfg)
        policy = RetryPolicy.from_settings(cfg)
        self._policy, self._rng = policy, rng
        self._retrying = build_retrying(
            policy, rng=rng, sleep=clock.sleep, before_sleep=self._before_sleep
        )

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning("costs request failed (%s); retrying in %.1f s", error, state.upcoming_sleep)

    def get(self, path: str) -> Reply:
        """One GET, retried in-run while the failure is temporary; 401/403 raise AuthError."""
        reply: Reply = self._retry(self._once, path)
        return reply

    def page(self, params: Params) -> PageResult:
        """One page of the list, decoded (items still raw); retried like :meth:`get`."""
        page: PageResult = self._retry(self._page_once, params)
        return page

    def page_once(self, params: Params) -> PageResult:
        """One page, one attempt (the page fetched ahead): failures are the caller's."""
        return self._page_once(params)

    def backoff(self, error: TransientRemoteError) -> None:
        """Wait as after a first failed try (honouring Retry-After), counted as a retry."""
        self.retries += 1
        delay = next_delay(self._policy, 1, error.retry_after, self._rng)
        log.warning("costs request failed (%s); retrying in %.1f s", error, delay)
        self._clock.sleep(delay)

    def _retry(self, call: Callable[[Any], Any], argument: Any) -> Any:
        try:
            return self._retrying(call, argument)
        except NotSent as err:
            raise NotSent(
                f"cannot reach the costs server ({err}); nothing was changed: "
                "the next pull resumes where this one stopped"
            ) from None

    def _page_once(self, params: Params) -> PageResult:
        url = f"{LIST_PATH}?{urlencode(params)}"
        reply = self._once(url)
        if reply.status == 404:
            raise EndpointMissingError(
                f"the costs list answered 404 ({url}); check TRACKER_COSTS_URL "
                "(it should end in /api/business-mobile)"
            )
        if reply.status == 400:
            raise ConfigError(
                f"the costs list refused the page request {params} (HTTP 400: "
                f"{_server_words(reply)}); check TRACKER_COSTS_PAGING and the parameter names"
            )
        _refuse_other_4xx(reply, url)
        cfg = self._cfg
        return decode_page(
            reply.status,
            reply.headers,
            _exact_body(reply, url),
            items_key=cfg.items_key,
            total_key=cfg.total_key,
            has_next_key=cfg.has_next_key,
            total_header=cfg.total_header,
        )

    def _once(self, url: str) -> Reply:
        self.requests += 1
        reply = send(
            self._client,
            "GET",
            url,
            clock=self._clock,
            deadline=self._cfg.deadline,
            headers=self._auth,
        )
        if reply.status in (401, 403):
            what = "refused access (403)" if reply.status == 403 else "refused the token (401)"
            raise AuthError(
                f"the costs server {what}: {_server_words(reply)}; set a valid "
                "TRACKER_COSTS_TOKEN (and TRACKER_COSTS_AUTH_HEADER / _AUTH_SCHEME if the "
                "platform expects another header); local costs are unchanged"
            )
        if reply.status == 429 or reply.status >= 500:
            parsed = parse_retry_after(reply.headers.get("retry-after"), self._clock.wall())
            raise TransientRemoteError(
                f"GET {url}: HTTP {reply.status}",
                retry_after=None if parsed is None else parsed.seconds,
            )
        return reply


def _auth_header(cfg: CostsSettings) -> dict[str, str]:
    if cfg.token is None or not cfg.token.get_secret_value():
        raise AuthError("no token for the costs API: set TRACKER_COSTS_TOKEN")
    if not cfg.auth_header.strip():
        raise ConfigError("TRACKER_COSTS_AUTH_HEADER is empty: name the header for the token")
    token = cfg.token.get_secret_value()
    return {cfg.auth_header.strip(): f"{cfg.auth_scheme} {token}" if cfg.auth_scheme else token}


def _exact_body(reply: Reply, url: str) -> Any:
    if reply.status == 204 and not reply.raw.strip():
        return None
    try:
        return loads_exact(reply.raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(
            f"GET {url}: HTTP {reply.status} with a body that is not JSON ({len(reply.raw)} bytes)"
        ) from None


def _refuse_other_4xx(reply: Reply, url: str) -> None:
    if 400 <= reply.status < 500 and reply.status != 429:
        # Not retried: a 405 or 410 will not change by asking again.
        raise PermanentRemoteError(f"GET {url}: HTTP {reply.status} ({_server_words(reply)})")


def _server_words(reply: Reply) -> str:
    """The platform's negative response (``{"Error": "err_...", "Message": ...}``), short."""
    body = reply.body
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("Error", "Message") if isinstance(body.get(k), str)]
        if parts:
            return ": ".join(parts)[:200]
    return "no details"


# ---------------------------------------------------------------- the pull


def pull_costs(
    settings: Settings | CostsSettings,
    store: Tracker,
    client: httpx.Client | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
    *,
    rng: random.Random | None = None,
    stop: threading.Event | None = None,
) -> PullReport:
    """Pull every additional cost into ``store``; resumes an interrupted pull where it stopped.

    ``client`` defaults to one built from the settings (and closed afterwards); ``clock``
    to the system clock; ``stop`` ends the run after the page being stored (resumable).
    Raises AuthError (exit 77), EndpointMissingError (69), ConfigError (78),
    AlreadyRunningError when another process is pulling, and other TransientRemoteErrors
    (75: offline, 5xx, 429, malformed pages) once in-run retries are spent; the checkpoint
    then stays at the last stored page.
    """
    cfg = settings.costs if isinstance(settings, Settings) else settings
    seconds = (
        settings.schedule.lease_seconds if isinstance(settings, Settings) else DEFAULT_LEASE_SECONDS
    )
    lease_ttl = timedelta(seconds=seconds)
    clock = clock or SystemClock()
    context = read_context(cfg)
    tolerance = _tolerance(cfg)
    report = PullReport()
    owned = client is None
    http = client if client is not None else build_client(cfg.url, cfg)
    try:
        api = _CostsApi(cfg, http, clock, rng or random.Random())  # noqa: S311 - jitter
        owner = new_owner()
        fence = _take_lease(store, owner, lease_ttl)
        try:
            _Run(
                store=store,
                pager=paginator_from_settings(cfg),
                api=api,
                context=context,
                tolerance=tolerance,
                report=report,
                notify=progress or (lambda _event, _n: None),
                stop=stop,
                keep_lease=_Renewal(store, owner, fence, lease_ttl, clock).keep,
            ).walk()
        except StateError as err:
            raise AlreadyRunningError(str(err)) from None
        finally:
            report.requests, report.retries = api.requests, api.retries
            store.release_lease(PULL_LEASE, owner, fence)
    finally:
        if owned:
            http.close()
    return report


@dataclass(frozen=True)
class _ReadPage:
    """A page's items validated one by one: the costs to store, the items to quarantine."""

    costs: list[CostIn]
    rejects: list[QuarantineIn]


def _read_page(items: list[Any], context: ReadContext) -> _ReadPage:
    costs: list[CostIn] = []
    rejects: list[QuarantineIn] = []
    for item in items:
        read = read_item(item, context)
        if isinstance(read, CostIn):
            costs.append(read)
        else:
            rejects.append(read)
    return _ReadPage(costs, rejects)


class _Ahead:
    """One page fetched on a daemon thread: its parameters, then its page or its error."""

    def __init__(self, params: Params, fetch: Callable[[Params], PageResult]) -> None:
        self.params = dict(params)
        self.page: PageResult | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._fetch = fetch
        threading.Thread(target=self._run, name="costs-prefetch", daemon=True).start()

    def _run(self) -> None:
        try:
            self.page = self._fetch(self.params)
        except BaseException as err:  # handed to the walk, which raises or retries it
            self.error = err
        finally:
            self._done.set()

    def result(self) -> PageResult | BaseException:
        """Wait for the fetch: the page, or the exception it raised."""
        self._done.wait()
        if self.page is not None:
            return self.page
        return self.error or RuntimeError("the page fetched ahead ended without a result")


class _Prefetch:
    """Fetches (and decodes) the next page while the current one is validated and stored.

    At most one page is fetched ahead, with a single attempt and no waiting; it is used only
    when the walk asks for exactly its parameters. Every wait happens in the walk's own
    thread: after a temporary failure of the page fetched ahead the walk waits one backoff
    delay (counted as a retry), then fetches the page as usual, with its in-run retries;
    any other failure is raised as is. The checkpoint semantics are unchanged (the page before
    is stored by then). A page fetched for nothing (stop, lease lost, error) is dropped; its
    daemon thread ends with its one request (bounded by the deadline).

    This overlaps the server's answer with validating and storing (bench/pull.py). Items are
    validated in the walk's thread, not here: the threads share one GIL, so validating ahead
    saved no CPU time and put it on the path of every page (request, answer, validation,
    before the next request could go out).
    """

    def __init__(
        self,
        once: Callable[[Params], PageResult],
        retrying: Callable[[Params], PageResult],
        backoff: Callable[[TransientRemoteError], None],
    ) -> None:
        self._once = once
        self._retrying = retrying
        self._backoff = backoff
        self._ahead: _Ahead | None = None

    def ahead(self, params: Params) -> None:
        """Start fetching the page with ``params`` (dropping any other page fetched ahead)."""
        self._ahead = _Ahead(params, self._once)

    def __call__(self, params: Params) -> PageResult:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.params == params:
            outcome = ahead.result()
            if isinstance(outcome, PageResult):
                return outcome
            if not isinstance(outcome, TransientRemoteError) or isinstance(
                outcome, AlreadyRunningError
            ):
                raise outcome
            self._backoff(outcome)
        return self._retrying(params)


@dataclass
class _Run:
    """One pull run: walk the pages, store each with its checkpoint, close the run."""

    store: Tracker
    pager: Paginator
    api: _CostsApi
    context: ReadContext
    tolerance: timedelta
    report: PullReport
    notify: Progress
    stop: threading.Event | None
    keep_lease: Callable[[], bool]

    def walk(self) -> None:
        """Walk from the checkpoint (or the first page) to the end of the list or a guard."""
        pager, report = self.pager, self.report
        run = _start(self.store, pager, report, self.notify)
        fetch = _Prefetch(self.api.page_once, self.api.page, self.api.backoff)
        for page in walk(pager, fetch):
            if not pager.finished:
                fetch.ahead(pager.next_params())
            self._store(run.run_id, page)
            if self.stop is not None and self.stop.is_set():
                report.stopped = "stop requested; the next pull resumes after the last page"
                return
            if not self.keep_lease():
                report.stopped = "lost the pull lease to another process"
                return
        reason = None if pager.stop_reason is None else str(pager.stop_reason)
        finished = local.finish_pull(
            self.store, run_id=run.run_id, complete=pager.complete, stop_reason=reason
        )
        report.complete = pager.complete
        report.stop_reason = reason
        report.marked_not_seen = finished.marked_not_seen
        report.quarantine_cleared = finished.quarantine_cleared
        report.warning = pager.warning()
        if report.warning:
            log.warning("%s", report.warning)
        self.notify("done", report.items)

    def _store(self, run_id: str, page: PageResult) -> None:
        read = _read_page(page.items, self.context)
        for reject in read.rejects:
            log.warning("cost %s quarantined: %s", reject.cost_id, reject.reason)
        stored = local.store_page(
            self.store,
            read.costs,
            read.rejects,
            run_id=run_id,
            checkpoint=self.pager.state(),
            pages=self.pager.pages_read,
            items=self.pager.items_read,
            link_tolerance=self.tolerance,
        )
        self.report.add(stored, read.rejects, len(page.items))
        self.notify("page", len(page.items))


def _start(
    store: Tracker, pager: Paginator, report: PullReport, notify: Progress
) -> local.PullStart:
    """Begin a run, resuming the stored checkpoint when it fits the current settings."""
    run = local.begin_pull(store)
    if run.checkpoint is None:
        return run
    try:
        pager.restore(run.checkpoint)
    except CheckpointMismatchError as err:
        log.warning("starting the pull over: %s", err)
        pager.reset()
        return local.begin_pull(store, fresh=True)
    if not pager.finished:
        report.resumed_at = dict(pager.next_params())
        notify("resumed", pager.pages_read + 1)
        log.info("resuming the costs pull at %s", report.resumed_at)
    return run


def read_context(cfg: CostsSettings) -> ReadContext:
    """How items are read under ``cfg`` (platform time zone, currency, label language)."""
    try:
        zone = ZoneInfo(cfg.platform_timezone)
    except (ValueError, KeyError, OSError):
        raise ConfigError(
            f"TRACKER_COSTS_PLATFORM_TIMEZONE {cfg.platform_timezone!r} is not an IANA zone "
            "(e.g. Europe/Rome)"
        ) from None
    return ReadContext(zone=zone, currency=cfg.currency, language=cfg.language)


def _tolerance(cfg: CostsSettings) -> timedelta:
    try:
        return local.link_tolerance(cfg.link_tolerance)
    except InvalidInputError:
        raise ConfigError(
            "TRACKER_COSTS_LINK_TOLERANCE must be a finite number of seconds >= 0"
        ) from None


def _take_lease(store: Tracker, owner: str, ttl: timedelta) -> int:
    """The pull lease, taken over at once from a holder that died on this host.

    A SIGKILLed pull cannot release its lease; waiting for it to expire would block the
    resume for the lease's lifetime. Owners are ``host:pid:random``, so a holder on this
    host whose process is gone is known dead. (A reused pid only means waiting for expiry.)
    """
    fence = store.acquire_lease(PULL_LEASE, owner, ttl)
    if fence is not None:
        return fence
    held = store.lease_info(PULL_LEASE)
    if held.owner is not None and dead_here(held.owner):
        log.warning("the previous pull (%s) died; taking over its lease", held.owner)
        store.release_lease(PULL_LEASE, held.owner, held.fence)
        fence = store.acquire_lease(PULL_LEASE, owner, ttl)
        if fence is not None:
            return fence
    raise AlreadyRunningError(
        f"a costs pull is already running ({store.lease_info(PULL_LEASE).owner}); try again later"
    )


class _Renewal:
    """Renews the pull lease between pages, at most every quarter of its lifetime.

    A renewal is a write transaction (a commit, an fsync): once per page it cost a tenth of
    the pull's time for nothing.
    """

    def __init__(self, store: Tracker, owner: str, fence: int, ttl: timedelta, clock: Clock):
        self._store, self._owner, self._fence, self._ttl = store, owner, fence, ttl
        self._clock = clock
        self._every = ttl.total_seconds() / 4
        self._last = clock.monotonic()

    def keep(self) -> bool:
        """False once the lease was lost (another process took over after it expired)."""
        now = self._clock.monotonic()
        if now - self._last < self._every:
            return True
        self._last = now
        return self._store.renew_lease(PULL_LEASE, self._owner, self._fence, self._ttl)


# ---------------------------------------------------------------- one cost


def refresh_cost(
    settings: Settings | CostsSettings,
    store: Tracker,
    cost_id: int,
    client: httpx.Client | None = None,
    clock: Clock | None = None,
    *,
    rng: random.Random | None = None,
) -> RefreshReport:
    """Fetch ``GET /v1/additional-costs/{id}`` and store it (same rules as a pull).

    A 404 carrying the platform's ``err_InvalidElement`` means the cost is gone: it is kept
    locally and marked not seen. Any other 404 is EndpointMissingError. Errors as for
    :func:`pull_costs`.
    """
    cfg = settings.costs if isinstance(settings, Settings) else settings
    clock = clock or SystemClock()
    context = read_context(cfg)
    tolerance = _tolerance(cfg)
    owned = client is None
    http = client if client is not None else build_client(cfg.url, cfg)
    try:
        api = _CostsApi(cfg, http, clock, rng or random.Random())  # noqa: S311 - jitter
        path = ITEM_PATH.format(cost_id=cost_id)
        reply = api.get(path)
    finally:
        if owned:
            http.close()
    if reply.status == 404:
        if _server_code(reply) == "err_InvalidElement":
            local.mark_gone(store, cost_id)
            return RefreshReport(cost_id, "gone", _server_words(reply), _stored(store, cost_id))
        raise EndpointMissingError(
            f"GET {path} answered 404 ({_server_words(reply)}); check TRACKER_COSTS_URL"
        )
    _refuse_other_4xx(reply, path)
    if reply.status != 200:
        raise ProtocolError(f"GET {path}: HTTP {reply.status}, not 200")
    read = read_item(_exact_body(reply, path), context)
    if isinstance(read, QuarantineIn):
        local.store_rejects(store, [read])
        return RefreshReport(cost_id, "quarantined", read.reason, _stored(store, cost_id))
    if read.id != cost_id:
        raise ProtocolError(f"GET {path} answered the cost with ID {read.id}")
    stored = local.store_cost(store, read, link_tolerance=tolerance)
    outcome = next(
        name for name in ("inserted", "updated", "stale", "unchanged") if getattr(stored, name)
    )
    return RefreshReport(cost_id, outcome, None, _stored(store, cost_id))


def _server_code(reply: Reply) -> str | None:
    body = reply.body
    code = body.get("Error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _stored(store: Tracker, cost_id: int) -> CostView | None:
    try:
        return local.get_cost(store, cost_id)
    except local.CostNotFoundError:
        return None

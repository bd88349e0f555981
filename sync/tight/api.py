"""Requests to Tight's mileage API: under the rate budget and the run's time budget, with
in-run retries of what the server certainly did not process.

In-run retries (tenacity, ``sync.http.retry``) cover a refused connection, 429 and 503, with
backoff honouring Retry-After; never a request whose outcome is unknown (a create could be
stored twice). The token is added by the client's auth flow (``sync.tight.auth``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import tenacity

from sync.budget import RequestBudget, spent_until
from sync.clock import Clock
from sync.deadline import Deadline
from sync.errors import AuthError, EndpointMissingError, ProtocolError
from sync.http.client import Reply, joined, send
from sync.http.failures import NotSent, Unreachable
from sync.http.retry import RetryPolicy, build_retrying, parse_retry_after
from sync.settings import MileageSettings
from sync.tight import verdicts as vd
from sync.tight.paths import QUERY_PATH, SAVE_PATH

if TYPE_CHECKING:
    from sync.http.reach import Reachability

__all__ = ["QUERY_PATH", "SAVE_PATH", "TightApi", "raise_for", "record_path"]

log = logging.getLogger(__name__)


def record_path(remote_id: str) -> str:
    """``/v6/mileage/{id}`` for one record. The id must look like Tight's (``REMOTE_ID``:
    ValueError otherwise) and is quoted too: a server-given id never reaches another path."""
    if not vd.REMOTE_ID.fullmatch(remote_id):
        raise ValueError(f"{remote_id[:40]!r} is not a Tight id")
    return f"{SAVE_PATH}/{quote(remote_id, safe='')}"


RETRIED_STATUSES = (429, 503)
"""Answers that say the request was not processed: safe to send again in the same run."""


class _Refused(NotSent):
    """A 429 or 503 answer, raised so the retry policy sees it; the reply travels along."""

    def __init__(self, reply: Reply, retry_after: float | None) -> None:
        said = f": {reply.words}" if reply.words else ""
        super().__init__(f"HTTP {reply.status}{said}", retry_after=retry_after)
        self.reply = reply


def _say_retry(method: str, path: str) -> Callable[[tenacity.RetryCallState], None]:
    """A warning before each in-run wait: a person waiting on ``tracker sync`` sees why."""

    def say(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "%s %s not taken (%s); retrying in %.1f s", method, path, error, state.upcoming_sleep
        )

    return say


class TightApi:
    """One run's view of Tight: the client, the budgets and the retry policy."""

    def __init__(
        self,
        cfg: MileageSettings,
        client: httpx.Client,
        *,
        clock: Clock,
        budget: RequestBudget,
        deadline: Deadline,
        rng: random.Random,
        on_headers: Callable[[], None] | None = None,
        reach: Reachability | None = None,
    ) -> None:
        self._cfg = cfg
        self._client = client
        self._clock = clock
        self._budget = budget
        self._deadline = deadline
        self._rng = rng
        self._on_headers = on_headers
        # Never wait past half the claim lease: the entries must still be ours afterwards.
        self._policy = RetryPolicy.from_settings(
            cfg,
            max_total_wait=cfg.lease_seconds / 2,
            connect_tries=None if reach is None else reach.connect_tries,
        )
        self._reach = reach
        self.requests = 0
        self._guards = threading.local()  # per thread: the sender's batch, not a reader's

    @contextmanager
    def guarded(self, check: Callable[[], None]) -> Iterator[None]:
        """Run ``check`` before each request this thread sends meanwhile (after its rate
        grant, the last moment before it goes); an exception from it stops the request."""
        self._guards.check = check
        try:
            yield
        finally:
            self._guards.check = None

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of this API (also the persisted schedule's)."""
        return self._policy

    def call(self, method: str, path: str, body: Any) -> Reply:
        """Send, retrying in this run what certainly was not processed (refused connection,
        429, 503). Returns the last answer when the retries run out on a 429 or 503; raises
        NotSent when the server could never be reached, OutcomeUnknown as it comes."""
        retrying = build_retrying(
            self._policy,
            rng=self._rng,
            sleep=self._clock.sleep,
            retry=tenacity.retry_if_exception_type(NotSent),
            before_sleep=self._before_retry(method, path),
            clock=self._clock,
            until=self._deadline.until,
        )
        try:
            reply: Reply = retrying(self._refusing, method, path, body)
        except _Refused as refused:
            return refused.reply
        except Unreachable as err:
            if self._reach is not None:
                self._reach.give_up(err)  # the rest of the run does not wait for it
            raise
        return reply

    def _before_retry(self, method: str, path: str) -> Callable[[tenacity.RetryCallState], None]:
        say = _say_retry(method, path)

        def before(state: tenacity.RetryCallState) -> None:
            self._budget.flush()  # the answers' stamps are not held back over the sleep
            say(state)

        return before

    def _refusing(self, method: str, path: str, body: Any) -> Reply:
        reply = self.request(method, path, body)
        if reply.status in RETRIED_STATUSES:
            raise _Refused(reply, self.retry_after(reply))
        return reply

    def request(self, method: str, path: str, body: Any) -> Reply:
        """One request under the rate budget and the run's time budget."""
        if self._reach is not None:  # given up on in this run: no grant, no request
            self._reach.check(joined(self._client.base_url, path))
        self._grant(method, path)
        try:
            time_left = self._deadline.cap(self._cfg.deadline)
            if time_left <= 0:
                raise NotSent(f"{method} {path}: not sent, the run's time budget is spent")
            guard = getattr(self._guards, "check", None)
            if guard is not None:
                guard()  # the claims this request sends are still ours (or it does not go)
            self.requests += 1
            reply = send(
                self._client,
                method,
                path,
                clock=self._clock,
                deadline=time_left,
                json_body=None if isinstance(body, bytes) else body,
                content=body if isinstance(body, bytes) else None,
                on_headers=self._on_headers,
            )
        finally:
            # Sent or not, the grant ends here; a sent request was counted by the server by
            # now, so the window runs from here.
            self._budget.settle()
        if reply.status == 429:
            self._budget.note_retry_after(self.retry_after(reply))
        return reply

    def _grant(self, method: str, path: str) -> None:
        """Take a slot of the rate budget, waiting as long as the run's time budget allows.

        A wait runs in slices of at most a third of the claim lease, the guard called after
        each (it extends the claims being sent): other workers sharing the budget can make
        the wait long, and a claim must not expire meanwhile, or another worker takes its
        changes over and both end up waiting, claiming and losing them in turn."""
        guard = getattr(self._guards, "check", None)
        keepalive = max(0.05, self._cfg.lease_seconds / 3)
        while not self._budget.acquire(max_wait=0.0):
            waiting = self._budget.wait_time()
            if waiting > self._deadline.remaining():
                raise NotSent(f"{method} {path}: not sent, {spent_until(self._clock, waiting)}")
            self._clock.sleep(min(waiting, keepalive) if guard is not None else waiting)
            if guard is not None:
                guard()

    def query(self, body: dict[str, Any]) -> Any:
        """One page of ``POST /v6/mileage/query`` (parsed JSON). The date filter is our
        assumption: a server that refuses it (400) gets the same query without it."""
        reply = self.call("POST", QUERY_PATH, body)
        if reply.status == 400 and "filter" in body and self._cfg.reconcile_date_filter:
            body = {k: v for k, v in body.items() if k != "filter"}
            reply = self.call("POST", QUERY_PATH, body)
        if reply.status == 200:
            return reply.body
        verdict = vd.classify_response(
            reply.status, reply.body, [], self._cfg.local_id_key, words=reply.words
        )
        raise_for(verdict)
        said = getattr(verdict, "message", f"HTTP {reply.status}")
        raise ProtocolError(f"the mileage query was not answered: {said}")

    def retry_after(self, reply: Reply) -> float | None:
        """The answer's Retry-After in seconds (capped, and said so), or None."""
        parsed = parse_retry_after(reply.headers.get("retry-after"), self._clock.wall())
        if parsed is not None and parsed.capped:
            log.warning(
                "server asked to wait longer than %.0f s; waiting that long", parsed.seconds
            )
        return None if parsed is None else parsed.seconds


def raise_for(verdict: vd.BatchVerdict) -> None:
    """Raise for a verdict that ends the run: Tight refused us (401/403) or the endpoint is
    missing (404). Every change stays queued."""
    if isinstance(verdict, vd.AuthFailure):
        if verdict.kind == "forbidden":
            raise AuthError(
                f"Tight refused access (403: {verdict.message}); check the token's scope"
            )
        raise AuthError(
            f"Tight refused the token ({verdict.message}); set a new TRACKER_MILEAGE_TOKEN "
            "or configure client credentials; every change stays queued"
        )
    if isinstance(verdict, vd.EndpointMissing):
        raise EndpointMissingError(
            f"Tight answered 404 for the mileage endpoint ({verdict.message}); "
            "check TRACKER_MILEAGE_URL"
        )

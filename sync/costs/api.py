"""GET requests to the platform's business-mobile API: a total deadline per request (capped
by the run's time budget), in-run retries of temporary failures (tenacity, honouring
Retry-After), and the platform's answers turned into typed errors.

401/403 raise AuthError (exit 77); 404 on the list EndpointMissingError (69); 400 on a page
ConfigError (78: the paging settings); 429, 5xx and lost answers are retried, then raised as
temporary errors (75). The token is added by the client's auth flow (``sync.costs.auth``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import httpx
import tenacity

from sync.clock import Clock
from sync.costs.pages import PageResult, decode_page
from sync.costs.wire import ITEM_PATH, LIST_PATH, loads_exact
from sync.deadline import Deadline
from sync.errors import (
    AuthError,
    ConfigError,
    EndpointMissingError,
    PermanentRemoteError,
    ProtocolError,
    TransientRemoteError,
)
from sync.http.client import Reply, joined, send
from sync.http.failures import NotSent, Unreachable
from sync.http.retry import RetryPolicy, build_retrying, next_delay, parse_retry_after
from sync.settings import CostsSettings

if TYPE_CHECKING:
    from sync.http.reach import Reachability

__all__ = ["ITEM_PATH", "LIST_PATH", "CostsApi", "exact_body", "refuse_other_4xx", "server_code"]

log = logging.getLogger(__name__)

Params = dict[str, str | int]
T = TypeVar("T")


class CostsApi:
    """One run's view of the costs API."""

    def __init__(
        self,
        cfg: CostsSettings,
        client: httpx.Client,
        *,
        clock: Clock,
        rng: random.Random,
        deadline: Deadline,
        reach: Reachability | None = None,
    ) -> None:
        self._cfg = cfg
        self._client = client
        self._clock = clock
        self._deadline = deadline
        self._reach = reach
        self._policy = RetryPolicy.from_settings(
            cfg, connect_tries=None if reach is None else reach.connect_tries
        )
        self._rng = rng
        self.requests = 0
        self.retries = 0

    def get(self, path: str) -> Reply:
        """One GET, retried in-run while the failure is temporary; 401/403 raise AuthError."""
        return self._retrying(self._once, path)

    def page(self, params: Params) -> PageResult:
        """One page of the list, decoded (items still raw); retried like :meth:`get`."""
        return self._retrying(self.page_once, params)

    def backoff(self, error: TransientRemoteError) -> None:
        """Wait as after a first failed try (honouring Retry-After), counted as a retry."""
        self.retries += 1
        delay = self._deadline.cap(next_delay(self._policy, 1, error.retry_after, self._rng))
        log.warning("costs request failed (%s); retrying in %.1f s", error, delay)
        self._clock.sleep(delay)

    def page_once(self, params: Params) -> PageResult:
        """One page, one attempt (the page fetched ahead): failures are the caller's."""
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
                f"{server_words(reply)}); check TRACKER_COSTS_PAGING and the parameter names"
            )
        refuse_other_4xx(reply, url)
        cfg = self._cfg
        return decode_page(
            reply.status,
            reply.headers,
            exact_body(reply, url),
            items_key=cfg.items_key,
            total_key=cfg.total_key,
            has_next_key=cfg.has_next_key,
            total_header=cfg.total_header,
        )

    def _retrying(self, call: Callable[[Any], T], argument: Any) -> T:
        retrying = build_retrying(
            self._policy,
            rng=self._rng,
            sleep=self._clock.sleep,
            before_sleep=self._before_sleep,
            clock=self._clock,
            until=self._deadline.until,
        )
        try:
            result: T = retrying(call, argument)
        except Unreachable as err:
            if self._reach is not None:
                self._reach.give_up(err)  # the rest of the run does not wait for it
            raise
        except NotSent as err:
            raise NotSent(
                f"cannot reach the costs server ({err}); nothing was changed: "
                "the next pull resumes where this one stopped"
            ) from None
        return result

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning("costs request failed (%s); retrying in %.1f s", error, state.upcoming_sleep)

    def _once(self, url: str) -> Reply:
        time_left = self._deadline.cap(self._cfg.deadline)
        if time_left <= 0:
            raise NotSent(f"GET {url}: not sent, the run's time budget is spent")
        if self._reach is not None:  # given up on in this run: not a request sent
            self._reach.check(joined(self._client.base_url, url))
        self.requests += 1
        reply = send(self._client, "GET", url, clock=self._clock, deadline=time_left)
        if reply.status in (401, 403):
            what = "refused access (403)" if reply.status == 403 else "refused the token (401)"
            raise AuthError(
                f"the costs server {what}: {server_words(reply)}; set a valid "
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


def exact_body(reply: Reply, url: str) -> Any:
    """The answer's JSON with exact decimals (``loads_exact``); ProtocolError if not JSON."""
    if reply.status == 204 and not reply.raw.strip():
        return None
    try:
        return loads_exact(reply.raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(
            f"GET {url}: HTTP {reply.status} with a body that is not JSON ({len(reply.raw)} bytes)"
        ) from None


def refuse_other_4xx(reply: Reply, url: str) -> None:
    """Raise PermanentRemoteError for a 4xx other than 429: a 405 or 410 will not change by
    asking again."""
    if 400 <= reply.status < 500 and reply.status != 429:
        raise PermanentRemoteError(f"GET {url}: HTTP {reply.status} ({server_words(reply)})")


def server_words(reply: Reply) -> str:
    """The platform's negative response (``{"Error": "err_...", "Message": ...}``), short."""
    body = reply.body
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("Error", "Message") if isinstance(body.get(k), str)]
        if parts:
            return ": ".join(parts)[:200]
    return reply.words or "no details"


def server_code(reply: Reply) -> str | None:
    """The platform's ``err_...`` code, when the answer carries one."""
    body = reply.body
    code = body.get("Error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None

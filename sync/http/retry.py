"""Retry policy as data, and the pure functions that turn it into waits.

One :class:`RetryPolicy` drives both in-run retries of one request (:func:`next_delay`, via
tenacity with the clock's ``sleep`` injected) and the persisted per-entry schedule across
runs (:func:`next_attempt_at`). The backoff shape and the Retry-After rules are in
docs/sync-guarantees.md, "Retries and backoff".
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import tenacity
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from sync.errors import AlreadyRunningError, ConfigError, TransientRemoteError
from sync.http.failures import Interrupted, StillUnreachable, Unreachable

if TYPE_CHECKING:
    from sync.clock import Clock
    from sync.settings import HttpSettings

__all__ = [
    "DEFAULT_RETRY_AFTER_CAP",
    "RetryAfter",
    "RetryPolicy",
    "backoff_delay",
    "build_retrying",
    "next_attempt_at",
    "next_delay",
    "parse_retry_after",
    "tenacity_stop",
    "tenacity_wait",
]

DEFAULT_RETRY_AFTER_CAP = 3600.0
"""Longest Retry-After honoured, in seconds (1 h); longer values are capped and reported."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a temporary failure is retried. Immutable; build once.

    Attributes:
        attempts: tries of one request within a run, the first included (``retries + 1``).
        initial: first backoff delay and the floor of every delay, seconds.
        maximum: cap of one in-run backoff delay, seconds.
        multiplier: growth factor of the exponential ceiling.
        max_total_wait: in-run patience for one request: when the waits so far plus the next
            one would exceed this, in-run retries stop and the entry stays queued, its next try
            set by :func:`next_attempt_at` (so a 1 h Retry-After does not block a CLI run).
        retry_after_cap: longest Retry-After honoured, seconds.
        schedule_max: cap of one delay of the persisted, across-runs schedule, seconds.
        connect_tries: tries of one request whose server cannot be connected to
            (:class:`~sync.http.failures.Unreachable`), the first included; None: ``attempts``.
            A sync asked for by hand sets it low, so that offline is said in seconds.
    """

    attempts: int = 5
    initial: float = 1.0
    maximum: float = 60.0
    multiplier: float = 2.0
    max_total_wait: float = 300.0
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    schedule_max: float = 3600.0
    connect_tries: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.attempts < 1:
            problems.append(f"attempts must be >= 1 (got {self.attempts})")
        if not self.initial > 0:
            problems.append(f"initial must be > 0 (got {self.initial})")
        if not self.maximum >= self.initial:
            problems.append(
                f"maximum ({self.maximum}) must be >= initial ({self.initial}): "
                "check backoff_max and backoff_initial"
            )
        if self.connect_tries is not None and self.connect_tries < 1:
            problems.append(f"connect_tries must be >= 1 (got {self.connect_tries})")
        if not self.multiplier >= 1:
            problems.append(f"multiplier must be >= 1 (got {self.multiplier})")
        if not self.max_total_wait >= 0:
            problems.append(f"max_total_wait must be >= 0 (got {self.max_total_wait})")
        if not self.retry_after_cap >= 0:
            problems.append(f"retry_after_cap must be >= 0 (got {self.retry_after_cap})")
        if not self.schedule_max >= self.initial:
            problems.append(
                f"schedule_max ({self.schedule_max}) must be >= initial ({self.initial})"
            )
        for name in ("initial", "maximum", "multiplier", "max_total_wait", "schedule_max"):
            if math.isinf(getattr(self, name)):
                problems.append(f"{name} must be finite")
        if problems:
            raise ConfigError("invalid retry policy: " + "; ".join(problems))

    @classmethod
    def from_settings(cls, http: HttpSettings, **overrides: Any) -> RetryPolicy:
        """The policy of one remote API: ``retries``, ``backoff_initial`` and ``backoff_max``.

        Fields that have no setting keep their defaults unless given in ``overrides``.
        Raises :class:`~sync.errors.ConfigError` when the settings contradict each other
        (e.g. ``backoff_initial`` above ``backoff_max``).
        """
        policy = cls(
            attempts=http.retries + 1,
            initial=http.backoff_initial,
            maximum=http.backoff_max,
        )
        return replace(policy, **overrides) if overrides else policy


@dataclass(frozen=True)
class RetryAfter:
    """A parsed Retry-After header: the wait in seconds, and whether it was capped."""

    seconds: float
    capped: bool = False


def _ceiling(policy: RetryPolicy, attempt: int, cap: float) -> float:
    """``min(cap, initial * multiplier ** attempt)`` without overflowing for huge attempts."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0 (got {attempt})")
    if policy.multiplier == 1 or cap <= policy.initial:
        return min(cap, policy.initial)
    # Exponents past the one that reaches the cap change nothing; stopping there keeps
    # multiplier ** attempt finite for the thousands of attempts a daemon can accumulate.
    enough = math.ceil(math.log(cap / policy.initial, policy.multiplier)) + 1
    return min(cap, policy.initial * policy.multiplier ** min(attempt, enough))


def _jittered(policy: RetryPolicy, attempt: int, cap: float, rng: random.Random) -> float:
    ceiling = _ceiling(policy, attempt, cap)
    if ceiling <= policy.initial:
        return policy.initial
    return rng.uniform(policy.initial, ceiling)


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """The in-run wait after ``attempt`` failed tries: U(initial, min(maximum, initial*m**attempt)).

    ``attempt`` counts failed tries (1 before the first retry). Always within
    ``[policy.initial, policy.maximum]``; see the module docstring for the floor.
    """
    return _jittered(policy, attempt, policy.maximum, rng)


_DELAY_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


def parse_retry_after(
    value: str | None, now: datetime, *, cap: float = DEFAULT_RETRY_AFTER_CAP
) -> RetryAfter | None:
    """Parse a Retry-After header value (RFC 9110 §10.2.3) into seconds from ``now``.

    Accepts delay-seconds (``"120"``; a sign and a decimal part are tolerated) or an HTTP-date
    (IMF-fixdate, and the obsolete RFC 850 and asctime forms; a date without a zone is GMT).
    Returns ``None`` for a missing or unparseable value, 0 for a negative delay or a past date,
    and ``RetryAfter(cap, capped=True)`` when the value exceeds ``cap``.
    ``now`` must be aware (it only matters for HTTP-dates).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds: float
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (ValueError, TypeError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # asctime dates carry no zone; HTTP dates are always GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):  # "1" followed by 400 digits is finite text, infinite float
        return RetryAfter(cap, capped=True)
    if seconds <= 0:
        return RetryAfter(0.0)
    if seconds > cap:
        return RetryAfter(cap, capped=True)
    return RetryAfter(seconds)


def next_delay(
    policy: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random
) -> float:
    """The in-run wait after ``attempt`` failed tries, honouring a server's Retry-After.

    With ``retry_after`` (seconds): ``max(initial, min(retry_after, retry_after_cap))``.
    Without: :func:`backoff_delay`.
    """
    if retry_after is not None and not math.isnan(retry_after):
        return max(policy.initial, min(retry_after, policy.retry_after_cap))
    return backoff_delay(policy, attempt, rng)


def next_attempt_at(
    policy: RetryPolicy,
    attempts_so_far: int,
    now: datetime,
    retry_after: float | None,
    rng: random.Random,
) -> datetime:
    """When a journal entry that failed ``attempts_so_far`` times may be tried again.

    Same shape as :func:`next_delay` but capped by ``schedule_max`` instead of ``maximum``,
    since a daemon retries forever and should settle into a slow, jittered rhythm.
    ``now`` must be aware; the result is in UTC.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if retry_after is not None and not math.isnan(retry_after):
        delay = max(policy.initial, min(retry_after, policy.retry_after_cap))
    else:
        delay = _jittered(policy, attempts_so_far, policy.schedule_max, rng)
    return now.astimezone(UTC) + timedelta(seconds=delay)


# ---------------------------------------------------------------- tenacity adaptors


def _unreachable(retry_state: tenacity.RetryCallState) -> bool:
    outcome = retry_state.outcome
    return outcome is not None and isinstance(outcome.exception(), Unreachable)


def _retry_after_of(retry_state: tenacity.RetryCallState) -> float | None:
    outcome = retry_state.outcome
    if outcome is None or not outcome.failed:
        return None
    error = outcome.exception()
    if isinstance(error, TransientRemoteError):
        return error.retry_after
    return None


class _PolicyWait(wait_base):
    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return next_delay(
            self.policy, retry_state.attempt_number, _retry_after_of(retry_state), self.rng
        )

    def __repr__(self) -> str:
        return f"tenacity_wait({self.policy!r})"


class _PolicyStop(stop_base):
    def __init__(self, policy: RetryPolicy, limit: _Limit | None = None) -> None:
        self.policy = policy
        self.limit = limit

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.policy.attempts:
            return True
        tries = self.policy.connect_tries
        if tries is not None and retry_state.attempt_number >= tries and _unreachable(retry_state):
            return True
        # tenacity computes the wait before asking the stop strategy, so ``upcoming_sleep`` is
        # the wait that would follow: give up now rather than sleep past our patience.
        waited = retry_state.idle_for + retry_state.upcoming_sleep
        if waited > self.policy.max_total_wait:
            return True
        return self.limit is not None and self.limit.passed(retry_state.upcoming_sleep)

    def __repr__(self) -> str:
        return f"tenacity_stop({self.policy!r})"


@dataclass(frozen=True)
class _Limit:
    """A moment on the clock's monotonic scale that no retry may sleep past."""

    clock: Clock
    until: float

    def passed(self, upcoming: float) -> bool:
        return self.clock.monotonic() + upcoming > self.until


def tenacity_wait(policy: RetryPolicy, rng: random.Random) -> wait_base:
    """A tenacity wait strategy: :func:`next_delay`, reading ``retry_after`` from the exception.

    The exception of the failed try is inspected: a
    :class:`~sync.errors.TransientRemoteError` with ``retry_after`` set makes the wait honour it.
    """
    return _PolicyWait(policy, rng)


def tenacity_stop(policy: RetryPolicy) -> stop_base:
    """A tenacity stop strategy: after ``attempts`` tries, or when waiting more would exceed
    ``max_total_wait`` in total.

    The entry then stays queued; :func:`next_attempt_at` schedules its next try.
    """
    return _PolicyStop(policy)


def _default_retry() -> tenacity.retry_base:
    # AlreadyRunningError is "transient" for the daemon (try again next run) but retrying it
    # inside the run would just wait on the other process's lease.
    return tenacity.retry_if_exception_type(
        TransientRemoteError
    ) & tenacity.retry_if_not_exception_type(AlreadyRunningError)


def build_retrying(
    policy: RetryPolicy,
    *,
    rng: random.Random,
    sleep: Callable[[float], None],
    retry: tenacity.retry_base | None = None,
    before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
    clock: Clock | None = None,
    until: float | None = None,
) -> tenacity.Retrying:
    """A ``tenacity.Retrying`` for in-run retries of one request under ``policy``.

    ``sleep`` is the injected clock's ``sleep``. ``retry`` defaults to "any
    TransientRemoteError except AlreadyRunningError"; the push passes a narrower predicate
    where a blind re-send is unsafe (a create whose outcome is unknown must be reconciled,
    not re-sent). ``until`` (with ``clock``): a monotonic moment no wait may reach past (a
    run's time budget, an entry's lease). The last exception is re-raised unchanged when
    retries run out, so its ``retry_after`` can feed :func:`next_attempt_at`.
    """
    limit = None if clock is None or until is None else _Limit(clock, until)
    # A stopping client (its connections cut), or a server this run gave up on, fails every
    # try at once: retrying would only sleep through the backoff.
    never_when_stopping = tenacity.retry_if_not_exception_type((Interrupted, StillUnreachable))
    return tenacity.Retrying(
        sleep=sleep,
        stop=_PolicyStop(policy, limit),
        wait=tenacity_wait(policy, rng),
        retry=(retry if retry is not None else _default_retry()) & never_when_stopping,
        before_sleep=before_sleep,
        reraise=True,
    )

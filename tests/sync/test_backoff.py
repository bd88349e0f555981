"""Retry policy: backoff shape, Retry-After parsing, the persisted schedule, tenacity adaptors."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import tenacity
from hypothesis import given
from hypothesis import strategies as st

from sync.clock import ManualClock
from sync.errors import (
    AlreadyRunningError,
    AuthError,
    ConfigError,
    ProtocolError,
    TransientRemoteError,
)
from sync.http.retry import (
    DEFAULT_RETRY_AFTER_CAP,
    RetryAfter,
    RetryPolicy,
    backoff_delay,
    build_retrying,
    next_attempt_at,
    next_delay,
    parse_retry_after,
    tenacity_stop,
    tenacity_wait,
)
from sync.settings import HttpSettings

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


# ---------------------------------------------------------------- policy


def test_from_settings_maps_the_http_fields() -> None:
    policy = RetryPolicy.from_settings(
        HttpSettings(retries=2, backoff_initial=0.5, backoff_max=8.0)
    )
    assert (policy.attempts, policy.initial, policy.maximum, policy.multiplier) == (3, 0.5, 8, 2)
    assert policy.schedule_max == 3600.0
    assert policy.retry_after_cap == DEFAULT_RETRY_AFTER_CAP


def test_from_settings_accepts_overrides() -> None:
    policy = RetryPolicy.from_settings(HttpSettings(), max_total_wait=30.0)
    assert policy.max_total_wait == 30.0
    assert policy.attempts == 5


def test_from_settings_refuses_initial_above_maximum() -> None:
    with pytest.raises(ConfigError, match="backoff_max"):
        RetryPolicy.from_settings(HttpSettings(backoff_initial=100.0, backoff_max=10.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"initial": 0.0},
        {"multiplier": 0.5},
        {"maximum": math.inf},
        {"schedule_max": 0.5},
        {"max_total_wait": -1.0},
        {"initial": math.nan},
    ],
)
def test_invalid_policies_are_config_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.attempts = 3  # type: ignore[misc]


# ---------------------------------------------------------------- backoff shape


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    initial=st.floats(min_value=0.01, max_value=10),
    spread=st.floats(min_value=1, max_value=1000),
    multiplier=st.floats(min_value=1, max_value=10),
    seed=st.integers(0, 2**32),
)
def test_backoff_stays_between_floor_and_exponential_ceiling(
    attempt: int, initial: float, spread: float, multiplier: float, seed: int
) -> None:
    policy = RetryPolicy(initial=initial, maximum=initial * spread, multiplier=multiplier)
    delay = backoff_delay(policy, attempt, random.Random(seed))
    # log-space: multiplier ** attempt overflows a float long before attempt reaches 10_000
    exponent = attempt * math.log(multiplier) + math.log(initial)
    ceiling = policy.maximum if exponent >= math.log(policy.maximum) else math.exp(exponent)
    assert initial <= delay <= max(initial, ceiling) * (1 + 1e-12)


def test_backoff_ceiling_doubles_until_the_cap() -> None:
    policy = RetryPolicy(initial=1.0, maximum=60.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (50, 60)]:
        samples = [backoff_delay(policy, attempt, rng) for _ in range(2000)]
        assert min(samples) >= 1.0
        assert max(samples) <= ceiling
        # Full jitter: the samples spread over the whole [floor, ceiling] range.
        assert max(samples) > ceiling - (ceiling - 1) * 0.05
        assert min(samples) < 1 + (ceiling - 1) * 0.05


def test_attempt_zero_is_exactly_the_floor() -> None:
    assert backoff_delay(RetryPolicy(initial=2.0), 0, random.Random(1)) == 2.0


def test_negative_attempt_is_a_bug() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(RetryPolicy(), -1, random.Random(1))


def test_same_seed_same_delays() -> None:
    policy = RetryPolicy()
    first = [backoff_delay(policy, n, random.Random(42)) for n in range(1, 10)]
    again = [backoff_delay(policy, n, random.Random(42)) for n in range(1, 10)]
    assert first == again


def test_one_hour_outage_request_count_matches_reliability_b10() -> None:
    # docs/sync-guarantees.md ("Retries and backoff"): under a continuous outage, requests in
    # 1 h <= about 2 * 3600 / cap plus the warm-up steps, and never two requests closer than
    # the base delay. "About": a capped wait averages (initial + cap) / 2, so the count averages
    # below the bound; one seed's sum of ~120 uniform waits varies by a few requests either way
    # (std ~ 6), hence the mean plus a 15 % margin.
    policy = RetryPolicy(initial=1.0, maximum=60.0)
    warmup = math.ceil(math.log2(policy.maximum / policy.initial))
    bound = 2 * 3600 / policy.maximum + warmup
    counts = []
    for seed in range(50):
        rng = random.Random(seed)
        clock, attempt, sends = 0.0, 0, [0.0]
        while True:
            attempt += 1
            clock += next_delay(policy, attempt, None, rng)
            if clock > 3600:
                break
            sends.append(clock)
        counts.append(len(sends))
        assert len(sends) <= 1.15 * bound
        assert len(sends) >= 3600 / policy.maximum  # and it does keep trying
        gaps = [b - a for a, b in itertools.pairwise(sends)]
        assert min(gaps) >= policy.initial
    assert sum(counts) / len(counts) <= bound


def test_huge_attempt_counts_do_not_overflow() -> None:
    policy = RetryPolicy(multiplier=10.0)
    assert backoff_delay(policy, 10**9, random.Random(0)) <= policy.maximum
    at = next_attempt_at(policy, 10**9, NOW, None, random.Random(0))
    assert NOW < at <= NOW + timedelta(seconds=policy.schedule_max)


# ---------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", RetryAfter(120.0)),
        ("  120 ", RetryAfter(120.0)),
        ("0", RetryAfter(0.0)),
        ("1.5", RetryAfter(1.5)),
        ("-5", RetryAfter(0.0)),
        ("3600", RetryAfter(3600.0)),
        ("3601", RetryAfter(3600.0, capped=True)),
        ("1000000", RetryAfter(3600.0, capped=True)),
        ("9" * 400, RetryAfter(3600.0, capped=True)),
        # HTTP-date forms (RFC 9110 §5.6.7): IMF-fixdate, obsolete RFC 850, asctime.
        ("Sun, 01 Mar 2026 12:02:00 GMT", RetryAfter(120.0)),
        ("Sunday, 01-Mar-26 12:02:00 GMT", RetryAfter(120.0)),
        ("Sun Mar  1 12:02:00 2026", RetryAfter(120.0)),
        ("Sun, 01 Mar 2026 11:00:00 GMT", RetryAfter(0.0)),  # in the past
        ("Fri, 31 Dec 9999 23:59:59 GMT", RetryAfter(3600.0, capped=True)),
    ],
)
def test_parse_retry_after(value: str, expected: RetryAfter) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    "value", [None, "", "   ", "soon", "12 seconds", "1e3", "nan", "inf", "0x10", "Sun, 99 Foo"]
)
def test_garbage_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_cap_is_configurable() -> None:
    assert parse_retry_after("600", NOW, cap=300.0) == RetryAfter(300.0, capped=True)


def test_retry_after_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_retry_after("10", NOW.replace(tzinfo=None))


def test_next_delay_honours_retry_after_exactly_but_not_below_the_floor() -> None:
    policy = RetryPolicy(initial=1.0, maximum=60.0)
    rng = random.Random(3)
    assert next_delay(policy, 1, 120.0, rng) == 120.0  # above the backoff cap: still honoured
    assert next_delay(policy, 4, 0.0, rng) == 1.0  # "retry now" still waits the floor
    assert next_delay(policy, 1, 10**6, rng) == policy.retry_after_cap
    assert next_delay(policy, 1, math.inf, rng) == policy.retry_after_cap
    assert 1.0 <= next_delay(policy, 1, math.nan, rng) <= 2.0  # NaN = no header: backoff


def test_next_delay_without_retry_after_is_the_backoff() -> None:
    policy = RetryPolicy()
    assert next_delay(policy, 3, None, random.Random(9)) == backoff_delay(
        policy, 3, random.Random(9)
    )


# ---------------------------------------------------------------- persisted schedule


def test_next_attempt_at_grows_to_the_schedule_cap_not_the_in_run_cap() -> None:
    policy = RetryPolicy(initial=1.0, maximum=60.0, schedule_max=3600.0)
    rng = random.Random(5)
    delays = [
        (next_attempt_at(policy, 20, NOW, None, rng) - NOW).total_seconds() for _ in range(500)
    ]
    assert max(delays) <= 3600.0
    assert max(delays) > 60.0  # beyond the in-run cap: a daemon settles into a slow rhythm
    assert min(delays) >= 1.0


def test_next_attempt_at_honours_retry_after() -> None:
    policy = RetryPolicy()
    assert next_attempt_at(policy, 1, NOW, 120.0, random.Random(0)) == NOW + timedelta(seconds=120)
    capped = next_attempt_at(policy, 1, NOW, 10**7, random.Random(0))
    assert capped == NOW + timedelta(seconds=policy.retry_after_cap)


def test_next_attempt_at_is_utc_and_needs_an_aware_now() -> None:
    paris = NOW.astimezone(ZoneInfo("Europe/Paris"))
    at = next_attempt_at(RetryPolicy(), 1, paris, None, random.Random(0))
    assert at.tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        next_attempt_at(RetryPolicy(), 1, NOW.replace(tzinfo=None), None, random.Random(0))


# ---------------------------------------------------------------- tenacity adaptors


class Flaky:
    """Fails with the given exceptions in order, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retrying_sleeps_jittered_backoff_on_the_injected_clock() -> None:
    policy = RetryPolicy(attempts=5, initial=1.0, maximum=60.0)
    clock = ManualClock()
    retrying = tenacity.Retrying(
        sleep=clock.sleep,
        stop=tenacity_stop(policy),
        wait=tenacity_wait(policy, random.Random(11)),
        retry=tenacity.retry_if_exception_type(TransientRemoteError),
        reraise=True,
    )
    call = Flaky(*(TransientRemoteError("503") for _ in range(3)))
    assert retrying(call) == "ok"
    assert call.calls == 4
    expected_rng = random.Random(11)
    assert clock.slept == [backoff_delay(policy, n, expected_rng) for n in (1, 2, 3)]
    assert clock.monotonic() == pytest.approx(sum(clock.slept))


def test_retrying_honours_retry_after_carried_by_the_error() -> None:
    policy = RetryPolicy(attempts=4)
    clock = ManualClock()
    retrying = build_retrying(policy, rng=random.Random(1), sleep=clock.sleep)
    call = Flaky(
        TransientRemoteError("429", retry_after=120.0),
        TransientRemoteError("429", retry_after=0.0),
    )
    assert retrying(call) == "ok"
    assert clock.slept == [120.0, 1.0]


def test_retrying_gives_up_after_attempts_and_reraises_the_last_error() -> None:
    policy = RetryPolicy(attempts=3)
    clock = ManualClock()
    retrying = build_retrying(policy, rng=random.Random(1), sleep=clock.sleep)
    last = TransientRemoteError("still down", retry_after=5.0)
    call = Flaky(TransientRemoteError("down"), TransientRemoteError("down"), last, last)
    with pytest.raises(TransientRemoteError) as caught:
        retrying(call)
    assert caught.value is last
    assert call.calls == 3
    assert len(clock.slept) == 2


def test_retrying_stops_instead_of_waiting_past_max_total_wait() -> None:
    # A 1 h Retry-After must not block the run: stop in-run, let next_attempt_at take over.
    policy = RetryPolicy(attempts=10, max_total_wait=300.0)
    clock = ManualClock()
    retrying = build_retrying(policy, rng=random.Random(1), sleep=clock.sleep)
    call = Flaky(TransientRemoteError("a"), TransientRemoteError("429", retry_after=3600.0))
    with pytest.raises(TransientRemoteError, match="429") as caught:
        retrying(call)
    assert call.calls == 2
    assert len(clock.slept) == 1
    assert caught.value.retry_after == 3600.0


def test_retrying_does_not_retry_permanent_errors_or_a_held_lease() -> None:
    clock = ManualClock()
    retrying = build_retrying(RetryPolicy(), rng=random.Random(1), sleep=clock.sleep)
    for error in (AuthError("nope"), AlreadyRunningError("busy"), KeyError("bug")):
        call = Flaky(error)
        with pytest.raises(type(error)):
            retrying(call)
        assert call.calls == 1
    assert clock.slept == []


def test_retrying_retries_protocol_errors_by_default_and_accepts_a_narrower_predicate() -> None:
    clock = ManualClock()
    default = build_retrying(RetryPolicy(), rng=random.Random(1), sleep=clock.sleep)
    assert default(Flaky(ProtocolError("bad json"))) == "ok"
    narrow = build_retrying(
        RetryPolicy(),
        rng=random.Random(1),
        sleep=clock.sleep,
        retry=tenacity.retry_if_not_exception_type(ProtocolError),
    )
    call = Flaky(ProtocolError("in doubt"))
    with pytest.raises(ProtocolError):
        narrow(call)
    assert call.calls == 1


def test_wait_strategy_composes_with_tenacity_waits() -> None:
    policy = RetryPolicy(attempts=3)
    clock = ManualClock()
    retrying = tenacity.Retrying(
        sleep=clock.sleep,
        stop=tenacity_stop(policy),
        wait=tenacity_wait(policy, random.Random(2)) + tenacity.wait_fixed(10),
        reraise=True,
    )
    assert retrying(Flaky(TransientRemoteError("x"))) == "ok"
    assert len(clock.slept) == 1
    assert 11.0 <= clock.slept[0] <= 12.0

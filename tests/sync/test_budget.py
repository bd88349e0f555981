"""Request budget: the sliding-window limit holds exactly, on simulated (monotonic) time."""

from __future__ import annotations

import bisect
import random
import threading
from datetime import timedelta

import pytest

from sync.budget import RequestBudget
from sync.clock import ManualClock
from sync.sandbox.ratelimit import SlidingWindow
from sync.settings import MileageSettings


def max_in_any_window(times: list[float], window: float) -> int:
    """The largest number of send times inside any half-open interval [t, t + window).

    A window's count only grows while its start moves left onto the next send time, so the
    windows starting at a send time are enough.
    """
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, start + window) - i for i, start in enumerate(ordered)),
        default=0,
    )


def test_max_in_any_window_helper_counts_half_open_windows() -> None:
    assert max_in_any_window([0, 1, 2, 300, 301], 300) == 3
    assert max_in_any_window([0, 299.999, 300], 300) == 2
    assert max_in_any_window([], 300) == 0


def test_draining_20k_requests_never_exceeds_the_limit_in_any_window() -> None:
    # docs/sync-guarantees.md (the request budget): drain 20k records on simulated time;
    # requests in every sliding 300 s window <= 1000. Irregular "work" between requests keeps
    # the pattern realistic.
    clock = ManualClock(monotonic_start=12_345.678)
    budget = RequestBudget(1000, 300.0, clock=clock)
    rng = random.Random(2026)
    sends = []
    for _ in range(20_000):
        budget.acquire()
        sends.append(clock.monotonic())
        clock.advance(rng.choice([0.0, 0.0, 0.001, 0.05, 0.2]))
    observed = max_in_any_window(sends, 300.0)
    assert observed == 1000  # the limit is reached (no waste) and never exceeded
    # And the drain is as fast as the limit allows: 20 full windows, less one.
    assert sends[-1] - sends[0] < 20 * 300.0


def test_burst_then_the_1001st_waits_exactly_until_the_first_leaves_the_window() -> None:
    clock = ManualClock()
    budget = RequestBudget(1000, 300.0, clock=clock)
    for _ in range(1000):
        assert budget.try_acquire()
        clock.advance(0.01)
    assert clock.slept == []  # the first 1000 were not delayed at all
    first_leaves = 0.0 + 300.0
    assert budget.wait_time() == pytest.approx(first_leaves - clock.monotonic())
    assert not budget.try_acquire()
    budget.acquire()
    assert clock.monotonic() == first_leaves
    assert len(clock.slept) == 1
    # The 1002nd waits for the second one, sent 0.01 s after the first.
    budget.acquire()
    assert clock.monotonic() == pytest.approx(300.01)


def test_requests_under_the_limit_are_never_delayed() -> None:
    clock = ManualClock()
    budget = RequestBudget(5, 10.0, clock=clock)
    for _ in range(50):
        budget.acquire()
        clock.advance(2.0)  # exactly the sustainable rate: 5 per 10 s
    assert clock.slept == []


def test_wall_clock_steps_have_no_effect() -> None:
    clock = ManualClock()
    budget = RequestBudget(3, 60.0, clock=clock)
    for _ in range(3):
        assert budget.try_acquire()
    clock.step_wall(timedelta(hours=2))  # forwards: must not free the window
    assert not budget.try_acquire()
    assert budget.wait_time() == 60.0
    clock.step_wall(timedelta(days=-1))  # backwards: must not extend the wait
    assert budget.wait_time() == 60.0
    budget.acquire()
    assert clock.slept == [60.0]


def test_penalty_pauses_every_user_and_only_extends() -> None:
    clock = ManualClock()
    budget = RequestBudget(1000, 300.0, clock=clock)
    assert budget.try_acquire()
    budget.penalize(120.0)
    assert budget.wait_time() == 120.0
    assert not budget.try_acquire()
    budget.note_retry_after(10.0)  # shorter: does not cut the longer pause
    assert budget.wait_time() == 120.0
    budget.note_retry_after(None)  # no header: nothing changes
    assert budget.wait_time() == 120.0
    budget.acquire()
    assert clock.monotonic() == 120.0
    assert budget.try_acquire()  # the pause is over


def test_penalty_rejects_nonsense() -> None:
    budget = RequestBudget(clock=ManualClock())
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="penalty"):
            budget.penalize(bad)


def test_acquire_with_max_wait_gives_up_without_sleeping() -> None:
    clock = ManualClock()
    budget = RequestBudget(1, 300.0, clock=clock)
    assert budget.acquire(max_wait=0)
    assert budget.acquire(max_wait=60.0) is False
    assert clock.slept == []
    assert budget.acquire(max_wait=300.0) is True
    assert clock.slept == [300.0]


def test_memory_is_bounded_by_the_limit() -> None:
    clock = ManualClock()
    budget = RequestBudget(10, 1.0, clock=clock)
    for _ in range(1000):
        budget.acquire()
    assert len(budget._sent) == 10
    assert len(budget._unsettled) == 10  # grants never settled are not kept past the log
    assert budget.in_window() == 10
    clock.advance(0.5)
    assert budget.in_window() == 10
    clock.advance(1.0)
    assert budget.in_window() == 0


def test_a_settled_grant_counts_from_its_answer() -> None:
    clock = ManualClock()
    budget = RequestBudget(2, 10.0, clock=clock)
    assert budget.try_acquire()
    clock.advance(3.0)  # the first answer takes 3 s
    budget.settle()
    assert budget.try_acquire()
    budget.settle()
    assert budget.wait_time() == pytest.approx(10.0)  # until 13: 10 s after the first *answer*
    clock.advance(9.999)
    assert not budget.try_acquire()
    clock.advance(0.001)
    assert budget.try_acquire()


def test_answers_in_any_order_leave_the_answers_times() -> None:
    clock = ManualClock()
    budget = RequestBudget(3, 10.0, clock=clock)
    assert budget.try_acquire()  # a: sent at 0
    clock.advance(1.0)
    assert budget.try_acquire()  # b: sent at 1
    clock.advance(1.0)
    budget.settle()  # b answered at 2 (the earliest grant's stamp moves: the same multiset)
    clock.advance(5.0)
    budget.settle()  # a answered at 7
    assert budget.try_acquire()  # c at 7, settled at once
    budget.settle()
    assert list(budget._sent) == [2.0, 7.0, 7.0]
    assert budget.wait_time() == pytest.approx(5.0)  # until 2 + 10
    budget.settle()  # one settle too many changes nothing
    assert list(budget._sent) == [2.0, 7.0, 7.0]


def test_random_latencies_never_meet_the_servers_window() -> None:
    # The server counts arrivals (the sandbox's own window, the same limit and window); the
    # arrival lies anywhere between send and answer. Stamping answers keeps every arrival
    # admitted, however the latency falls; stamping sends alone would not (checked below).
    for settle in (True, False):
        clock = ManualClock()
        budget = RequestBudget(5, 1.0, clock=clock)
        arrived = ManualClock()
        server = SlidingWindow(5, 1.0, arrived.monotonic)
        rng = random.Random(7)
        refused = 0
        for _ in range(400):
            budget.acquire()
            there = rng.choice([0.0, 0.001, 0.02, 0.3])
            back = rng.choice([0.0, 0.001, 0.02, 0.3])
            clock.advance(there)
            arrived.advance(clock.monotonic() - arrived.monotonic())
            refused += server.admit("token") is not None
            clock.advance(back)
            if settle:
                budget.settle()
        assert (refused == 0) is settle


class ReadingClock(ManualClock):
    """Remembers, per thread, the last monotonic reading: after acquire() it is the grant time."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def monotonic(self) -> float:
        self.local.last = super().monotonic()
        return float(self.local.last)


def test_concurrent_users_share_one_budget() -> None:
    # Push and reconciliation may run in different threads: together they stay in the limit.
    # (Reading the clock after acquire() could be late, as other threads move shared time.)
    clock = ReadingClock()
    budget = RequestBudget(50, 10.0, clock=clock)
    sends: list[float] = []
    lock = threading.Lock()

    def user() -> None:
        for _ in range(100):
            budget.acquire()
            with lock:
                sends.append(clock.local.last)

    threads = [threading.Thread(target=user) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(sends) == 400
    assert max_in_any_window(sends, 10.0) <= 50


def test_from_settings_uses_the_mileage_rate_fields() -> None:
    budget = RequestBudget.from_settings(
        MileageSettings(rate_limit=7, rate_window=12.5), clock=ManualClock()
    )
    assert (budget.limit, budget.window) == (7, 12.5)


@pytest.mark.parametrize(("limit", "window"), [(0, 300.0), (10, 0.0), (10, float("inf"))])
def test_invalid_budgets_are_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match=r"limit|window"):
        RequestBudget(limit, window, clock=ManualClock())

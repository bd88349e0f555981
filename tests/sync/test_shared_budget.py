"""The request budget shared through the store (issue 15): the daemon, ``tracker sync`` and an
app on one file together never exceed the server's limit. Two engines on two Tracker
instances of one file (a shared simulated clock), and two real ``tracker sync`` processes,
push a backlog one after the other against the sandbox enforcing a small limit: no 429; the
second waits, or stops with its work queued and says until when."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.budget import RequestBudget, SharedBudget, budget_key
from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxTransport, create_app, serve
from sync.settings import Settings
from tests.helpers.remote import fast_mileage
from tests.helpers.store import manual_trips
from tests.reliability.harness import EXE, clean_env
from tests.sync.test_budget import max_in_any_window
from tracker.store import Tracker

LIMIT, WINDOW = 20, 300.0


def _settings(home: Path, url: str = "http://sandbox") -> Settings:
    mileage = fast_mileage(url, batch_size=1, rate_limit=LIMIT, rate_window=WINDOW, two_way=False)
    return Settings(home=home, mileage=mileage)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limited(clock: ManualClock) -> Sandbox:
    # The server counts on the wall clock the processes share (the simulated wall moves in
    # whole microseconds, its monotonic scale does not: one scale for both sides).
    return Sandbox(clock=lambda: clock.wall().timestamp(), rate_limit=LIMIT, rate_window=WINDOW)


@pytest.fixture
def pair(home: Path, clock: ManualClock) -> Iterator[tuple[Tracker, Tracker]]:
    db = home / "tracker.db"
    with (
        Tracker.open(db, timezone="UTC", clock=clock.wall) as one,
        Tracker.open(db, timezone="UTC", clock=clock.wall) as two,
    ):
        yield one, two


def _engine(store: Tracker, sandbox: Sandbox, clock: ManualClock) -> SyncEngine:
    transport = SandboxTransport(create_app(sandbox))
    return SyncEngine(_settings(store.path.parent), store, clock=clock, transport=transport)


def test_two_engines_on_one_file_share_the_window(
    pair: tuple[Tracker, Tracker], limited: Sandbox, clock: ManualClock
) -> None:
    one, two = pair
    manual_trips(one, 15)
    with _engine(one, limited, clock) as first, _engine(two, limited, clock) as second:
        report = first.run(push=True, pull=False)
        assert report.push is not None and report.push.synced == 15
        manual_trips(two, 15)
        # A sync by hand (30 s budget): 5 slots are left; then it stops, work kept queued.
        report = second.run(push=True, pull=False, budget=30)
        assert report.push is not None and report.push.synced == 5
        # Said before claiming a batch, or by the request of a batch claimed ahead.
        said = f"{report.push.stopped} {report.push.retry_reason}"
        assert "request budget spent until 00:05:00 UTC" in said and "kept queued" in said
        assert two.journal.counts().pending == 10
        assert limited.request_count(status=429) == 0
        # Without a time budget (the daemon) it waits for the window instead, and drains.
        report = second.run(push=True, pull=False)
        assert report.push is not None and report.push.synced == 10
    assert limited.request_count(status=429) == 0
    assert clock.slept  # the second engine waited for the first one's grants to leave
    assert two.journal.counts().pending == 0


def test_without_sharing_the_second_engine_would_be_refused(
    pair: tuple[Tracker, Tracker], limited: Sandbox, clock: ManualClock
) -> None:
    # The control: the per-process budget of before (kept as the base class) cannot see the
    # first engine's requests; the server then answers 429.
    one, two = pair
    manual_trips(one, 15)
    with _engine(one, limited, clock) as first, _engine(two, limited, clock) as second:
        first.run(push=True, pull=False)
        second.budget = RequestBudget(LIMIT, WINDOW, clock=clock)
        manual_trips(two, 15)
        second.run(push=True, pull=False, budget=30)
    assert limited.request_count(status=429) > 0


def test_a_429_pause_holds_every_process(pair: tuple[Tracker, Tracker], clock: ManualClock) -> None:
    one, two = pair
    cfg = _settings(one.path.parent).mileage
    a = SharedBudget.for_store(cfg, one.grants, clock=clock)
    b = SharedBudget.for_store(cfg, two.grants, clock=clock)
    a.note_retry_after(42.0)
    assert b.wait_time() == pytest.approx(42.0)
    assert not b.try_acquire()
    clock.advance(42.0)
    assert b.try_acquire()


def test_another_processs_grant_counts_from_its_answer(
    pair: tuple[Tracker, Tracker], clock: ManualClock
) -> None:
    # Two processes, a limit of 2: a's requests are answered 3 s after they are sent, so
    # the server may have counted them that late; b waits a window from those answers.
    one, two = pair
    cfg = _settings(one.path.parent).mileage.model_copy(update={"rate_limit": 2})
    a = SharedBudget.for_store(cfg, one.grants, clock=clock)
    b = SharedBudget.for_store(cfg, two.grants, clock=clock)
    assert a.try_acquire() and a.try_acquire()
    clock.advance(3.0)
    a.settle()
    a.settle()
    clock.advance(WINDOW - 1.0)  # a window after the sends, not after the answers
    assert not b.try_acquire()
    assert b.wait_time() == pytest.approx(1.0)
    clock.advance(1.0)
    assert b.try_acquire()


def test_the_budget_key_names_no_secret() -> None:
    cfg = fast_mileage("https://tight.example", token="s3cr3t-token-value")
    key = budget_key(cfg)
    assert "s3cr3t" not in key
    assert key == budget_key(fast_mileage("https://tight.example", token="s3cr3t-token-value"))
    assert key != budget_key(fast_mileage("https://tight.example", token="another"))


def test_the_limit_holds_over_every_window_across_two_stores(
    pair: tuple[Tracker, Tracker], clock: ManualClock
) -> None:
    # Two budgets on two stores of one file, taking turns irregularly on simulated time.
    one, two = pair
    cfg = _settings(one.path.parent).mileage
    budgets = [SharedBudget.for_store(cfg, s.grants, clock=clock) for s in (one, two)]
    sends = []
    for i in range(120):
        budgets[i % 3 % 2].acquire()
        sends.append(clock.monotonic())
        clock.advance((0.0, 1.0, 7.5)[i % 3])
    assert max_in_any_window(sends, WINDOW) == LIMIT


def test_two_tracker_sync_processes_one_after_the_other_get_no_429(home: Path) -> None:
    # Real processes share only the file and the wall clock: the second finds the budget
    # spent (the sandbox's window is 300 real seconds) and stops at once, nothing refused.
    sandbox = Sandbox(rate_limit=LIMIT, rate_window=WINDOW)
    with serve(sandbox) as server:
        env = clean_env(
            TRACKER_HOME=str(home),
            TRACKER_MILEAGE_URL=server.tight_url,
            TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
            TRACKER_MILEAGE_BATCH_SIZE="1",
            TRACKER_MILEAGE_RATE_LIMIT=str(LIMIT),
            TRACKER_MILEAGE_TWO_WAY="false",
        )
        with Tracker.open(home / "tracker.db", timezone="UTC") as store:
            manual_trips(store, 15)
        first = _tracker(env, "sync", "--push")
        assert first.returncode == 0, first.stderr
        with Tracker.open(home / "tracker.db", timezone="UTC") as store:
            manual_trips(store, 15)
        second = _tracker(env, "sync", "--push")
        with Tracker.open(home / "tracker.db", timezone="UTC") as store:
            pending = store.journal.counts().pending
    assert second.returncode == 75, second.stderr
    assert "request budget spent until" in second.stderr
    assert "kept queued" in second.stderr
    assert "Traceback" not in second.stderr
    assert sandbox.request_count(status=429) == 0
    assert sandbox.request_count() == LIMIT
    assert pending == 10


def _tracker(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_wait_shorter_than_a_microsecond_still_ends(
    pair: tuple[Tracker, Tracker], clock: ManualClock
) -> None:
    # The simulated wall counts whole microseconds: a sub-microsecond sleep would not move it.
    one, _two = pair
    cfg = _settings(one.path.parent).mileage
    budget = SharedBudget(one.grants, budget_key(cfg), 1, 1e-7, clock=clock)
    for _ in range(5):
        assert budget.acquire()
    assert clock.slept


def test_a_push_writes_an_answers_stamp_with_its_next_grant(
    pair: tuple[Tracker, Tracker], clock: ManualClock
) -> None:
    # Within coalescing() (a push run) a's answers are not written one by one: the next
    # grant carries them, in its transaction, and the end of the run writes the rest. b sees
    # each answer's time from then on, as it would have at once.
    one, two = pair
    cfg = _settings(one.path.parent).mileage.model_copy(update={"rate_limit": 2})
    a = SharedBudget.for_store(cfg, one.grants, clock=clock)
    b = SharedBudget.for_store(cfg, two.grants, clock=clock)
    with a.coalescing():
        assert a.try_acquire()
        clock.advance(3.0)
        a.settle()  # answered at 3
        assert a.try_acquire()  # the first answer's stamp goes with this grant
        clock.advance(2.0)
        a.settle()  # answered at 5, written when the run ends
    clock.advance(WINDOW - 3.0)  # a window after the second send: both answers count
    assert not b.try_acquire()
    assert b.wait_time() == pytest.approx(1.0)  # until the first answer (3) leaves
    clock.advance(1.0)
    assert b.try_acquire()


def test_held_back_stamps_are_written_before_any_wait(
    pair: tuple[Tracker, Tracker], clock: ManualClock
) -> None:
    one, two = pair
    cfg = _settings(one.path.parent).mileage.model_copy(update={"rate_limit": 1})
    a = SharedBudget.for_store(cfg, one.grants, clock=clock)
    b = SharedBudget.for_store(cfg, two.grants, clock=clock)
    with a.coalescing():
        assert a.try_acquire()
        clock.advance(3.0)
        a.settle()
        assert not a.try_acquire()  # a's own window is full: it waits, its stamp written
        clock.advance(WINDOW - 1.0)
        assert b.wait_time() == pytest.approx(1.0)  # counted from the answer at 3, not 0
        a.flush()
        a.note_retry_after(1.0)  # a pause (429) writes them too; nothing left here

"""Fleet mode: one run over every account with work, in turns.

A :class:`RotatingEngine` is the implicit account's engine whose :meth:`~RotatingEngine.run`
also syncs every active account (``TRACKER_SYNC_ACCOUNTS=all``). The accounts with changes
due take turns, each for at most ``TRACKER_SCHEDULE_ACCOUNT_TURN`` seconds (its run stops
after the batch under way once its turn is over, as for a stop asked for: no request is
cut), until none has work due or the run's budget is spent. The next turn goes to the
account this worker served longest ago (:func:`next_turn`), and the accounts with work are
read before every turn: round robin while the same accounts have work, and an account whose
first change just arrived goes next. One account's backlog of 100k trips never holds back
another account's single new trip by more than a turn.
Each account keeps its own engine (its token, its request budget) from run to run.

An account whose credentials cannot be read, or that was disabled meanwhile, fails alone:
its failure is in the report (``push:NAME``) and the others take their turns.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sync.budget import RequestBudget
from sync.clock import Clock
from sync.deadline import Deadline
from sync.engine import SyncEngine
from sync.errors import SyncError
from sync.report import SyncReport
from sync.settings import Settings
from sync.tight.pull import MileagePullReport
from sync.tight.report import PushReport
from tracker.errors import TrackerError
from tracker.store import Tracker

__all__ = ["RotatingEngine", "engine_for", "next_turn"]

log = logging.getLogger(__name__)


def engine_for(settings: Settings, store: Tracker, **options: Any) -> SyncEngine:
    """The engine of a daemon, an app or a plain ``tracker sync``: the implicit account's,
    or with ``TRACKER_SYNC_ACCOUNTS=all`` one that syncs every account in turns."""
    if settings.sync_accounts == "all":
        return RotatingEngine(settings, store, **options)
    return SyncEngine(settings, store, **options)


def next_turn(due: Mapping[str | None, int], served_at: Mapping[str | None, float]) -> str | None:
    """Whose turn it is, of the accounts with work (name -> changes due): the one this
    worker served longest ago, one never served first; among those, the smallest backlog
    (then by name). Round robin while the same accounts have work; an account whose first
    change just arrived goes next, and a worker just started serves the small backlogs
    first, so that one account's single new trip never waits for the big ones.

    >>> next_turn({"a": 9, "b": 9, "c": 9}, {"a": 3.0, "b": 1.0, "c": 2.0})
    'b'
    >>> next_turn({"a": 9, "b": 9, "new": 1}, {"a": 3.0, "b": 1.0})
    'new'
    >>> next_turn({"big": 25_000, "quiet": 1, None: 300}, {})
    'quiet'
    """
    return min(due, key=lambda name: (served_at.get(name, -math.inf), due[name], _key(name)))


def _key(name: str | None) -> tuple[bool, str]:
    return (name is not None, name or "")


class _TurnEnd(threading.Event):
    """The stop an account's run is given: set when the run's own stop is, or once the
    account's turn is over. The run then ends after the batch under way, as for a stop
    asked for: a turn never cuts a request (a time budget would, leaving it in doubt).

    A turn over before its first request went out ends only if the account cannot send now
    anyway (its request budget is spent): else a slow start (the account's first engine,
    its lease, a connection, on a loaded machine) left the turn empty and sent the account
    to the back of the line; at 50k trips a quiet account's one trip waited a whole round
    (~60 s) so."""

    def __init__(
        self, stop: threading.Event | None, clock: Clock, until: float, budget: RequestBudget
    ) -> None:
        super().__init__()
        self._stop = stop
        self._clock = clock
        self._until = until
        self._budget = budget
        self._sent = False

    def sent(self) -> None:
        """A request of the account's run has gone out."""
        self._sent = True

    def is_set(self) -> bool:
        """True once the run is stopped or the turn is over (see the class docstring)."""
        if self._stop is not None and self._stop.is_set():
            return True
        if self._clock.monotonic() < self._until:
            return False
        return self._sent or self._budget.wait_time() > 0


def _left(deadline: Deadline) -> float | None:
    """The run's remaining budget for one account's run (None: no budget)."""
    remaining = deadline.remaining()
    return None if remaining == float("inf") else max(remaining, 1e-6)


@dataclass(frozen=True)
class _Asked:
    """What the caller asked of the whole run, passed to each account's."""

    stop: threading.Event | None
    retry_waiting: bool
    connect_tries: int | None


class RotatingEngine(SyncEngine):
    """The implicit account's engine, whose runs sync every active account in turns (see
    the module docstring). Built like :class:`~sync.engine.SyncEngine`; ``store`` is the
    whole store."""

    def __init__(self, settings: Settings, store: Tracker, **options: Any) -> None:
        super().__init__(settings, store, **options)
        self._options = options
        self._accounts: dict[str, SyncEngine] = {}
        self._served_at: dict[str | None, float] = {}  # account -> when this worker served it
        self._turn = settings.schedule.account_turn
        self._rotation_lock = threading.Lock()
        self._current: _TurnEnd | None = None  # the turn under way
        # Every engine's hook goes through _on_point (a turn learns of its first request),
        # then to the caller's.
        self._caller_hook = self.hook
        self.hook = self._on_point

    def run(
        self,
        *,
        push: bool = True,
        pull: bool | None = None,
        budget: float | None = None,
        stop: threading.Event | None = None,
        retry_waiting: bool = False,
        connect_tries: int | None = None,
    ) -> SyncReport:
        """One run over the accounts: a pull (``push=False``) reads each active account's
        records; a push gives each account with changes due its turns until none is left.
        The report sums them (``push``, ``mileage``); each account's own is in
        ``accounts``."""
        with self._rotation_lock:
            deadline = Deadline.after(self.clock, budget)
            total = SyncReport()
            asked = _Asked(stop, retry_waiting, connect_tries)
            if not push:
                for name in [None, *self.store.accounts.active_names()]:
                    if self._out_of_time(total, deadline, stop):
                        break
                    engine = self._built(name, total)
                    if engine is not None:
                        self._turn_of(
                            engine,
                            name,
                            total,
                            asked,
                            push=False,
                            pull=pull,
                            seconds=_left(deadline),
                        )
                return total
            pulled: set[str | None] = set()
            idle: set[str | None] = set()  # accounts whose last turn moved nothing
            while not self._out_of_time(total, deadline, stop):
                # Read before every turn: an account whose first change arrives now is in
                # the very next round, not after the one under way.
                due = self._due(retry_waiting)
                if not due or due.keys() <= idle:
                    break  # nothing due, or every account with work is offline or refused
                name = next_turn(due, self._served_at)
                engine = self._built(name, total)
                # An account's pulls (the costs, a walk) go with its first turn only.
                first_turn = name not in pulled
                pulled.add(name)
                report = None
                if engine is not None:
                    until = self.clock.monotonic() + self._turn
                    self._current = _TurnEnd(stop, self.clock, until, engine.budget)
                    report = self._turn_of(
                        engine,
                        name,
                        total,
                        replace(asked, stop=self._current),
                        push=True,
                        pull=pull if first_turn else False,
                        seconds=_left(deadline),
                    )
                    self._current = None
                self._served_at[name] = self.clock.monotonic()
                log.info(
                    "turn done",
                    extra={
                        "account": name or "default",
                        "due": due[name],
                        "synced": 0
                        if report is None or report.push is None
                        else report.push.synced,
                    },
                )
                if _moved(report):
                    idle.discard(name)
                else:
                    idle.add(name)
            if total.push is not None:
                total.push.stopped = total.stopped  # a turn's end is not the run's
            return total

    def _on_point(self, point: str) -> None:
        turn = self._current
        if point == "after_send" and turn is not None:
            turn.sent()
        self._caller_hook(point)

    def work_due(self) -> bool:
        """Whether any active account has changes due now."""
        return bool(self._due(retry_waiting=False))

    def _due(self, retry_waiting: bool) -> dict[str | None, int]:
        due = self.store.outbox.due_accounts(retry_waiting=retry_waiting)
        active = set(self.store.accounts.active_names())
        return {name: n for name, n in due.items() if name is None or name in active}

    @staticmethod
    def _out_of_time(total: SyncReport, deadline: Deadline, stop: threading.Event | None) -> bool:
        if stop is not None and stop.is_set():
            total.stopped = "stop requested"
        elif deadline.expired():
            total.stopped = "the run's time budget is spent"
        return total.stopped is not None

    def _built(self, name: str | None, total: SyncReport) -> SyncEngine | None:
        """The account's engine (None: the implicit account's, this one), or None when it
        cannot be built (its failure is then in ``total``)."""
        try:
            return self._engine(name)
        except (SyncError, TrackerError) as err:
            total.failures[f"push:{name}"] = err
            return None

    def _turn_of(
        self,
        engine: SyncEngine,
        name: str | None,
        total: SyncReport,
        asked: _Asked,
        *,
        push: bool,
        pull: bool | None,
        seconds: float | None,
    ) -> SyncReport:
        """One account's run with its ``engine`` (this one: the implicit account's), added
        to ``total``."""
        run = super().run if engine is self else engine.run
        report = run(
            push=push,
            pull=pull,
            budget=seconds,
            stop=asked.stop,
            retry_waiting=asked.retry_waiting,
            connect_tries=asked.connect_tries,
        )
        _add(total, name, report)
        return report

    def _engine(self, name: str | None) -> SyncEngine:
        if name is None:
            return self
        if name not in self._accounts:
            engine = SyncEngine(self.settings, self.store, account=name, **self._options)
            engine.hook = self._on_point
            self._accounts[name] = engine
        return self._accounts[name]

    def interrupt(self) -> None:
        """Cut every request under way, of every account."""
        super().interrupt()
        for engine in list(self._accounts.values()):
            engine.interrupt()

    def resume(self) -> None:
        """Allow requests again, for every account."""
        super().resume()
        for engine in list(self._accounts.values()):
            engine.resume()

    def close(self) -> None:
        """Close every account's clients."""
        for engine in self._accounts.values():
            engine.close()
        self._accounts.clear()
        super().close()


def _moved(report: SyncReport | None) -> bool:
    push = None if report is None else report.push
    return push is not None and bool(
        push.synced or push.deleted or push.deleted_locally or push.parked or push.fenced
    )


def _add(total: SyncReport, name: str | None, report: SyncReport) -> None:
    """Sum an account's run into the rotation's report."""
    key = "default" if name is None else name
    total.accounts[key] = report
    total.steps = tuple(dict.fromkeys((*total.steps, *report.steps)))
    for step, error in report.failures.items():
        total.failures[step if name is None else f"{step}:{name}"] = error
    total.unreachable.extend(report.unreachable)
    if report.costs is not None:
        total.costs = report.costs
    if report.mileage is not None:
        total.mileage = total.mileage or MileagePullReport()
        total.mileage.count(report.mileage)
    if report.push is not None:
        total.push = _sum_push(total.push or PushReport(), report.push)


def _sum_push(into: PushReport, more: PushReport) -> PushReport:
    for field in fields(PushReport):
        value = getattr(more, field.name)
        if isinstance(value, int):
            setattr(into, field.name, getattr(into, field.name) + value)
        elif isinstance(value, list):
            getattr(into, field.name).extend(value)
        elif value is not None:
            setattr(into, field.name, value)  # stopped, retry_reason: the latest said
    return into

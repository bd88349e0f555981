"""The request budget's shared window (tracker.grants) and its pure rule (tracker.ratewindow):
two stores on one file share one window; clock steps back are taken conservatively."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker.grants import Window
from tracker.ratewindow import slot_wait, step_back
from tracker.store import Tracker

W = Window("tight:test", limit=3, window=10.0)


class Wall:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, value: float = 1_800_000_000.0) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def pair(db_path: Path) -> Iterator[tuple[Tracker, Tracker]]:
    with (
        Tracker.open(db_path, timezone="UTC") as one,
        Tracker.open(db_path, timezone="UTC") as two,
    ):
        yield one, two


def test_slot_wait_is_the_later_of_the_window_and_the_pause() -> None:
    assert slot_wait(None, 0.0, 100.0, 10.0) == 0.0
    assert slot_wait(95.0, 0.0, 100.0, 10.0) == 5.0
    assert slot_wait(90.0, 0.0, 100.0, 10.0) == 0.0  # the window is half-open
    assert slot_wait(95.0, 108.0, 100.0, 10.0) == 8.0
    assert step_back(100.0, 40.0) == 60.0
    assert step_back(40.0, 100.0) == 0.0


def test_two_stores_on_one_file_share_one_window(pair: tuple[Tracker, Tracker]) -> None:
    one, two = pair
    wall = Wall()
    assert one.grants.take(W, wall) == 0.0
    wall.value += 1
    assert two.grants.take(W, wall) == 0.0
    wall.value += 1
    assert one.grants.take(W, wall) == 0.0
    # The fourth request, whichever store asks, waits for the first to leave the window.
    assert two.grants.take(W, wall) == pytest.approx(8.0)
    assert one.grants.wait(W, wall) == pytest.approx(8.0)
    assert one.grants.in_window(W, wall) == 3
    wall.value += 8
    assert two.grants.take(W, wall) == 0.0
    # Another key has its own window.
    assert one.grants.take(Window("tight:other", 3, 10.0), wall) == 0.0


def test_a_pause_holds_every_store_and_only_extends(pair: tuple[Tracker, Tracker]) -> None:
    one, two = pair
    wall = Wall()
    one.grants.pause(W.key, 30.0, wall)
    two.grants.pause(W.key, 5.0, wall)  # shorter: changes nothing
    assert two.grants.wait(W, wall) == pytest.approx(30.0)
    assert two.grants.take(W, wall) == pytest.approx(30.0)
    wall.value += 30
    assert two.grants.take(W, wall) == 0.0


def test_a_step_back_never_lets_a_grant_leave_early(pair: tuple[Tracker, Tracker]) -> None:
    one, two = pair
    wall = Wall()
    for _ in range(3):
        assert one.grants.take(W, wall) == 0.0
    wall.value -= 3600  # the wall clock is set back an hour
    # Not an hour's wait: the grants are moved back with the clock (by the step seen).
    assert two.grants.wait(W, wall) == pytest.approx(10.0)
    assert two.grants.take(W, wall) == pytest.approx(10.0)
    wall.value += 9.9
    assert one.grants.take(W, wall) > 0  # still inside its full window on the new clock
    wall.value += 0.1
    assert one.grants.take(W, wall) == 0.0


def test_grants_out_of_the_window_are_pruned(pair: tuple[Tracker, Tracker], db_path: Path) -> None:
    one, _two = pair
    wall = Wall()
    for _ in range(50):
        while (wait := one.grants.take(W, wall)) > 0:
            wall.value += wait
        wall.value += 0.5
    with contextlib.closing(sqlite3.connect(db_path)) as con:
        (rows,) = con.execute("SELECT count(*) FROM request_grant").fetchone()
    assert rows <= W.limit


def test_a_grant_commits_without_waiting_for_the_disk_and_restores_the_setting(
    pair: tuple[Tracker, Tracker],
) -> None:
    one, _two = pair
    assert one.grants.take(W, Wall()) == 0.0
    for _ in range(3):  # every pooled connection is back at the store's FULL
        with one.db.read() as s:
            assert s.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 2

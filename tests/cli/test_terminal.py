"""What a person sees on a real terminal (a pseudo-terminal, rendered by a VT100 emulator):
colour on a terminal and none in a pipe or with NO_COLOR, a progress bar that ends at 100 %
and leaves only the summary on the screen. Issue 16."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from sync.sandbox import DEFAULT_TOKEN, SandboxServer
from tests.helpers.terminal import Run, colours, in_terminal
from tracker.store import Tracker

EXE = str(Path(sys.executable).parent / "tracker")
RED, YELLOW = 31, 33


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return {**env, "TERM": "xterm-256color", **extra}


def _tracker(*argv: str, **extra: str) -> Run:
    return in_terminal([EXE, *argv], _env(**extra))


def _piped(*argv: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [EXE, *argv], env=_env(**extra), capture_output=True, timeout=60, check=False
    )


def test_colour_on_a_terminal_none_in_a_pipe_or_with_no_color() -> None:
    assert _tracker("trip", "add", "--date", "2026-03-01", "--distance", "12").code == 0

    listed = _tracker("trip", "list")
    assert listed.code == 0
    assert YELLOW in colours(listed.raw)  # the pending state
    assert "pending" in listed.screen and "12 km" in listed.screen
    failed = _tracker("trip", "show", "nope")
    assert failed.code == 65
    assert b"\x1b[1;31merror:\x1b[0m no trip with id 'nope'" in failed.raw

    for argv in (("trip", "list"), ("trip", "show", "nope")):
        plain = _tracker(*argv, NO_COLOR="1")
        assert colours(plain.raw) == set(), argv
        assert _tracker(*argv, TERM="dumb").raw.count(b"\x1b[3") == 0, argv
        piped = _piped(*argv)
        assert b"\x1b" not in piped.stdout + piped.stderr, argv
    assert "error: no trip with id 'nope'" in _piped("trip", "show", "nope").stderr.decode()


@pytest.mark.slow
def test_the_push_bar_ends_at_100_percent_and_leaves_the_summary(
    server: SandboxServer, tmp_path: Path
) -> None:
    with Tracker.open(Path(os.environ["TRACKER_HOME"]) / "tracker.db") as store:
        store.add_trips(
            {"date": f"2026-03-{1 + n % 28:02d}", "distance": Decimal(n + 1), "unit": "km"}
            for n in range(240)
        )
    online = {
        "TRACKER_MILEAGE_URL": server.tight_url,
        "TRACKER_MILEAGE_TOKEN": DEFAULT_TOKEN,
        "TRACKER_MILEAGE_BATCH_SIZE": "20",
    }
    done = _tracker("sync", "--push", **online)
    assert done.code == 0, done.screen
    assert b"100%" in done.raw  # the bar's last frame: every one of the 240 changes done
    assert b"push: 240 trips" in done.raw  # the step as the summary names it, and its count
    assert re.search(rb"\d:\d\d:\d\d", done.raw)  # the time left (ETA) column
    # The bar was transient: what stays on the screen is the summary alone.
    assert done.screen.splitlines()[-2:] == [
        "push: 240 saved on Tight (12 requests)",
        "queue: empty, all synced",
    ]
    assert "%" not in done.screen

    piped = _piped("sync", "--push", **online)
    assert piped.returncode == 0
    assert piped.stderr == b""  # no bar, no log lines in a pipe: the summary alone
    assert piped.stdout.decode().splitlines()[-1] == "queue: empty, all synced"

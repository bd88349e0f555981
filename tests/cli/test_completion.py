"""Shell completion (bash, zsh, fish): commands, choices, and the ids of the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.store import manual_trips
from tracker.candidates import id_candidates
from tracker.store import Tracker


def _complete(home: Path, shell: str, words: str) -> list[str]:
    env = {**os.environ, "TRACKER_HOME": str(home), "_TRACKER_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        env |= {"COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    else:
        env |= {"_TYPER_COMPLETE_ARGS": words, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    done = subprocess.run(
        [sys.executable, "-m", "sync.cli"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.fixture
def trips(tmp_path: Path) -> list[str]:
    with Tracker.open(tmp_path / "home" / "tracker.db", timezone="UTC") as store:
        return manual_trips(store, 3)


def test_commands_and_choices_complete(tmp_path: Path) -> None:
    assert _complete(tmp_path / "home", "bash", "tracker tr") == ["trip"]
    assert _complete(tmp_path / "home", "bash", "tracker trip sh") == ["show"]
    states = _complete(tmp_path / "home", "fish", "tracker trip list --state ")
    assert {"pending", "synced", "conflict"} <= set(states)


def test_trip_ids_complete_from_the_store(tmp_path: Path, trips: list[str]) -> None:
    home = tmp_path / "home"
    assert sorted(_complete(home, "bash", "tracker trip show ")) == sorted(trips)
    first = trips[0]
    assert _complete(home, "bash", f"tracker trip show {first[:6]}") == [first]
    assert _complete(home, "fish", f"tracker trip stop {first[:6]}") == [first]
    assert _complete(home, "bash", "tracker trip show zzzz") == []


def test_the_script_for_each_shell_is_printed() -> None:
    # Typer detects the user's shell from the parent process; its switch for tests lets the
    # option take the shell's name instead.
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    for shell, marker in (
        ("bash", "complete -o"),
        ("zsh", "compdef"),
        ("fish", "complete --command tracker"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "sync.cli", "--show-completion", shell],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        assert marker in done.stdout, shell


def test_candidates_are_quiet_when_the_file_is_missing_or_not_a_database(tmp_path: Path) -> None:
    assert id_candidates(tmp_path / "none.db", "trip", "ab") == []
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite" * 100)
    assert id_candidates(junk, "trip", "") == []
    assert not (tmp_path / "none.db").exists()  # read-only: nothing created

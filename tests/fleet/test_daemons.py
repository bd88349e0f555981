"""Fleet mode: `tracker daemon` on several machines against one PostgreSQL database. Each
runs under a lease of its own (on SQLite a second daemon is refused with exit code 75)."""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from sync.sandbox import Sandbox, SandboxServer
from sync.watchdog import Notifications
from tests.helpers.remote import KEY, fleet_env
from tests.helpers.store import claim, manual_trips
from tests.helpers.wait import wait_for
from tracker.store import Tracker

pytestmark = pytest.mark.slow  # real processes: the full run only

EXE = str(Path(sys.executable).parent / "tracker")


def test_two_daemons_run_side_by_side_and_store_each_trip_once(
    pg_url: str, server: SandboxServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    # No scheduled push after the first: what the daemons push later, a NOTIFY from the
    # journal (migration 0020) made them push.
    settings = {
        "TRACKER_MILEAGE_BATCH_SIZE": "5",
        "TRACKER_SCHEDULE_PUSH_INTERVAL": "3600",
        "TRACKER_SCHEDULE_PULL_INTERVAL": "3600",
        "TRACKER_SCHEDULE_JITTER": "0",
        "TRACKER_SCHEDULE_SOON_DELAY": "0.2",
        "TRACKER_LOG_LEVEL": "INFO",
    }
    procs = []
    try:
        for n in (1, 2):
            home = tmp_path / f"machine{n}"
            procs.append(
                subprocess.Popen(
                    [EXE, "daemon", "--log-file", str(home / "daemon.log")],
                    env=fleet_env(pg_url, server.tight_url, home, **settings),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        logs = [tmp_path / f"machine{n}" / "daemon.log" for n in (1, 2)]
        assert wait_for(lambda: all(_said(log, "sync service started") for log in logs), 60)
        with Tracker.open_url(pg_url, timezone="UTC") as store:
            ids = []
            for _wave in range(2):  # the second long after both daemons' first runs
                ids += manual_trips(store, 10)
                assert wait_for(functools.partial(_stored_once, sandbox, list(ids)), 60)
                assert wait_for(lambda: store.journal.counts().pending == 0, 30)
        assert [p.poll() for p in procs] == [None, None]  # neither was refused
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=30) for p in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)
    assert _stored_once(sandbox, ids)


def _stored_once(sandbox: Sandbox, ids: list[str]) -> bool:
    return all(len(sandbox.records_with_custom(KEY, i)) == 1 for i in ids)


def _said(log: Path, words: str) -> bool:
    return log.exists() and words in log.read_text()


def test_a_change_queued_anywhere_is_heard_by_every_listener(pg_url: str) -> None:
    """The journal's NOTIFY (migration 0020) reaches each worker's private LISTEN connection
    when a change is queued; claims and answers stay quiet."""
    with Tracker.open_url(pg_url, timezone="UTC") as store:
        listeners = [Notifications(store.db.engine), Notifications(store.db.engine)]
        try:
            assert not any(n.changed() for n in listeners)
            manual_trips(store, 2)
            for n in listeners:
                assert wait_for(n.changed, 10)
            claim(store, "worker-a", 2, timedelta(minutes=5))
            manual_trips(store, 1)  # after the claim: the one notice heard is this change
            for n in listeners:
                assert wait_for(n.changed, 10)
                assert not n.changed()
        finally:
            for n in listeners:
                n.close()

"""The daemon as a real process: recording elsewhere, SIGTERM, SIGKILL, concurrency, and
one daemon per database. The sandbox runs in this test process, so it survives the kills."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.errors import AlreadyRunningError
from sync.sandbox import DEFAULT_TOKEN, Latency, Sandbox, SandboxServer
from sync.settings import Settings
from tests.helpers.remote import KEY, fast_mileage, push
from tests.helpers.store import manual_trips
from tests.helpers.wait import wait_for
from tracker.store import Tracker

pytestmark = pytest.mark.slow  # real processes and waits: the full run only

EXE = str(Path(sys.executable).parent / "tracker")


@pytest.fixture
def env(home: Path, server: SandboxServer) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    values.update(
        TRACKER_HOME=str(home),
        TRACKER_MILEAGE_URL=server.tight_url,
        TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
        TRACKER_MILEAGE_BACKOFF_INITIAL="0.05",
        TRACKER_MILEAGE_BACKOFF_MAX="0.2",
        TRACKER_MILEAGE_LEASE_SECONDS="2",
        TRACKER_SCHEDULE_LEASE_SECONDS="2",
        TRACKER_SCHEDULE_PUSH_INTERVAL="30",
        TRACKER_SCHEDULE_JITTER="0",
        TRACKER_SCHEDULE_SOON_DELAY="0.2",
        TRACKER_LOG_LEVEL="INFO",
    )
    return values


@pytest.fixture
def start_daemon(env: dict[str, str], home: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [EXE, "daemon", "--log-file", str(home / "daemon.log")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert wait_for(lambda: _daemon_running(env) or proc.poll() is not None, 20)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _daemon_running(env: dict[str, str]) -> bool:
    out = subprocess.run(
        [EXE, "status", "--json"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return out.returncode == 0 and bool(json.loads(out.stdout)["daemon"]["running"])


def _cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *argv], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_daemon_pushes_trips_recorded_by_another_process_within_seconds(
    env: dict[str, str],
    sandbox: Sandbox,
    start_daemon: Callable[[], subprocess.Popen[str]],
    home: Path,
) -> None:
    daemon = start_daemon()
    added = [
        json.loads(
            _cli(env, "trip", "add", "--distance", "3.5", "--date", "2026-03-01", "--json").stdout
        )["id"]
        for _ in range(3)
    ]
    assert wait_for(lambda: all(sandbox.stored_count_by_custom(KEY, t) == 1 for t in added), 10)
    second = _cli(env, "daemon")
    assert second.returncode == 75
    assert "already running" in second.stderr
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=10) == 0
    log = (home / "daemon.log").read_text()
    assert DEFAULT_TOKEN not in log
    assert "daemon stopped" in log
    assert oct((home / "daemon.log").stat().st_mode & 0o777) == "0o600"


def _integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def test_sigterm_mid_batch_exits_cleanly(
    env: dict[str, str],
    sandbox: Sandbox,
    store: Tracker,
    start_daemon: Callable[[], subprocess.Popen[str]],
    home: Path,
) -> None:
    ids = manual_trips(store, 250)
    sandbox.add_fault(Latency(seconds=1.0, path="/v6/mileage", times=None))
    daemon = start_daemon()
    assert wait_for(lambda: sandbox.request_count("/v6/mileage") >= 1, 10)
    started = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=10) == 0
    assert time.monotonic() - started < 5.0
    counts = store.journal.counts()
    assert counts.in_flight == 0  # the batch in flight was finished or given back, never half
    assert counts.synced + counts.pending == 250
    assert _integrity(home / "tracker.db") == "ok"
    sandbox.clear_faults()
    assert _cli(env, "sync").returncode == 0
    assert all(sandbox.stored_count_by_custom(KEY, i) == 1 for i in ids)


HOLD = 2.0
"""Seconds the server holds a batch before answering, in the SIGKILL test."""


def _held(sandbox: Sandbox) -> int:
    """Batches the server received whole and has not answered yet (a batch whose body was
    still arriving when the client died is never stored: not the case this test plays)."""
    return sum(
        1 for r in sandbox.requests if r.path == "/v6/mileage" and r.status is None and r.received
    )


def _answered(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.path == "/v6/mileage" and r.status is not None)


def test_sigkill_mid_batch_then_manual_sync_stores_each_trip_once(
    env: dict[str, str],
    sandbox: Sandbox,
    store: Tracker,
    start_daemon: Callable[[], subprocess.Popen[str]],
    home: Path,
) -> None:
    ids = manual_trips(store, 400)
    # The server stores each batch after a delay: killing the daemon meanwhile leaves the
    # outcome unknown to the client (the hardest case). The first batch is answered soon;
    # each later one is held HOLD seconds, so the kill lands while the server holds a batch
    # however late this test gets to look (4 batches: a window of 6 s, not 0.7 s).
    sandbox.add_fault(Latency(seconds=0.2, path="/v6/mileage", times=1))
    sandbox.add_fault(Latency(seconds=HOLD, path="/v6/mileage", times=None))
    daemon = start_daemon()
    assert wait_for(lambda: _answered(sandbox) >= 1 and _held(sandbox) >= 1, 30)
    daemon.kill()
    daemon.wait(timeout=10)
    sandbox.clear_faults()
    # The server finishes storing what it received (after its latency), whatever the client.
    assert wait_for(lambda: _held(sandbox) == 0, 3 * HOLD + 10)
    assert _integrity(home / "tracker.db") == "ok"
    # The killed daemon's leases are taken over at once (it is dead on this host); its
    # claimed batch comes back in doubt and is reconciled before anything is resent.
    runs = [_cli(env, "sync", "--json")]
    assert runs[0].returncode == 0, runs[0].stderr
    # The batch the server stored after the kill was adopted (by the pull that reads Tight's
    # records first, or by the push's reconciliation), not resent.
    docs = [json.loads(r.stdout) for r in runs if r.stdout]
    found = sum(d["push"]["reconciled_found"] + d["mileage"]["adopted"] for d in docs)
    assert found >= 1
    assert sandbox.duplicates_by_custom(KEY) == {}
    assert all(sandbox.stored_count_by_custom(KEY, i) == 1 for i in ids)
    assert store.journal.counts().pending == 0


def test_app_daemon_and_manual_sync_together_redeliver_nothing(
    env: dict[str, str],
    sandbox: Sandbox,
    store: Tracker,
    home: Path,
    start_daemon: Callable[[], subprocess.Popen[str]],
    server: SandboxServer,
) -> None:
    start_daemon()
    app = SyncEngine(Settings(home=home, mileage=fast_mileage(server.tight_url)), store)
    stop = threading.Event()
    ids: list[str] = []

    def app_loop() -> None:
        while not stop.is_set():
            ids.extend(manual_trips(store, 20))
            with contextlib.suppress(AlreadyRunningError):
                push(app)
            time.sleep(0.05)

    thread = threading.Thread(target=app_loop)
    thread.start()
    manual = [_cli(env, "sync") for _ in range(4)]
    stop.set()
    thread.join()
    app.close()
    assert all(m.returncode in (0, 75) for m in manual), [m.stderr for m in manual]
    assert wait_for(lambda: _cli(env, "sync").returncode == 0, 20)
    assert wait_for(lambda: store.journal.counts().pending == 0, 10)
    deliveries = sandbox.delivery_counts_by_custom(KEY)
    assert sum(deliveries.values()) == len(ids)
    assert set(deliveries.values()) == {1}  # zero re-deliveries
    assert sandbox.duplicates_by_custom(KEY) == {}

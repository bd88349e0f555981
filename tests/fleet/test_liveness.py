"""A killed worker's claims come back at once on PostgreSQL (tracker.liveness): its
connection closes, its liveness lock goes with it, and the next release of expired claims
ends its claims then, not when their ten-minute lease runs out. A live worker's claims, and
claims of an owner that takes no part (no lease row), are left alone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers.store import claim, manual_trips
from tests.helpers.wait import wait_for
from tracker.liveness import alive
from tracker.store import Tracker

ROOT = Path(__file__).resolve().parents[2]
LEASE = timedelta(minutes=10)
# A push run's shape: its liveness lock first, then its push lease, then its claims.
_WORKER = """
import sys
from datetime import timedelta
from tracker.liveness import alive
from tracker.store import Tracker
url, owner, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Tracker.open_url(url, timezone="UTC")
lease = timedelta(minutes=10)
with alive(store.db, owner):
    assert store.leases.acquire("push:" + owner, owner, lease) is not None
    print(len(store.outbox.step(owner, claim=n, lease_for=lease).claimed), flush=True)
    sys.stdin.read()  # alive until killed
"""


@pytest.fixture
def store(pg_url: str) -> Iterator[Tracker]:
    with Tracker.open_url(pg_url, timezone="UTC") as opened:
        yield opened


def worker(url: str, owner: str, n: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _WORKER, url, owner, str(n)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == str(n)
    return process


def in_flight(store: Tracker) -> int:
    return store.journal.counts().in_flight


def test_a_killed_workers_claims_come_back_before_their_lease_ends(
    store: Tracker, pg_url: str
) -> None:
    manual_trips(store, 5)
    dead = worker(pg_url, "w-dead", 2)
    live = worker(pg_url, "w-live", 2)
    assert len(claim(store, "manual", 1, LEASE)) == 1  # an owner with no lease row
    try:
        assert store.outbox.due_accounts() == {}  # everything claimed, every owner alive
        assert in_flight(store) == 5
        dead.kill()
        dead.wait(timeout=30)
        # The server ends the killed process's session (and its lock) when it sees the
        # connection close: the next release finds it gone.
        assert wait_for(lambda: store.outbox.due_accounts() == {None: 2}, 30)
        assert in_flight(store) == 3  # the live worker's two and the manual claim
        taken = claim(store, "w-next", 10, LEASE)
        assert len(taken) == 2 and all(c.in_doubt for c in taken)  # creates: reconcile first
    finally:
        for process in (dead, live):
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)


def test_a_run_holding_its_lock_keeps_its_claims(store: Tracker) -> None:
    manual_trips(store, 2)
    with alive(store.db, "w-here"):
        store.leases.acquire("push:w-here", "w-here", LEASE)
        assert len(claim(store, "w-here", 2, LEASE)) == 2
        assert store.outbox.due_accounts() == {}
        assert in_flight(store) == 2
    # Given up (the run ended without answers, as a crash inside the process would): the
    # claims of a holder whose lock is free are ended by the next release.
    assert store.outbox.due_accounts() == {None: 2}

"""A1-PG, fleet mode under SIGKILL: three `tracker sync` workers drain one PostgreSQL journal while
one of them is killed at a random moment every fraction of a second (mid-batch, mid-claim,
mid-start-up) and replaced. Nothing may be lost and no trip stored twice: a dead worker's
claims come back when their leases expire, its creates in doubt, reconciled by whoever
takes them (on PostgreSQL: the query walk, the adoption, the SKIP LOCKED claim)."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.sandbox import Latency, Sandbox, SandboxServer
from tests.helpers.remote import KEY, fleet_env
from tests.helpers.store import manual_trips
from tests.helpers.wait import wait_for
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import stored_twice
from tests.reliability.profile import SEED, size
from tracker.store import Tracker

pytestmark = pytest.mark.slow  # real processes, killed: the full run only

EXE = str(Path(sys.executable).parent / "tracker")
WORKERS = 3
TRIPS = size(1000, 10_000)
KILLS = size(12, 200)


@pytest.mark.timeout(size(600, 7200))
def test_workers_killed_mid_batch_lose_nothing_and_store_each_trip_once(
    pg_url: str, server: SandboxServer, sandbox: Sandbox, tmp_path: Path, scorecard: Scorecard
) -> None:
    # Answers after 30 ms: a kill lands mid-request often (the request may be stored).
    sandbox.add_fault(Latency(path="/v6/mileage", method="POST", seconds=0.03, times=None))
    rng = random.Random(SEED)

    def env(slot: int) -> dict[str, str]:
        return fleet_env(
            pg_url,
            server.tight_url,
            tmp_path / f"worker{slot}",
            TRACKER_MILEAGE_BATCH_SIZE="5",
            TRACKER_MILEAGE_LEASE_SECONDS="1",
            TRACKER_MILEAGE_BACKOFF_INITIAL="0.05",
            TRACKER_MILEAGE_BACKOFF_MAX="0.2",
        )

    def start(slot: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [EXE, "sync", "--push"],
            env=env(slot),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    with Tracker.open_url(pg_url, timezone="UTC") as store:
        ids = manual_trips(store, TRIPS)
        workers = {slot: start(slot) for slot in range(WORKERS)}
        kills = 0
        try:
            while kills < KILLS:
                # A random moment in a worker's life (start-up takes ~0.5 s of it).
                time.sleep(rng.uniform(0.3, 1.2))
                slot = rng.randrange(WORKERS)
                if workers[slot].poll() is None:
                    workers[slot].kill()
                    kills += 1
                workers[slot].wait(timeout=30)
                for other, proc in workers.items():
                    if proc.poll() is not None:  # killed, or done with its run
                        workers[other] = start(other)
        finally:
            for proc in workers.values():
                proc.kill()
                proc.wait(timeout=30)

        def drained() -> bool:
            # The heal: one worker, no kills; the dead ones' leases run out meanwhile.
            subprocess.run([EXE, "sync", "--push"], env=env(0), timeout=120, check=False)
            counts = store.journal.counts()
            return counts.pending == 0 and counts.in_flight == 0

        healed = wait_for(drained, 120)
        counts = store.journal.counts()
        remote = {i: store.trips.get(i).remote_id for i in ids}
    twice = stored_twice(sandbox)
    unsynced = [i for i in ids if remote[i] is None]
    wrong = [
        i for i in ids if [r["id"] for r in sandbox.records_with_custom(KEY, i)] != [remote[i]]
    ]
    walks = sum(1 for r in sandbox.requests if r.path.endswith("/query"))
    rows = [
        Row(
            "workers SIGKILLed at a random moment",
            f"{kills:,} ({WORKERS} workers; {walks} reconcile query pages read after them)",
            f">= {KILLS}",
            kills >= KILLS,
        ),
        Row(
            "trips not synced after the heal",
            ratio(len(unsynced), TRIPS, "trips"),
            "0",
            healed and not unsynced,
        ),
        Row("trips stored twice at the sandbox", ratio(len(twice), TRIPS, "trips"), "0", not twice),
        Row(
            "local remote id != the one record on the server",
            ratio(len(wrong), TRIPS, "trips"),
            "0",
            not wrong,
        ),
    ]
    scorecard.record(
        "A1-PG",
        title="Fleet mode on PostgreSQL: workers SIGKILLed mid-batch",
        section=20,
        rows=rows,
        raw={
            "kills": kills,
            "workers": WORKERS,
            "trips": TRIPS,
            "synced": counts.synced,
            "stored_twice": len(twice),
            "unsynced": len(unsynced),
            "wrong_remote_id": len(wrong),
            "requests": len(sandbox.requests),
            "query_pages": walks,
            "seed": SEED,
        },
        notes="3 `tracker sync --push` processes on one PostgreSQL database, one killed every "
        "0.3-1.2 s and replaced; claim lease 1 s; the sandbox answers saves after 30 ms",
    )
    assert healed and counts.synced == TRIPS
    assert not unsynced, unsynced[:5]
    assert not twice, twice
    assert not wrong, wrong[:5]

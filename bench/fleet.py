"""Fleet mode's throughput: one PostgreSQL store drained by 1 worker, then by 4 (issue 17).

A real PostgreSQL server (``initdb`` / ``pg_ctl`` into a temporary folder, as the tests start
it: tests/helpers/postgres.py) and the sandbox on loopback, answering every save after
``latency`` seconds (a fault of the sandbox's own), so that the workers' waits overlap on a
machine of 2 cores. Each worker is a process of its own (spawned: a fresh interpreter, as on
another machine) with its own store handle and engine, pushing until nothing is left to
claim. The clock starts once every worker has opened its store (a barrier) and stops when the
last one is done: start-up is not throughput.

Row: 4 workers' time against 1 worker's, on fresh databases of the same ``n`` trips.
Target: 4 workers at >= 3x one worker's throughput. Also checked: every trip stored exactly
once at the sandbox, nothing left pending.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from bench.push import mileage_settings
from sync.sandbox import Latency, Sandbox, serve
from tests.helpers.postgres import start_cluster
from tracker.store import Tracker

BATCH = 10
TARGET = 3.0


def _worker(url: str, tight_url: str, home: str, barrier: Barrier, out: Any) -> None:
    """One worker process: open, wait for the others, push until nothing is left to claim."""
    from sync.engine import SyncEngine
    from sync.settings import Settings

    settings = Settings(home=Path(home), mileage=mileage_settings(tight_url, BATCH, two_way=False))
    synced = runs = 0
    with Tracker.open_url(url, timezone="UTC") as store, SyncEngine(settings, store) as engine:
        barrier.wait()
        while store.journal.counts().pending > 0:
            report = engine.run(push=True, pull=False)
            runs += 1
            synced += report.push.synced if report.push else 0
    out.put((synced, runs))


def _seed(url: str, n: int) -> None:
    # One add per trip: the bulk import is SQLite-only so far (docs/decisions.md).
    with Tracker.open_url(url, timezone="UTC") as store:
        for i in range(n):
            store.trips.add(
                {"date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", "distance": f"{i % 300}.5"}
            )


def _drain(url: str, tight_url: str, workers: int, home: Path) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, tight_url, str(home / f"w{i}"), barrier, out))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)  # every worker has opened its store
    started = time.perf_counter()
    results = [out.get(timeout=600) for _ in procs]
    seconds = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=60)
    return {
        "seconds": seconds,
        "synced": sum(s for s, _ in results),
        "runs": sum(r for _, r in results),
        "per_worker": sorted(s for s, _ in results),
    }


def _scenario(cluster: Any, n: int, workers: int, latency: float, tmp: Path) -> dict[str, Any]:
    url = cluster.database()
    try:
        _seed(url, n)
        sandbox = Sandbox(rate_limit=None)
        sandbox.add_fault(Latency(path="/v6/mileage", method="POST", seconds=latency, times=None))
        with serve(sandbox) as server:
            result = _drain(url, server.tight_url, workers, tmp / f"{workers}w")
        stored = [d for d in sandbox.deliveries if d.outcome == "created"]
        with Tracker.open_url(url, timezone="UTC") as store:
            left = store.journal.counts()
        result.update(
            created=len(stored),
            distinct=len({d.record_id for d in stored}),
            left=left.pending + left.in_flight,
        )
        return result
    finally:
        cluster.drop(url)


def run(n: int = 2000, latency: float = 0.05) -> dict[str, Any]:
    """One row: 4 workers against 1, same store size, same server latency."""
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as folder:
            tmp = Path(folder)
            one = _scenario(cluster, n, 1, latency, tmp)
            four = _scenario(cluster, n, 4, latency, tmp)
    finally:
        cluster.stop()
    speedup = one["seconds"] / four["seconds"]
    exact = all(r["created"] == r["distinct"] == n and r["left"] == 0 for r in (one, four))
    return {
        "name": (
            f"fleet mode on PostgreSQL: {n} trips drained by 4 worker processes vs 1, "
            f"batch {BATCH}, sandbox answering after {latency * 1000:g} ms"
        ),
        "unit": "s",
        "ours": round(four["seconds"], 2),
        "baseline": round(one["seconds"], 2),
        # The time 4 workers take per second one worker takes (1/speed-up).
        "ratio": round(four["seconds"] / one["seconds"], 3),
        "target": f"4 workers >= {TARGET:g}x one worker's throughput, each trip stored once",
        "met": speedup >= TARGET and exact,
        "note": (
            f"speed-up {speedup:.2f}x; 1 worker {one['seconds']:.2f} s ({one['runs']} runs), "
            f"4 workers {four['seconds']:.2f} s ({four['runs']} runs; trips per worker "
            f"{four['per_worker']}); created {one['created']} / {four['created']} records "
            f"for {n} trips, {one['left'] + four['left']} left queued"
        ),
        "one_worker": one,
        "four_workers": four,
    }


if __name__ == "__main__":
    print(run())

"""Draining a backlog under Tight's rate limit (1000 requests / 5 minutes), in simulated time.

The engine, the store and the sandbox share one ``sync.clock.ManualClock``: the engine's
budget sleeps on it (a sleep moves time forward instantly), the store stamps leases and journal
times with its ``wall()``, and the sandbox's own rate limiter reads its ``monotonic()``. The
sandbox runs in process (``SandboxTransport``), so no real time passes between the two clocks'
readings and a 300 s window means exactly the same thing on both sides.

Every request is time-stamped on the shared clock as it leaves the client (a wrapping
transport): the sandbox's request log numbers requests but does not time them. The maximum
number of requests in any half-open 300 s window is computed from those stamps.

A request takes no simulated time (the in-process sandbox answers between two clock readings),
so the simulated drain time is exactly the time the budget made the engine wait.

Target (issue 7): no 429, and no more requests than ceil(n / batch) saves plus whatever
reconciliation queries were needed (none are expected here: nothing fails).
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import steps
from bench.push import make_pending_db, mileage_settings
from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.sandbox import Sandbox, SandboxTransport, create_app
from sync.settings import Settings
from sync.tight.api import QUERY_PATH, SAVE_PATH
from tracker.store import Tracker

LIMIT = 1000
WINDOW = 300.0
MAX_RUNS = 50
"""Push runs allowed before giving up (one is expected: a run drains until nothing is due)."""


@dataclass
class Stamped(httpx.BaseTransport):
    """Passes requests to ``inner`` and records (simulated time, method, path, status)."""

    inner: httpx.BaseTransport
    clock: ManualClock
    log: list[tuple[float, str, str, int]] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = self.clock.monotonic()
        response = self.inner.handle_request(request)
        self.log.append((sent, request.method, request.url.path, response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()


def max_in_window(times: list[float], window: float) -> int:
    """Most stamps in any half-open interval ``[t, t + window)`` (``times`` sorted): the
    busiest such interval starts at a stamp, so slide its start over the stamps."""
    best = start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(
    n: int = 10_000, batch: int = 100, limit: int = LIMIT, window: float = WINDOW
) -> dict[str, Any]:
    """Drain ``n`` pending trips at ``batch`` under ``limit`` requests per ``window`` seconds,
    enforced by the client budget and the sandbox alike."""
    clock = ManualClock()
    sb = Sandbox(clock=clock.monotonic, rate_limit=limit, rate_window=window)
    transport = Stamped(SandboxTransport(create_app(sb)), clock)
    with tempfile.TemporaryDirectory(prefix="bench-drain-") as tmp:
        db = Path(tmp) / "tracker.db"
        make_pending_db(db, n)
        settings = Settings(
            home=Path(tmp),
            mileage=mileage_settings("http://sandbox", batch, rate_limit=limit, rate_window=window),
        )
        with (
            Tracker.open(db, timezone="UTC", clock=clock.wall) as store,
            SyncEngine(settings, store, clock=clock, transport=transport) as engine,
        ):
            started_sim, started_real = clock.monotonic(), time.perf_counter()
            runs, fenced, stops = 0, 0, []
            # One run should drain everything; more runs mean a run stopped early (reported).
            while store.journal.counts().pending and runs < MAX_RUNS:
                runs += 1
                report = steps.push(engine)
                fenced += report.fenced
                if report.stopped:
                    stops.append(f"run {runs} at t={clock.monotonic():g} s: {report.stopped}")
            drained_sim = clock.monotonic() - started_sim
            real_s = time.perf_counter() - started_real
            counts = store.journal.counts()
    times = sorted(stamp for stamp, *_ in transport.log)
    saves = sum(1 for _, m, p, _s in transport.log if m == "POST" and p == SAVE_PATH)
    queries = sum(1 for _, m, p, _s in transport.log if m == "POST" and p == QUERY_PATH)
    total = len(transport.log)
    too_many = sum(1 for *_, status in transport.log if status == 429)
    server_429 = sb.request_count(status=429)
    allowed = math.ceil(n / batch) + queries
    peak = max_in_window(times, window)
    met = (
        too_many == 0
        and server_429 == 0
        and total <= allowed
        and counts.synced == n
        and counts.pending == 0
        and peak <= limit
    )
    return {
        "name": f"drain {n} trips at batch {batch} under {limit} req / {window:g} s (simulated)",
        "n": n,
        "unit": "requests",
        "ours": total,
        "baseline": allowed,
        "ratio": round(total / allowed, 2),
        "target": f"0 x 429, <= ceil({n}/{batch}) + {queries} reconcile requests",
        "met": met,
        "note": (
            f"{saves} saves + {queries} queries, {too_many} x 429, at most {peak} requests in "
            f"any {window:g} s window, drained in {drained_sim:g} s simulated "
            f"({len(clock.slept)} budget waits, {runs} push run(s))"
        ),
        "saves": saves,
        "reconcile_queries": queries,
        "http_429": too_many,
        "server_429": server_429,
        "max_in_any_window": peak,
        "simulated_drain_s": round(drained_sim, 1),
        "budget_sleeps": len(clock.slept),
        "real_s": round(real_s, 2),
        "push_runs": runs,
        "fenced": fenced,
        "stopped": stops,
        "synced": counts.synced,
        "left_pending": counts.pending,
    }


if __name__ == "__main__":
    print(run())
    print(run(batch=5))

"""F1: two processes insert and push on one database file at the same time.

Each process adds its trips in chunks and pushes after every chunk; the sync lease in the
database lets one push at a time (the other gets "sync already running" and carries on
recording). Oracle: every trip is delivered to the sandbox exactly once (re-deliveries 0),
stored once, and both processes finish cleanly. (A naive select-send-mark loop, without the
lease, re-delivered 2,933 of 3,154 rows.) The daemon + app + CLI variant
is ``tests/sync/test_daemon.py::test_app_daemon_and_manual_sync_together_redeliver_nothing``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.sandbox import Sandbox, serve
from tests.reliability.children import settings
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import (
    KEY,
    Zygote,
    drain,
    integrity,
    parse_acks,
    read_lines,
    stored_twice,
)
from tests.reliability.profile import size
from tracker.store import Tracker

PROCESSES = size(2, 4)
TRIPS = size(3_000, 50_000)


@pytest.mark.slow
@pytest.mark.timeout(size(240, 7200))
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_pushers_redeliver_nothing(
    tmp_path: Path,
    zygote: Zygote,
    scorecard: Scorecard,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    sandbox = Sandbox(rate_limit=None)
    db = tmp_path / "home" / "tracker.db"
    # F1-PG (fleet mode): the same race on PostgreSQL, where pushers run side by side
    # (SKIP LOCKED claims) instead of taking turns under one lease.
    url = str(request.getfixturevalue("pg_url")) if backend == "postgresql" else None

    def opened() -> Tracker:
        return Tracker.open_url(url, timezone="UTC") if url else Tracker.open(db, timezone="UTC")

    opened().close()
    started = time.monotonic()
    with serve(sandbox) as server:
        base = {"db": str(db), "url": server.tight_url, "batch": 100, "trips": TRIPS, "chunk": 50}
        if url:
            base["database_url"] = url
        outs = [tmp_path / f"p{i}.out" for i in range(PROCESSES)]
        errs = [tmp_path / f"p{i}.err" for i in range(PROCESSES)]
        pids = [
            zygote.fork("f1", {**base, "name": f"p{i}"}, outs[i], errs[i]) for i in range(PROCESSES)
        ]
        ended = [zygote.wait(pid, timeout=size(200, 7000)) for pid in pids]
        with opened() as store:
            engine = SyncEngine(settings(base), store)
            drained = drain(store, engine, timeout=60)
            engine.close()
    seconds = time.monotonic() - started
    lines = read_lines(outs)
    acked = {a.trip_id for a in parse_acks(lines)}
    done = [x for x in lines if x.startswith("DONE")]
    refused = sum(int(x.split("refused=")[1]) for x in done)
    deliveries = sandbox.delivery_counts_by_custom(KEY)
    redelivered = sum(n - 1 for n in deliveries.values() if n > 1)
    never = acked - set(deliveries)
    twice = stored_twice(sandbox)
    expected = PROCESSES * TRIPS
    clean = all(e.code == 0 for e in ended) and not any(e.read_text() for e in errs)
    rows = [
        Row(
            "re-deliveries with concurrent pushers",
            f"{redelivered:,} / {sum(deliveries.values()):,} deliveries "
            f"({PROCESSES} processes x {TRIPS:,} trips)",
            "0",
            redelivered == 0,
        ),
        Row("trips stored twice", ratio(len(twice), len(acked), "trips"), "0", not twice),
        Row(
            "trips never delivered after heal",
            ratio(len(never), len(acked), "trips"),
            "0",
            not never and drained and len(acked) == expected,
        ),
        Row(
            "pushers crashed",
            ratio(sum(e.code != 0 for e in ended), PROCESSES, "processes"),
            "0",
            clean,
        ),
    ]
    checked = integrity(db) if url is None else "ok (the server's)"
    scorecard.record(
        "F1" if url is None else "F1-PG",
        title="Concurrent pushers on one file"
        if url is None
        else "Fleet mode: concurrent pushers on one PostgreSQL store",
        section=4 if url is None else 22,
        rows=rows,
        raw={
            "processes": PROCESSES,
            "trips_per_process": TRIPS,
            "acked": len(acked),
            "deliveries": sum(deliveries.values()),
            "redelivered": redelivered,
            "stored_twice": len(twice),
            "never_delivered": len(never),
            "pushes_refused_lease_held": refused,
            "integrity": checked,
            "seconds": round(seconds, 1),
        },
        notes="synchronous=NORMAL in the pushers (durability on power loss is not what F1 "
        "tests); batch 100, a push after every 50 inserts",
    )
    assert clean, [e.read_text()[-2000:] for e in errs]
    assert len(acked) == expected
    assert redelivered == 0
    assert not twice
    assert drained
    assert not never
    assert checked.startswith("ok")

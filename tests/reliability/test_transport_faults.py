"""B: transport faults against the loopback sandbox, each repeated N times.

Per repeat: three new trips, the fault armed (sticky) on ``POST /v6/mileage``, one push, the
fault off, then a heal (push until drained). Oracles per repeat: ``push()`` never raises
(every transport fault is a normal outcome: retried, or in doubt and reconciled), no trip is
marked synced unless its remote id is a sandbox record carrying its local id (during the
fault and after the heal), and after the heal every trip is stored exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sync.engine import SyncEngine
from sync.sandbox import (
    DEFAULT_TOKEN,
    Drip,
    Drop,
    Fault,
    Latency,
    Sandbox,
    SandboxServer,
    Status,
    StoreThenDrop,
    Truncate,
    serve,
)
from sync.settings import MileageSettings, Settings
from tests.helpers.remote import push
from tests.helpers.wait import all_answered
from tests.reliability.figures import Row, Scorecard
from tests.reliability.harness import KEY, drain, wrongly_synced
from tests.reliability.profile import size
from tracker.store import Tracker

SAVE: dict[str, Any] = {"path": "/v6/mileage", "method": "POST", "times": None}
READ_TIMEOUT = 0.25
DEADLINE = 0.4
LATENCY = 0.5  # longer than the read timeout: the client gives up, the server stores later


@dataclass(frozen=True)
class Case:
    name: str
    fault: Callable[[], Fault]
    repeats: int
    settle: float = 0.0  # seconds the server may still be working after the client gave up


REPEATS = size(20, 500)
CASES = [
    Case("drop (close before response)", lambda: Drop(**SAVE), REPEATS),
    Case("reset (RST)", lambda: Drop(reset=True, **SAVE), REPEATS),
    Case("drip (1 byte / 0.1 s)", lambda: Drip(chunk=1, interval=0.1, **SAVE), size(10, 200)),
    Case("truncated body", lambda: Truncate(**SAVE), REPEATS),
    Case("store then drop", lambda: StoreThenDrop(**SAVE), REPEATS),
    Case("500", lambda: Status(status=500, **SAVE), REPEATS),
    Case(
        "502 HTML from a proxy",
        lambda: Status(status=502, body=b"<html>502</html>", content_type="text/html", **SAVE),
        REPEATS,
    ),
    Case("503", lambda: Status(status=503, **SAVE), REPEATS),
    Case("504", lambda: Status(status=504, **SAVE), REPEATS),
    Case("429 without Retry-After", lambda: Status(status=429, **SAVE), REPEATS),
    Case(
        "429 with Retry-After: 1",
        lambda: Status(status=429, retry_after="1", **SAVE),
        size(5, 100),
    ),
    Case(
        f"timeout (server {LATENCY} s > read timeout {READ_TIMEOUT} s)",
        lambda: Latency(seconds=LATENCY, **SAVE),
        size(10, 200),
        settle=LATENCY,
    ),
]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with serve(Sandbox(rate_limit=None)) as running:
        yield running


def _engine(home: Path, store: Tracker, url: str) -> SyncEngine:
    mileage = MileageSettings(
        url=url,
        token=DEFAULT_TOKEN,
        batch_size=10,
        retries=1,
        backoff_initial=0.01,
        backoff_max=0.05,
        read_timeout=READ_TIMEOUT,
        deadline=DEADLINE,
        connect_timeout=1.0,
    )
    return SyncEngine(Settings(home=home, mileage=mileage), store)


@pytest.mark.slow
@pytest.mark.timeout(size(120, 7200))
@pytest.mark.parametrize("case", CASES, ids=[c.name.split(" (")[0] for c in CASES])
def test_a_transport_fault_never_crashes_nor_syncs_wrongly(
    tmp_path: Path, server: SandboxServer, scorecard: Scorecard, case: Case
) -> None:
    home = tmp_path / "home"
    with Tracker.open(home / "tracker.db", timezone="UTC") as store:
        _campaign(store, home, server, scorecard, case, fleet=False)


# Fleet mode: the faults that leave a push's outcome unknown (in doubt, reconciled by the
# query walk and the adoption on PostgreSQL) or refuse it, on a PostgreSQL store.
PG_CASES = [
    c for c in CASES if c.name.split(" (")[0] in ("drop", "store then drop", "500", "timeout")
]


@pytest.mark.slow
@pytest.mark.timeout(size(120, 7200))
@pytest.mark.parametrize("case", PG_CASES, ids=[c.name.split(" (")[0] for c in PG_CASES])
def test_a_transport_fault_on_postgresql_never_crashes_nor_syncs_wrongly(
    tmp_path: Path, server: SandboxServer, scorecard: Scorecard, case: Case, pg_url: str
) -> None:
    with Tracker.open_url(pg_url, timezone="UTC") as store:
        _campaign(store, tmp_path / "home", server, scorecard, case, fleet=True)


def _campaign(
    store: Tracker,
    home: Path,
    server: SandboxServer,
    scorecard: Scorecard,
    case: Case,
    *,
    fleet: bool,
) -> None:
    sandbox = server.sandbox
    crashes: list[str] = []
    wrong_during: set[str] = set()
    wrong_after: set[str] = set()
    drained = 0
    not_once: list[str] = []
    slowest = 0.0
    all_ids: list[str] = []
    engine = _engine(home, store, server.tight_url)
    for repeat in range(case.repeats):
        ids = [
            store.trips.add(
                {"date": f"2026-{1 + repeat % 12:02d}-{1 + i:02d}", "distance": f"{i}.5"}
            ).id
            for i in range(3)
        ]
        all_ids += ids
        sandbox.add_fault(case.fault())
        started = time.monotonic()
        try:
            push(engine)
        except Exception as err:
            crashes.append(f"repeat {repeat}: {type(err).__name__}: {err}")
        slowest = max(slowest, time.monotonic() - started)
        wrong_during |= set(wrongly_synced(store, sandbox, ids))
        sandbox.clear_faults()
        if case.settle:
            assert all_answered(sandbox, 10 * case.settle + 10)
        drained += drain(store, engine, timeout=30)
        wrong_after |= set(wrongly_synced(store, sandbox, ids))
        not_once += [i for i in ids if sandbox.stored_count_by_custom(KEY, i) != 1]
    engine.close()
    synced = sum(v.sync_state == "synced" for v in store.trips.by_id(all_ids).values())
    n = case.repeats
    ok = not crashes and not wrong_during and not wrong_after and drained == n and not not_once
    value = (
        f"crashes {len(crashes)}/{n}; wrongly synced {len(wrong_during | wrong_after)}/"
        f"{len(all_ids)}; drained {drained}/{n}; stored once {len(all_ids) - len(not_once)}/"
        f"{len(all_ids)}"
    )
    raw: dict[str, Any] = {
        "fault": case.name,
        "repeats": n,
        "trips": len(all_ids),
        "crashes": len(crashes),
        "wrongly_synced_during_fault": len(wrong_during),
        "wrongly_synced_after_heal": len(wrong_after),
        "drained": drained,
        "synced_after_heal": synced,
        "not_stored_exactly_once": len(not_once),
        "slowest_push_seconds": round(slowest, 2),
        "requests": len(sandbox.requests),
    }
    label = "B-PG" if fleet else "B"
    scorecard.record(
        f"{label}.{case.name}",
        title=f"Transport fault{' on PostgreSQL' if fleet else ''}: {case.name}",
        section=23 if fleet else 5,
        rows=[Row(f"{label} {case.name}", value, "0; 0; 100 %; 100 %", ok)],
        raw=raw,
        notes=f"read timeout {READ_TIMEOUT} s, total deadline {DEADLINE} s, 1 in-run retry",
    )
    assert not crashes, crashes[:3]
    assert not wrong_during
    assert not wrong_after
    assert drained == n
    assert not not_once, not_once[:5]
    assert synced == len(all_ids)

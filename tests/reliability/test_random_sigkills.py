"""A1: random SIGKILLs while a process records trips and pushes them.

A child (forked by the zygote) records manual and live trips, edits and deletes, and pushes
every few writes to the loopback sandbox, which runs in this process and so survives every
kill. It prints ``ACK <id> ...`` after each committed write. The test kills it at a uniformly
random moment, checks the file, starts the next child on the same file, and repeats. Then it
heals (faults off, a final push) and checks: every acknowledged write is in the file, the
file passes ``PRAGMA integrity_check`` after every kill, no trip was stored twice, local =
server, and re-deliveries stay within kills x batch.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.sandbox import Sandbox, serve
from tests.reliability.children import settings
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import (
    Zygote,
    divergence,
    drain,
    finish_recordings,
    integrity,
    lost_acks,
    parse_acks,
    read_lines,
    read_trips,
    redeliveries,
    stored_twice,
    trace,
)
from tests.reliability.profile import SEED, size
from tracker.store import Tracker

KILLS = size(100, 2000)
BATCH = 10
MAX_LIFE = 0.6  # seconds a child may live before its kill (uniform in [0.02, MAX_LIFE])


def _phase(lines: list[str]) -> str:
    """What the child was doing when it died, from its last marker line."""
    if "READY" not in lines:
        return "opening the store"
    markers = [x for x in lines if x in ("PUSH", "PUSHED")]
    return "pushing" if markers and markers[-1] == "PUSH" else "recording"


@pytest.mark.slow
@pytest.mark.timeout(size(300, 7200))
def test_random_sigkills_while_recording_and_pushing_lose_nothing(
    tmp_path: Path, zygote: Zygote, scorecard: Scorecard
) -> None:
    rng = random.Random(SEED)
    sandbox = Sandbox(rate_limit=None)
    db = tmp_path / "home" / "tracker.db"
    Tracker.open(db, timezone="UTC").close()
    outs: list[Path] = []
    kills = 0
    self_exits: list[str] = []
    bad_integrity: list[str] = []
    phases: Counter[str] = Counter()
    started = time.monotonic()
    with serve(sandbox) as server:
        base = {
            "db": str(db),
            "url": server.tight_url,
            "batch": BATCH,
            "entry_lease": 1.5,
            "push_lease": 0.5,
            "push_every": 5,
        }
        child = 0
        while kills < KILLS:
            child += 1
            out, err = tmp_path / f"c{child}.out", tmp_path / f"c{child}.err"
            outs.append(out)
            args = {**base, "seed": rng.getrandbits(32), "child": child}
            ended = zygote.kill_after("a1", args, out, err, rng.uniform(0.02, MAX_LIFE))
            if ended.killed and not (err.exists() and err.read_text()):
                kills += 1
                phases[_phase(read_lines([out]))] += 1
            else:
                self_exits.append(f"child {child}: {ended} {err.read_text()[-2000:]}")
                if len(self_exits) > 5:
                    break
            check = integrity(db)
            if check != "ok":
                bad_integrity.append(f"after kill {kills}: {check}")
        campaign_s = time.monotonic() - started
        with Tracker.open(db, timezone="UTC") as store:
            left_recording = finish_recordings(store)
            engine = SyncEngine(settings(base), store)
            drained = drain(store, engine, timeout=60)
            engine.close()
        final_integrity = integrity(db)
    trips = read_trips(db)
    acks = parse_acks(read_lines(outs))
    lost = lost_acks(acks, trips)
    diverged = divergence(trips, sandbox)
    twice = stored_twice(sandbox)
    redelivered = redeliveries(sandbox)
    bound = kills * BATCH
    kinds = Counter(a.what for a in acks)
    rows = [
        Row(
            "kills (SIGKILL at a random time)",
            f"{kills:,} ({', '.join(f'{n} {p}' for p, n in sorted(phases.items()))})",
            f">= {KILLS}",
            kills >= KILLS,
        ),
        Row("lost acknowledged writes", ratio(len(lost), len(acks), "acked writes"), "0", not lost),
        Row(
            "integrity failures (PRAGMA integrity_check after each kill)",
            ratio(len(bad_integrity), kills, "checks"),
            "0",
            not bad_integrity and final_integrity == "ok",
        ),
        Row(
            "trips stored twice at the sandbox",
            ratio(len(twice), len(trips), "trips"),
            "0",
            not twice,
        ),
        Row(
            "local != server after heal",
            ratio(len(diverged), len(trips), "trips"),
            "0",
            not diverged and drained,
        ),
        Row(
            "re-delivered items (same content sent again)",
            f"{redelivered:,} (bound kills x batch = {bound:,})",
            "<= kills x batch",
            redelivered <= bound,
        ),
        Row("children that failed on their own", str(len(self_exits)), "0", not self_exits),
    ]
    scorecard.record(
        "A1",
        title="Random SIGKILLs during record + push",
        section=1,
        rows=rows,
        raw={
            "kills": kills,
            "phases": dict(phases),
            "acked_writes": len(acks),
            "acked_by_kind": dict(kinds),
            "lost_acked": len(lost),
            "integrity_failures": len(bad_integrity),
            "trips": len(trips),
            "stored_twice": len(twice),
            "diverged": len(diverged),
            "drained": drained,
            "redelivered": redelivered,
            "redelivery_bound": bound,
            "batch": BATCH,
            "deliveries": len(sandbox.deliveries),
            "left_recording_then_stopped": left_recording,
            "campaign_seconds": round(campaign_s, 1),
            "seed": SEED,
        },
        notes="children are forked from a pre-imported fork server; kill delay uniform "
        f"0.02-{MAX_LIFE} s after fork; push lease 0.5 s, entry lease 1.5 s, batch {BATCH}",
    )
    assert not self_exits, self_exits[:3]
    assert kills >= KILLS
    assert not lost, lost[:5]
    assert not bad_integrity, bad_integrity[:3]
    assert final_integrity == "ok"
    assert drained
    assert not twice, twice
    assert not diverged, "\n".join(
        [*diverged[:5], *(trace(db, sandbox, d.split(":")[0]) for d in diverged[:3])]
    )
    assert redelivered <= bound

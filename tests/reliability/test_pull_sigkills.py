"""A8: random SIGKILLs while a process syncs both ways, with another client editing Tight.

A child (forked by the zygote) adds trips and sets their descriptions, and every few writes
runs a sync that pulls (walks Tight's records, merges them) and pushes. Meanwhile "another
client" (Tight's own app, a thread of this process) edits records (notes, mileageStatus),
deletes some and makes new ones in the sandbox, which runs in this process and so survives
every kill. The test kills the child at a uniformly random moment, checks the file, starts
the next child on the same file, and repeats. Then it stops the other client, heals (syncs
until a fresh walk completed and nothing is due) and checks, against the file and the
sandbox's records and history (``tests/reliability/twoway.py``):

- every acknowledged local write is in the file, and on the server or held in a conflict;
- every edit of the other client is on the local trip or held in a conflict, unless a save
  of the run that had read the record *before* the edit overwrote it (the documented
  read->save window: counted apart);
- a record deleted there is deleted here or held (edited here), never created again, except
  a create whose answer was lost and whose record was deleted before this device learned its
  id (Tight keeps no trace of deletes: the unknown-outcome window, counted apart). A child
  killed after a page of the pull was read and before it was stored learned nothing from it
  (the next child reads the same page again): such a read does not count as learning;
- no duplicates (a local id created or stored twice, a record with two trips, a trip made
  elsewhere pushed back); local = server after heal, except trips held in a conflict.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.sandbox import serve
from tests.reliability.children import settings
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import Zygote, integrity, parse_acks, read_lines
from tests.reliability.profile import SEED, size
from tests.reliability.twoway import (
    LocalAck,
    OtherClient,
    RunTags,
    RunTagTransport,
    WatchedSandbox,
    check,
    dump_history,
    heal,
    killed_runs,
    read_local,
    rows,
)
from tracker.store import Tracker

KILLS = size(80, 600)
BATCH = 5
SYNC_EVERY = 16  # local writes between two syncs
MAX_LIFE = 0.8  # seconds a child may live before its kill (uniform in [0.02, MAX_LIFE])
SEEDED = 40  # trips on both sides before the first child


def _phase(lines: list[str]) -> str:
    """What the child was doing when it died, from its last marker line."""
    if "READY" not in lines:
        return "opening the store"
    markers = [
        x for x in lines if x in ("SYNC", "STEP mileage", "STEP push") or x.startswith("SYNCED")
    ]
    last = markers[-1] if markers else "SYNCED"
    return {"SYNC": "starting a run", "STEP mileage": "pulling", "STEP push": "pushing"}.get(
        last, "writing"
    )


@pytest.mark.slow
@pytest.mark.timeout(size(300, 7200))
def test_random_sigkills_while_pulling_and_pushing_lose_no_edit(
    tmp_path: Path, zygote: Zygote, scorecard: Scorecard
) -> None:
    rng = random.Random(SEED)
    sandbox = WatchedSandbox(rate_limit=None)
    db = tmp_path / "home" / "tracker.db"
    outs: list[Path] = []
    kills = 0
    self_exits: list[str] = []
    bad_integrity: list[str] = []
    phases: Counter[str] = Counter()
    started = time.monotonic()
    with serve(sandbox) as server:
        server.app = RunTags(server.app)
        base = {
            "db": str(db),
            "url": server.tight_url,
            "batch": BATCH,
            "entry_lease": 1.5,
            "push_lease": 0.5,
            "pull_since": "all",
            "add": 0.2,
            "sync_every": SYNC_EVERY,
        }
        with Tracker.open(db, timezone="UTC") as store:
            for i in range(SEEDED):
                store.trips.add({"date": f"2026-02-{1 + i % 28:02d}", "distance": "7.5"})
            tags = RunTagTransport("seed")
            with SyncEngine(
                settings(base), store, transport=tags, listener=tags.listener()
            ) as engine:
                seeded = heal(store, engine)
        assert seeded.done, seeded.failures
        other = OtherClient(sandbox, seed=rng.getrandbits(32)).start()
        try:
            child = 0
            while kills < KILLS:
                child += 1
                out, err = tmp_path / f"c{child}.out", tmp_path / f"c{child}.err"
                outs.append(out)
                args = {**base, "seed": rng.getrandbits(32), "child": child}
                ended = zygote.kill_after("p1", args, out, err, rng.uniform(0.02, MAX_LIFE))
                said = err.read_text() if err.exists() else ""
                if ended.killed and "Traceback" not in said:  # a logged warning is fine
                    kills += 1
                    phases[_phase(read_lines([out]))] += 1
                else:
                    self_exits.append(f"child {child}: {ended} {said[-2000:]}")
                    if len(self_exits) > 5:
                        break
                state = integrity(db)
                if state != "ok":
                    bad_integrity.append(f"after kill {kills}: {state}")
        finally:
            other.finish()
        campaign_s = time.monotonic() - started
        tags = RunTagTransport("heal")
        with (
            Tracker.open(db, timezone="UTC") as store,
            SyncEngine(settings(base), store, transport=tags, listener=tags.listener()) as engine,
        ):
            healed = heal(store, engine)
        final_integrity = integrity(db)
        history, records = sandbox.snapshot()
    dump_history(tmp_path / "history.json", history, records)
    acks = [LocalAck(a.trip_id, a.what, a.detail) for a in parse_acks(read_lines(outs))]
    verdicts = check(acks, read_local(db), history, records, killed_runs(outs))
    lines = read_lines(outs)
    syncs = sum(1 for x in lines if x.startswith("SYNCED"))
    figures = [
        Row(
            "A8 kills (SIGKILL at a random time, two-way sync)",
            f"{kills:,} ({', '.join(f'{n} {p}' for p, n in sorted(phases.items()))})",
            f">= {KILLS}",
            kills >= KILLS,
        ),
        *rows(verdicts, "A8"),
        Row(
            "A8 integrity failures (PRAGMA integrity_check after each kill)",
            ratio(len(bad_integrity), kills, "checks"),
            "0",
            not bad_integrity and final_integrity == "ok",
        ),
        Row(
            "A8 healed (a fresh walk complete, nothing due or parked outside a conflict)",
            f"{'yes' if healed.done else 'NO'} in {healed.runs} runs, {healed.seconds:.1f} s",
            "yes",
            healed.done,
        ),
        Row(
            "A8 children that failed on their own; other client errors",
            f"{len(self_exits)}; {0 if other.error is None else 1}",
            "0; 0",
            not self_exits and other.error is None,
        ),
    ]
    scorecard.record(
        "A8",
        title="Random SIGKILLs during two-way sync, another client editing",
        section=16,
        rows=figures,
        raw={
            "kills": kills,
            "phases": dict(phases),
            "acked_by_kind": dict(Counter(a.what for a in acks)),
            "completed_syncs": syncs,
            "other_client": dict(other.counts),
            **verdicts.raw(),
            "integrity_failures": len(bad_integrity),
            "heal_runs": healed.runs,
            "heal_failures": healed.failures[:5],
            "records_at_end": len(records),
            "history_events": len(history),
            "campaign_seconds": round(campaign_s, 1),
            "seed": SEED,
            "examples": verdicts.examples(),
        },
        notes=f"kill delay uniform 0.02-{MAX_LIFE} s after fork; a sync every {SYNC_EVERY} writes "
        f"(3 in 4 pull + push, else push alone); the other client acts every 20 ms; batch "
        f"{BATCH}; sync conflicts: ask",
    )
    assert not self_exits, self_exits[:3]
    assert other.error is None, other.error
    assert kills >= KILLS
    assert not bad_integrity, bad_integrity[:3]
    assert final_integrity == "ok"
    assert healed.done, healed.failures[:5]
    assert not verdicts.lost_local, verdicts.lost_local[:5]
    assert not verdicts.lost_server, verdicts.lost_server[:5]
    assert not verdicts.deletes_lost, verdicts.deletes_lost[:5]
    assert not verdicts.recreated, verdicts.recreated[:5]
    assert not verdicts.duplicates, verdicts.duplicates[:5]
    assert not verdicts.diverged, verdicts.diverged[:5]

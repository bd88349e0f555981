"""F5: the daemon and repeated ``tracker sync`` runs on one file, two-way, while the app edits
trips here and another client edits Tight.

Four writers at once: the daemon (``sync.daemon.run_daemon`` in a forked process, as
``tracker daemon`` runs it: pushes on its interval and on the watchdog's "changed elsewhere",
walks Tight on its pull interval), ``tracker sync`` processes started one after the other
(pull + push each), the app (this process, through the library: adds trips and sets
descriptions, every write acknowledged when its commit returned), and "another client"
editing, deleting and making records in the sandbox. One Tight run at a time holds the push
lease; the others are refused ("sync already running", exit 75) and come back.

When enough ``tracker sync`` runs have synced, the app and the other client stop, the daemon
gets SIGTERM (exit 0), and a heal syncs until a fresh walk completed and nothing is due. The
oracles are A8's (``tests/reliability/twoway.py``): 0 lost local edits, 0 lost server edits
outside the read->save window, server deletes applied or held, nothing re-created or stored
twice, local = server; plus: every ``tracker sync`` exits 0, 65 (conflicts held) or 75 (lease
busy) with no traceback, and the daemon exits 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN, serve
from tests.helpers.wait import wait_for
from tests.reliability.children import settings
from tests.reliability.figures import Row, Scorecard
from tests.reliability.harness import EXE, Zygote, clean_env, integrity, read_lines
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
    read_local,
    rows,
)
from tracker.errors import StateError
from tracker.store import Tracker

CLI_SYNCS = size(20, 300)  # `tracker sync` runs that got the lease and synced
SEEDED = 40
OK_EXITS = (0, 65, 75)


def _cli_env(home: Path, url: str) -> dict[str, str]:
    return clean_env(
        TRACKER_HOME=str(home),
        TRACKER_MILEAGE_URL=url,
        TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
        TRACKER_MILEAGE_BATCH_SIZE="10",
        TRACKER_MILEAGE_BACKOFF_INITIAL="0.01",
        TRACKER_MILEAGE_BACKOFF_MAX="0.05",
        TRACKER_MILEAGE_DEADLINE="5",
        TRACKER_MILEAGE_READ_TIMEOUT="5",
        TRACKER_MILEAGE_RETRIES="2",
        TRACKER_MILEAGE_LEASE_SECONDS="1.5",
        TRACKER_MILEAGE_PULL_SINCE="all",
        TRACKER_SCHEDULE_LEASE_SECONDS="2",
        TRACKER_SYNC_CONFLICTS="ask",
    )


def _kind(stdout: str) -> str:
    """What a ``tracker sync --json`` run did: ``synced`` (walked and pushed), ``busy`` (the
    daemon held the lease), else ``other``."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return "other"
    failures = doc.get("failures") or {}
    if any(f.get("error") == "AlreadyRunningError" for f in failures.values()):
        return "busy"
    if doc.get("mileage") and doc.get("push") and not failures:
        return "synced"
    return "other"


def _writer(tag: str) -> str:
    """Who sent a request, from its run tag."""
    if tag.startswith("d."):
        return "daemon"
    return "tracker sync" if tag.startswith("cli") else tag.split(".")[0]


class App:
    """The app: adds trips and sets descriptions through the library, in a thread."""

    def __init__(self, db: Path, seed: int, period: float = 0.05) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.period = period
        self.acks: list[LocalAck] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="app", daemon=True)

    def start(self) -> App:
        self._thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def _loop(self) -> None:
        try:
            with Tracker.open(self.db, timezone="UTC", busy_timeout=10.0) as store:
                known = [t.id for t in store.trips.list()]
                op = 0
                # Paced load, not a wait for something: the period is the edit rate.
                while not self.stop.wait(self.period):
                    op += 1
                    value = f"A{op:07d}"  # later writes sort higher
                    if self.rng.random() < 0.2 or not known:
                        trip = store.trips.add(
                            {
                                "date": f"2026-{self.rng.randrange(1, 13):02d}-"
                                f"{self.rng.randrange(1, 29):02d}",
                                "distance": f"{self.rng.randrange(1, 300)}.25",
                                "description": value,
                                "classification": self.rng.choice(["business", "personal"]),
                            }
                        )
                        self.acks.append(LocalAck(trip.id, "add"))
                        known.append(trip.id)
                        continue
                    trip_id = self.rng.choice(known)
                    try:
                        store.trips.edit(trip_id, {"description": value})
                    except StateError:  # deleted on the server meanwhile
                        known.remove(trip_id)
                        continue
                    self.acks.append(LocalAck(trip_id, "desc", value))
        except BaseException as err:  # reported by the test
            self.error = err


@pytest.mark.slow
@pytest.mark.timeout(size(300, 7200))
def test_daemon_and_cli_syncing_two_way_together_lose_no_edit(
    tmp_path: Path, zygote: Zygote, scorecard: Scorecard
) -> None:
    rng = random.Random(SEED + 5)
    sandbox = WatchedSandbox(rate_limit=None)
    home = tmp_path / "home"
    db = home / "tracker.db"
    exits: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    cli_errors: list[str] = []
    started = time.monotonic()
    with serve(sandbox) as server:
        server.app = RunTags(server.app)
        base = {
            "db": str(db),
            "url": server.tight_url,
            "batch": 10,
            "entry_lease": 1.5,
            "push_lease": 2.0,
            "pull_since": "all",
            "push_interval": 1.0,
            "pull_interval": 2.0,
            "jitter": 0.0,
            "soon_delay": 0.5,
        }
        with Tracker.open(db, timezone="UTC") as store:
            for i in range(SEEDED):
                store.trips.add({"date": f"2026-02-{1 + i % 28:02d}", "distance": "7.5"})
            tags = RunTagTransport("seed")
            with SyncEngine(settings(base), store, transport=tags, listener=tags.listener()) as e:
                assert heal(store, e).done
        daemon_out, daemon_err = tmp_path / "daemon.out", tmp_path / "daemon.err"
        daemon = zygote.fork("d1", base, daemon_out, daemon_err)
        other = OtherClient(sandbox, seed=rng.getrandbits(32), period=0.03)
        app = App(db, seed=rng.getrandbits(32))
        try:
            assert wait_for(lambda: "READY" in read_lines([daemon_out]), 30)
            other.start()
            app.start()
            attempts = 0
            while kinds["synced"] < CLI_SYNCS and attempts < 6 * CLI_SYNCS:
                attempts += 1
                done = subprocess.run(
                    [EXE, "sync", "--json"],
                    env=_cli_env(home, f"{server.url}/r/cli{attempts}"),
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                exits[done.returncode] += 1
                kinds[_kind(done.stdout)] += 1
                if done.returncode not in OK_EXITS or "Traceback" in done.stderr:
                    cli_errors.append(f"run {attempts}: exit {done.returncode}: {done.stderr}")
        finally:
            app.finish()
            other.finish()
            with contextlib.suppress(ProcessLookupError):
                os.kill(daemon, signal.SIGTERM)
            daemon_ended = zygote.wait(daemon, timeout=60)
        campaign_s = time.monotonic() - started
        tags = RunTagTransport("heal")
        with (
            Tracker.open(db, timezone="UTC") as store,
            SyncEngine(settings(base), store, transport=tags, listener=tags.listener()) as e,
        ):
            healed = heal(store, e)
        final_integrity = integrity(db)
        history, records = sandbox.snapshot()
    dump_history(tmp_path / "history.json", history, records)
    verdicts = check(app.acks, read_local(db), history, records)
    daemon_lines = read_lines([daemon_out])
    daemon_runs = next((x for x in daemon_lines if x.startswith("STOPPED")), "none")
    daemon_log = daemon_err.read_text() if daemon_err.exists() else ""
    daemon_ok = daemon_ended.code == 0 and "Traceback" not in daemon_log
    how = f"exit {daemon_ended.code}" if daemon_ended.signal is None else "killed"
    runs = Counter(_writer(e.run) for e in history if e.kind in ("created", "updated"))
    figures = [
        Row(
            "F5 tracker sync runs beside the daemon",
            f"{sum(exits.values())} runs: {kinds['synced']} walked and pushed, {kinds['busy']} "
            f"refused (lease held), {kinds['other']} other; exits "
            + ", ".join(f"{n} x {code}" for code, n in sorted(exits.items())),
            f">= {CLI_SYNCS} synced; exit 0, 65 or 75, no traceback",
            kinds["synced"] >= CLI_SYNCS and not cli_errors,
        ),
        Row(
            "F5 daemon exit after SIGTERM",
            f"{how} ({daemon_runs.removeprefix('STOPPED ')})",
            "0, no traceback",
            daemon_ok,
        ),
        *rows(verdicts, "F5"),
        Row(
            "F5 healed (a fresh walk complete, nothing due or parked outside a conflict)",
            f"{'yes' if healed.done else 'NO'} in {healed.runs} runs, {healed.seconds:.1f} s; "
            f"integrity {final_integrity}",
            "yes; ok",
            healed.done and final_integrity == "ok",
        ),
        Row(
            "F5 app and other client errors",
            f"{0 if app.error is None else 1}; {0 if other.error is None else 1}",
            "0; 0",
            app.error is None and other.error is None,
        ),
    ]
    scorecard.record(
        "F5",
        title="Daemon and tracker sync on one file, two-way, app and another client editing",
        section=17,
        rows=figures,
        raw={
            "cli_exits": dict(exits),
            "cli_runs": dict(kinds),
            "cli_errors": cli_errors[:3],
            "daemon": daemon_runs,
            "daemon_code": daemon_ended.code,
            "saves_by_writer": dict(runs),
            "app_acks": dict(Counter(a.what for a in app.acks)),
            "other_client": dict(other.counts),
            **verdicts.raw(),
            "heal_runs": healed.runs,
            "heal_failures": healed.failures[:5],
            "records_at_end": len(records),
            "campaign_seconds": round(campaign_s, 1),
            "seed": SEED,
            "examples": verdicts.examples(),
        },
        notes="daemon: push every 1 s, walk every 2 s, sync soon 0.5 s after a commit "
        "elsewhere; the app writes every 50 ms, the other client acts every 30 ms; "
        "tracker sync runs one after another; sync conflicts: ask",
    )
    assert not cli_errors, cli_errors[:3]
    assert daemon_ok, daemon_log[-3000:]
    assert app.error is None, app.error
    assert other.error is None, other.error
    assert kinds["synced"] >= CLI_SYNCS, (kinds, exits)
    assert healed.done, healed.failures[:5]
    assert final_integrity == "ok"
    assert not verdicts.lost_local, verdicts.lost_local[:5]
    assert not verdicts.lost_server, verdicts.lost_server[:5]
    assert not verdicts.deletes_lost, verdicts.deletes_lost[:5]
    assert not verdicts.recreated, verdicts.recreated[:5]
    assert not verdicts.duplicates, verdicts.duplicates[:5]
    assert not verdicts.diverged, verdicts.diverged[:5]

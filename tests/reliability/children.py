"""What the crash-campaign child processes do. Runs inside a process forked by the zygote
(``tests/reliability/zygote.py``), which imported all of this once, so a child starts in
milliseconds instead of half a second of imports.

A child writes its story to its stdout (a file): ``ACK <trip id> <what> [detail]`` right
after each write *returned* (the commit is done), ``PUSH``/``PUSHED`` around pushes, and
``READY`` once the store is open. It never catches a SIGKILL, obviously: the test reads
these lines afterwards to know what was acknowledged before the kill.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sync.daemon import run_daemon
from sync.engine import SyncEngine
from sync.errors import AlreadyRunningError
from sync.events import StepStarted, SyncEvent
from sync.sandbox import DEFAULT_TOKEN
from sync.settings import MileageSettings, ScheduleSettings, Settings
from tests.helpers.remote import push
from tests.reliability.twoway import RunTagTransport
from tracker.errors import StateError
from tracker.store import Tracker


def line(text: str) -> None:
    """One line on stdout with a single write(2): it survives the process being killed."""
    os.write(1, (text + "\n").encode())


def ack(trip_id: str, what: str, detail: str = "") -> None:
    """Acknowledge a committed write (called only after the store call returned)."""
    line(f"ACK {trip_id} {what} {detail}".rstrip())


def settings(args: dict[str, Any]) -> Settings:
    """Fast settings against the loopback sandbox, with the campaign's lease lengths."""
    mileage = MileageSettings(
        url=args["url"],
        token=DEFAULT_TOKEN,
        batch_size=args.get("batch", 10),
        lease_seconds=args.get("entry_lease", 300.0),
        backoff_initial=0.01,
        backoff_max=0.05,
        deadline=5.0,
        read_timeout=5.0,
        connect_timeout=2.0,
        retries=2,
        pull_since=args.get("pull_since", "previous-year"),
        # The campaigns' sandbox has no rate limit; the budget, shared by every child on the
        # file (tests/sync/test_shared_budget.py), would otherwise throttle them all.
        rate_limit=args.get("rate_limit", 1_000_000),
    )
    schedule = ScheduleSettings(
        lease_seconds=args.get("push_lease", 120.0),
        push_interval=args.get("push_interval", 60.0),
        pull_interval=args.get("pull_interval", 900.0),
        jitter=args.get("jitter", 5.0),
        soon_delay=args.get("soon_delay", 3.0),
    )
    return Settings(home=Path(args["db"]).parent, mileage=mileage, schedule=schedule)


def notes_token(child: int, op: int) -> str:
    """A note that orders edits in time: later children and later ops sort higher."""
    return f"{child:06d}.{op:06d}"


def job_a1(args: dict[str, Any]) -> None:
    """Record (manual trips, live trips with fixes, edits, deletes) and push, forever."""
    rng = random.Random(args["seed"])
    child = int(args["child"])
    store = Tracker.open(args["db"], timezone="UTC", busy_timeout=10.0)
    engine = SyncEngine(settings(args), store)
    line("READY")
    known = [t.id for t in store.trips.list()]
    op = 0
    while True:
        op += 1
        roll = rng.random()
        day = datetime(2026, 1, 1, 8, tzinfo=UTC) + timedelta(days=rng.randrange(365))
        if roll < 0.55 or not known:
            trip = store.trips.add(
                {
                    "date": day.date().isoformat(),
                    "distance": f"{rng.randrange(500)}.{rng.randrange(1000):03d}",
                    "description": f"c{child} op{op}",
                    "notes": notes_token(child, op),
                    "classification": rng.choice(["business", "personal", "unclassified"]),
                }
            )
            ack(trip.id, "add")
            known.append(trip.id)
        elif roll < 0.70:
            trip = store.trips.start({"start_time": day, "description": f"c{child} live{op}"})
            ack(trip.id, "start")
            known.append(trip.id)
            count = rng.randrange(2, 150)
            fixes = [
                (day + timedelta(seconds=1 + i), 52.0 + i * 1e-4, 13.0 + i * 1e-4, 5.0)
                for i in range(count)
            ]
            store.trips.add_points(trip.id, fixes)
            ack(trip.id, "points", str(count))
            store.trips.stop(trip.id, end_time=day + timedelta(seconds=count + 2))
            ack(trip.id, "stop")
        elif roll < 0.93:
            trip_id = rng.choice(known)
            notes = notes_token(child, op)
            try:
                store.trips.edit(trip_id, {"notes": notes})
            except StateError:  # deleted meanwhile
                known.remove(trip_id)
                continue
            ack(trip_id, "edit", notes)
        else:
            trip_id = rng.choice(known)
            store.trips.delete(trip_id)
            ack(trip_id, "delete")
            known.remove(trip_id)
        if op % args["push_every"] == 0:
            line("PUSH")
            try:
                push(engine)
            except AlreadyRunningError:
                line("BUSY")
            line("PUSHED")


def job_a2(args: dict[str, Any]) -> None:
    """Add a batch of trips, then push with a hook that SIGKILLs this process at the
    ``kill_at``-th time the named point is reached. Exits 0 (``NOKILL``) if it never is."""
    rng = random.Random(args["seed"])
    point, kill_at = args["point"], int(args["kill_at"])
    hits = 0

    def hook(name: str) -> None:
        nonlocal hits
        if name != point:
            return
        hits += 1
        if hits == kill_at:
            line(f"KILL {name} {hits}")
            os.kill(os.getpid(), signal.SIGKILL)

    store = Tracker.open(args["db"], timezone="UTC", busy_timeout=10.0)
    engine = SyncEngine(settings(args), store, hook=hook)
    line("READY")
    for i in range(int(args["trips"])):
        day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(365))
        trip = store.trips.add(
            {
                "date": day.date().isoformat(),
                "distance": f"{rng.randrange(100)}.5",
                "notes": notes_token(int(args["child"]), i),
            }
        )
        ack(trip.id, "add")
    _push_until_free(engine, 30.0)
    line("NOKILL")


def job_f1(args: dict[str, Any]) -> None:
    """Insert ``trips`` trips in chunks and push after every chunk, racing another process
    doing the same on the same file."""
    if args.get("database_url"):  # fleet mode: the same race on PostgreSQL
        store = Tracker.open_url(args["database_url"], timezone="UTC", busy_timeout=30.0)
    else:
        store = Tracker.open(args["db"], timezone="UTC", synchronous="NORMAL", busy_timeout=30.0)
    engine = SyncEngine(settings(args), store)
    line("READY")
    name = args["name"]
    total, chunk = int(args["trips"]), int(args["chunk"])
    pushes = refused = 0
    for start in range(0, total, chunk):
        for i in range(start, min(total, start + chunk)):
            trip = store.trips.add(
                {"date": f"2026-03-{1 + i % 28:02d}", "distance": "1.5", "description": name}
            )
            ack(trip.id, "add")
        try:
            push(engine)
            pushes += 1
        except AlreadyRunningError:
            refused += 1
    pushes += _push_until_free(engine, 120.0)
    line(f"DONE pushes={pushes} refused={refused}")


def job_p1(args: dict[str, Any]) -> None:
    """Add trips and set descriptions (the local side of two-way sync), and sync with pull
    and push every few writes, forever. Requests carry the run's tag
    (``tests/reliability/twoway.py``); ``STEP mileage`` / ``STEP push`` mark the phases."""
    rng = random.Random(args["seed"])
    child = int(args["child"])
    store = Tracker.open(args["db"], timezone="UTC", busy_timeout=10.0)
    tags = RunTagTransport(f"c{child}")

    def step(event: SyncEvent) -> None:
        if isinstance(event, StepStarted):
            line(f"STEP {event.step}")

    engine = SyncEngine(settings(args), store, transport=tags, listener=tags.listener(step))
    line("READY")
    known = [t.id for t in store.trips.list()]
    op = 0
    while True:
        op += 1
        if rng.random() < args["add"] or not known:
            day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(365))
            trip = store.trips.add(
                {
                    "date": day.date().isoformat(),
                    "distance": f"{rng.randrange(1, 300)}.{rng.randrange(1000):03d}",
                    "description": f"L{child:06d}.{op:06d}",
                    "notes": f"n{child}.{op}" if rng.random() < 0.5 else None,
                    "classification": rng.choice(["business", "personal", "unclassified"]),
                }
            )
            ack(trip.id, "add")
            known.append(trip.id)
        else:
            trip_id = rng.choice(known)
            value = f"L{child:06d}.{op:06d}"  # later children and ops sort higher
            try:
                store.trips.edit(trip_id, {"description": value})
            except StateError:  # deleted on the server meanwhile
                known.remove(trip_id)
                continue
            ack(trip_id, "desc", value)
        if op % args["sync_every"] == 0:
            # A full sync mostly; now and then a push alone (it reads the copies it updates).
            pull = rng.random() < 0.75
            line("SYNC")
            report = engine.run(push=True, pull=True if pull else None)
            failed = ",".join(sorted(report.failures)) or "-"
            line(f"SYNCED failures={failed}")


def job_d1(args: dict[str, Any]) -> None:
    """The daemon (``sync.daemon.run_daemon``, as ``tracker daemon`` runs it) until SIGTERM;
    each of its sync runs tags its requests (``tests/reliability/twoway.py``)."""
    store = Tracker.open(args["db"], timezone="UTC", busy_timeout=10.0)
    tags = RunTagTransport("d")
    engine = SyncEngine(settings(args), store, transport=tags, listener=tags.listener())
    line("READY")
    code = run_daemon(engine)
    line(f"STOPPED code={code} runs={tags.runs}")


def _push_until_free(engine: SyncEngine, limit: float) -> int:
    """Push once, waiting while another process holds the sync lease."""
    deadline = time.monotonic() + limit
    while True:
        try:
            push(engine)
            return 1
        except AlreadyRunningError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


JOBS: dict[str, Callable[[dict[str, Any]], None]] = {
    "a1": job_a1,
    "a2": job_a2,
    "f1": job_f1,
    "p1": job_p1,
    "d1": job_d1,
}


def run_child(job: str, args: dict[str, Any], out: str, err: str) -> None:
    """Body of a forked child: stdout/stderr to files, run the job, never return."""
    code = 0
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        os.dup2(os.open(out, flags, 0o600), 1)
        os.dup2(os.open(err, flags, 0o600), 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        JOBS[job](args)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)

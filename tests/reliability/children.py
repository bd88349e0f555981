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

from sync.engine import SyncEngine
from sync.errors import AlreadyRunningError
from sync.sandbox import DEFAULT_TOKEN
from sync.settings import MileageSettings, ScheduleSettings, Settings
from tests.helpers.remote import push
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
    )
    schedule = ScheduleSettings(lease_seconds=args.get("push_lease", 120.0))
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

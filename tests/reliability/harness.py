"""Harness for the campaigns: the fork-server client, and the oracles (what was acked, what
is in the file, what the sandbox stored, what was sent twice)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sync.engine import SyncEngine
from sync.errors import AlreadyRunningError
from sync.sandbox import Sandbox
from tests.helpers.remote import push
from tracker.store import Tracker

ROOT = Path(__file__).resolve().parents[2]
KEY = "trackerLocalId"
EXE = str(Path(sys.executable).parent / "tracker")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any TRACKER_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(extra)
    return env


# ------------------------------------------------------------------------- fork server
@dataclass(frozen=True)
class Ended:
    """How a child ended: killed by ``signal``, or exited with ``code``."""

    signal: int | None
    code: int | None

    @property
    def killed(self) -> bool:
        return self.signal == signal.SIGKILL


class Zygote:
    """Client of ``tests/reliability/zygote.py`` (a process that forks campaign children)."""

    def __init__(self, log: Path) -> None:
        self._log = open(log, "ab")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.zygote"],
            cwd=ROOT,
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        self._pump_thread = threading.Thread(
            target=self._pump, args=(self.proc.stdout,), daemon=True
        )
        self._pump_thread.start()
        assert self._reply(60.0) == {"ready": True}

    def _pump(self, stream: IO[str]) -> None:
        for raw in stream:
            self._lines.put(raw)

    def _send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def _reply(self, timeout: float) -> Any:
        return json.loads(self._lines.get(timeout=timeout))

    def fork(self, job: str, args: dict[str, Any], out: Path, err: Path) -> int:
        """Start a child running ``job``; returns its PID."""
        self._send({"op": "fork", "job": job, "args": args, "out": str(out), "err": str(err)})
        return int(self._reply(30.0)["pid"])

    def kill_after(
        self, job: str, args: dict[str, Any], out: Path, err: Path, seconds: float
    ) -> Ended:
        """Start a child running ``job``, SIGKILL it after ``seconds`` (unless it ended on its
        own first) and reap it."""
        pid = self.fork(job, args, out, err)
        time.sleep(seconds)  # the kill's moment is the campaign's random choice
        with contextlib.suppress(ProcessLookupError):  # it may have died on its own
            os.kill(pid, signal.SIGKILL)
        return self.wait(pid)

    def wait(self, pid: int, timeout: float = 60.0) -> Ended:
        """Reap the child; SIGKILL it first if it is still running after ``timeout``."""
        self._send({"op": "wait", "pid": pid})
        try:
            got = self._reply(timeout)
        except queue.Empty:
            os.kill(pid, signal.SIGKILL)
            got = self._reply(30.0)
            got["hung"] = True
        return Ended(got["signal"], got["code"])

    def close(self) -> None:
        try:
            self._send({"op": "quit"})
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        self._pump_thread.join(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._log.close()


# ------------------------------------------------------------------------- the file
def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` through a read-only connection (which leaves the WAL, and
    its recovery, to the next writer)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return "; ".join(str(r[0]) for r in con.execute("PRAGMA integrity_check").fetchall())
    finally:
        con.close()


@dataclass(frozen=True)
class TripRow:
    """A trip as stored in the file."""

    id: str
    remote_id: str | None
    status: str
    lifecycle: str
    description: str | None
    notes: str | None
    waypoints: int


def read_trips(path: Path) -> dict[str, TripRow]:
    """Every trip in the file, read with plain sqlite3 (not through the code under test)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        counts = dict(
            con.execute(
                "SELECT k.trip_id, count(*) FROM waypoint w JOIN track k ON k.key = w.trip_key "
                "GROUP BY k.trip_id"
            ).fetchall()
        )
        rows = con.execute(
            "SELECT id, remote_id, status, lifecycle, description, notes FROM trip"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: TripRow(r[0], r[1], r[2], r[3], r[4], r[5], counts.get(r[0], 0)) for r in rows}


# ------------------------------------------------------------------------- acknowledgements
@dataclass(frozen=True)
class Ack:
    """One ``ACK <trip> <what> [detail]`` line: a write whose commit had returned."""

    trip_id: str
    what: str
    detail: str


def read_lines(paths: Iterable[Path]) -> list[str]:
    """All lines of the children's stdout files, in order."""
    out: list[str] = []
    for path in paths:
        if path.exists():
            out += path.read_text().splitlines()
    return out


def parse_acks(lines: Iterable[str]) -> list[Ack]:
    """The ACK lines."""
    acks = []
    for text in lines:
        parts = text.split(" ", 3)
        if parts[0] == "ACK":
            acks.append(Ack(parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
    return acks


def lost_acks(acks: list[Ack], trips: dict[str, TripRow]) -> list[Ack]:
    """Acknowledged writes the file does not reflect (acked ⊄ local)."""
    lost = []
    for a in acks:
        row = trips.get(a.trip_id)
        if row is None:
            lost.append(a)
        elif a.what == "edit" and not (row.notes or "") >= a.detail:
            lost.append(a)  # notes only ever grow (child, op) -> a later edit may win
        elif (
            (a.what == "points" and row.waypoints < int(a.detail))
            or (a.what == "stop" and row.status != "complete")
            or (a.what == "delete" and row.lifecycle != "deleted")
        ):
            lost.append(a)
    return lost


# ------------------------------------------------------------------------- the server
def divergence(trips: dict[str, TripRow], sandbox: Sandbox) -> list[str]:
    """After a heal: every complete, active trip is stored exactly once under its remote id
    with its latest notes and description; no deleted trip is stored. Returns the trips
    that differ (with a reason)."""
    bad = []
    for row in trips.values():
        stored = sandbox.records_with_custom(KEY, row.id)
        if row.lifecycle == "deleted":
            if stored:
                bad.append(f"{row.id}: deleted locally, {len(stored)} record(s) on the server")
            continue
        if row.status != "complete":
            bad.append(f"{row.id}: still recording after heal")
            continue
        if len(stored) != 1:
            bad.append(f"{row.id}: stored {len(stored)} times")
            continue
        (record,) = stored
        if record["id"] != row.remote_id:
            bad.append(f"{row.id}: local remote_id {row.remote_id} != {record['id']}")
        elif (record.get("notes"), record.get("description")) != (row.notes, row.description):
            bad.append(f"{row.id}: server has an older state")
    return bad


def trace(db: Path, sandbox: Sandbox, trip_id: str) -> str:
    """A diverged trip's story, for a failure message: what the sandbox received for it (in
    arrival order) and the trip's journal and history in the file."""
    lines = [f"trip {trip_id}:"]
    for d in sandbox.deliveries:
        if d.custom(KEY) == trip_id:
            item = d.item if isinstance(d.item, dict) else {}
            lines.append(
                f"  request {d.request} #{d.position}: {d.outcome} {d.record_id} "
                f"id={item.get('id')} notes={item.get('notes')!r} deleted={item.get('deleted')}"
            )
    with contextlib.closing(sqlite3.connect(db)) as con:
        for row in con.execute(
            "SELECT seq, op, state, in_doubt, payload_version, lease_owner, synced_at"
            " FROM journal WHERE trip_id = ? ORDER BY seq",
            (trip_id,),
        ):
            lines.append(f"  entry {row}")
        for row in con.execute(
            "SELECT id, entry_seq, at, event, detail FROM journal_event"
            " WHERE trip_id = ? ORDER BY id",
            (trip_id,),
        ):
            lines.append(f"  event {row}")
    return "\n".join(lines)


def creates_stored(sandbox: Sandbox) -> Counter[str]:
    """Local id -> how many records were *created* for it (2+ = stored twice, even if one
    was deleted later)."""
    return Counter(
        d.custom(KEY) for d in sandbox.deliveries if d.outcome == "created" and d.custom(KEY)
    )


def stored_twice(sandbox: Sandbox) -> dict[str, int]:
    """Local ids created more than once at the sandbox."""
    return {k: n for k, n in creates_stored(sandbox).items() if n > 1}


def redeliveries(sandbox: Sandbox) -> int:
    """Items received again with the same content as an earlier delivery of the same trip
    (a create answered but unknown, then re-sent as an update, counts too)."""
    seen: Counter[str] = Counter()
    for d in sandbox.deliveries:
        if not isinstance(d.item, dict) or d.custom(KEY) is None:
            continue
        body = {k: v for k, v in d.item.items() if k != "id"}
        seen[json.dumps(body, sort_keys=True)] += 1
    return sum(n - 1 for n in seen.values())


def wrongly_synced(store: Tracker, sandbox: Sandbox, trip_ids: Iterable[str]) -> list[str]:
    """Trips marked synced whose remote id is not a sandbox record carrying their local id."""
    bad = []
    for view in store.trips.by_id(list(trip_ids)).values():
        if view.sync_state != "synced" or view.lifecycle == "deleted":
            continue
        record = sandbox.record(view.remote_id or "")
        if record is None or (record.get("customData") or {}).get(KEY) != view.id:
            bad.append(view.id)
    return bad


# ------------------------------------------------------------------------- healing
def drain(store: Tracker, engine: SyncEngine, timeout: float = 60.0) -> bool:
    """Push until nothing is pending or in flight (faults off). True when drained."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            push(engine)
        except AlreadyRunningError:
            time.sleep(0.05)
            continue
        counts = store.journal.counts()
        if counts.pending == 0 and counts.in_flight == 0:
            return True
        time.sleep(0.05)
    return False


def finish_recordings(store: Tracker) -> int:
    """Stop every trip a killed child left recording (the user presses stop later)."""
    live = [t for t in store.trips.list() if t.status == "recording"]
    for trip in live:
        store.trips.stop(trip.id)
    return len(live)

"""E: storage faults through the ``tracker`` command, as real subprocesses.

Disk full (RLIMIT_FSIZE with SIGXFSZ ignored, a 512 KiB tmpfs, and ``max_page_count`` at the
library level), a read-only file (read-only bind mount, as root), a damaged file (zeroed
header, truncated, one damaged page of the trip, waypoint or journal_event table) and a
locked file. Oracles: the documented exit code (74 storage, 75 busy), one line on stderr, no
traceback, nothing half-written (database fingerprint unchanged, integrity ok afterwards),
and for a damaged file: no request to the server and the file left byte-for-byte untouched
(docs/configuration.md: "a damaged file is never modified").
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from sync.cli.exitcodes import exit_code_for
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxServer, serve
from tests.helpers.filefaults import damage_page, killed_holding
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import EXE, clean_env, integrity
from tests.tracker.snapshot import fingerprint
from tracker.errors import StorageFullError
from tracker.store import Tracker

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
PROGRESS = re.compile(r"^(claimed|reconciled) \d+$")  # `tracker sync`'s plain progress lines


@dataclass
class Outcome:
    label: str
    expected: int
    code: int
    stderr: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def run(
    env: dict[str, str], *argv: str, limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    def shrink() -> None:  # in the child, before exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [EXE, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=shrink,  # resource limits and signal dispositions need it
    )


def judge(
    label: str,
    result: subprocess.CompletedProcess[str],
    expected: int,
    needle: str,
) -> Outcome:
    out = Outcome(label, expected, result.returncode, result.stderr.strip())
    if result.returncode != expected:
        out.problems.append(f"exit {result.returncode}, expected {expected}")
    if "Traceback" in result.stderr + result.stdout:
        out.problems.append("traceback")
    lines = [x for x in out.stderr.splitlines() if not PROGRESS.match(x)]
    if len(lines) != 1 or not lines[0].startswith("error: "):
        out.problems.append(f"not a one-line error: {lines[:3]}")
    if needle not in out.stderr:
        out.problems.append(f"message does not say {needle!r}")
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_db(home: Path, *, trips: int = 50, fixes: int = 5000, unclean: bool = False) -> str:
    """A database with manual trips and a live trip with many fixes (all pending); returns
    the id of a second live trip left recording (for appends). ``unclean``: a process that
    had it open was then killed (its session is left behind)."""
    with Tracker.open(home / "tracker.db", timezone="UTC") as t:
        for i in range(trips):
            t.trips.add({"date": "2026-03-01", "distance": "1", "notes": "x" * 200 + str(i)})
        trip = t.trips.start({"start_time": T0})
        t.trips.add_points(
            trip.id,
            [(T0 + timedelta(seconds=i + 1), 52 + i * 1e-5, 13.0) for i in range(fixes)],
        )
        t.trips.stop(trip.id, end_time=T0 + timedelta(hours=3))
        live = t.trips.start({"start_time": T0 + timedelta(days=1)})
    if unclean:
        killed_holding(home / "tracker.db")
    con = sqlite3.connect(home / "tracker.db")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return live.id


def big_csv(path: Path, rows: int = 20_000) -> Path:
    start = T0 + timedelta(days=1, seconds=1)
    lines = ["time,lat,lng"] + [
        f"{(start + timedelta(seconds=i)).isoformat()},{52 + i * 1e-6:.6f},13.0"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """A read-only bind mount of ``folder`` onto itself (root ignores file modes)."""
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with serve(Sandbox(rate_limit=None)) as running:
        yield running


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.skipif(os.geteuid() != 0, reason="bind and tmpfs mounts need root")
def test_storage_faults_end_in_one_line_and_a_documented_exit_code(
    tmp_path: Path, server: SandboxServer, scorecard: Scorecard
) -> None:
    sandbox = server.sandbox
    template = tmp_path / "template"
    live = make_db(template)
    csv = big_csv(tmp_path / "fixes.csv")
    outcomes: list[Outcome] = []
    skipped: list[str] = []

    def fresh(name: str) -> tuple[Path, dict[str, str]]:
        home = tmp_path / name
        shutil.copytree(template, home)
        env = clean_env(
            TRACKER_HOME=str(home),
            TRACKER_MILEAGE_URL=server.tight_url,
            TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
            TRACKER_BUSY_TIMEOUT="0.3",
        )
        return home, env

    def unchanged_and_ok(out: Outcome, db: Path, before: dict[str, tuple[int, str]]) -> None:
        if fingerprint(db) != before:
            out.problems.append("rows changed")
        check = integrity(db)
        if check != "ok":
            out.problems.append(f"integrity: {check[:80]}")

    # E1: locked file (another connection holds the write lock).
    home, env = fresh("locked")
    db = home / "tracker.db"
    before = fingerprint(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        requests = len(sandbox.requests)
        add = judge(
            "locked: trip add",
            run(env, "trip", "add", "--distance", "1", "--date", "2026-03-02"),
            75,
            "busy",
        )
        push = judge("locked: sync", run(env, "sync"), 75, "busy")
        if len(sandbox.requests) != requests:
            push.problems.append("sent requests while the file was locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    unchanged_and_ok(add, db, before)
    again = run(env, "trip", "add", "--distance", "1", "--date", "2026-03-02")
    if again.returncode != 0:
        add.problems.append(f"after the lock was released: exit {again.returncode}")
    outcomes += [add, push]

    # E3: disk full, three ways.
    home, env = fresh("fsize")
    db = home / "tracker.db"
    before = fingerprint(db)
    limit = db.stat().st_size + 16 * 1024
    full = judge(
        "disk full (RLIMIT_FSIZE): trip point --csv",
        run(env, "trip", "point", live, "--csv", str(csv), limit=limit),
        74,
        "disk full",
    )
    unchanged_and_ok(full, db, before)
    resumed = run(env, "trip", "point", live, "--csv", str(csv))
    if resumed.returncode != 0:
        full.problems.append(f"writes did not resume after the limit: exit {resumed.returncode}")
    outcomes.append(full)

    mount = tmp_path / "tmpfs"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode == 0:
        try:
            env = clean_env(TRACKER_HOME=str(mount / "home"), TRACKER_TIMEZONE="UTC")
            started = run(env, "trip", "start", "--at", "2026-03-02T08:00:00+00:00", "--json")
            trip_id = started.stdout.split('"id": "')[1].split('"')[0]
            db = mount / "home" / "tracker.db"
            before = fingerprint(db)
            full = judge(
                "disk full (tmpfs 512 KiB): trip point --csv",
                run(env, "trip", "point", trip_id, "--csv", str(csv)),
                74,
                "disk full",
            )
            unchanged_and_ok(full, db, before)
            outcomes.append(full)
        finally:
            subprocess.run(["umount", str(mount)], check=True)
    else:  # pragma: no cover - depends on the sandbox
        skipped.append(f"tmpfs: {mounted.stderr.decode().strip()}")

    home, _env = fresh("pages")
    db = home / "tracker.db"
    with Tracker.open(db, timezone="UTC") as store:
        pages = store.db.engine.execution_options(sqlite_begin="DEFERRED").connect()
        try:
            count = pages.exec_driver_sql("PRAGMA page_count").scalar()
        finally:
            pages.close()

        @event.listens_for(store.db.engine, "connect")
        def _cap(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {count}")

        store.db.engine.dispose()
        before = fingerprint(db)
        out = Outcome("disk full (max_page_count, library): add_points", 74, 0, "")
        fixes = [(T0 + timedelta(days=2, seconds=i), 52.0, 13.0) for i in range(20_000)]
        try:
            store.trips.add_points(live, fixes)
            out.problems.append("accepted")
        except StorageFullError as err:
            out.code, out.stderr = int(exit_code_for(err)), str(err)  # what the CLI would exit
            if len(str(err).splitlines()) != 1 or "disk full" not in str(err):
                out.problems.append("message not one line naming disk full")
    unchanged_and_ok(out, db, before)
    outcomes.append(out)

    # E10: read-only file (a read-only bind mount of the data folder).
    home, env = fresh("readonly")
    db = home / "tracker.db"
    before_bytes = sha(db)
    requests = len(sandbox.requests)
    with read_only(home):
        add = judge(
            "read-only: trip add",
            run(env, "trip", "add", "--distance", "1", "--date", "2026-03-02"),
            74,
            "read-only",
        )
        push = judge("read-only: sync", run(env, "sync"), 74, "read-only")
        listed = run(env, "trip", "list")
    if len(sandbox.requests) != requests:
        push.problems.append("sent requests from a read-only file")
    # Reading may work (0) or be refused like a write (74: a WAL file needs a writable -shm).
    reading = judge("read-only: trip list", listed, 74, "read-only")
    if listed.returncode == 0 and "Traceback" not in listed.stderr:
        reading = Outcome("read-only: trip list", 0, 0, "")
    for out in (add, push, reading):
        if sha(db) != before_bytes:
            out.problems.append("file modified")
    if integrity(db) != "ok":
        add.problems.append("integrity after")
    outcomes += [add, push, reading]

    # E10: the data folder cannot exist (its parent is a file).
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = clean_env(TRACKER_HOME=str(blocker / "home"))
    outcomes.append(judge("data folder impossible: status", run(env, "status"), 74, "TRACKER_HOME"))

    bad = [o for o in outcomes if not o.ok]
    tracebacks = sum("traceback" in o.problems for o in outcomes)
    mismatches = sum(o.code != o.expected for o in outcomes)
    rows = [
        Row(
            "E storage faults handled (exit code, one line, no traceback, nothing half-written)",
            ratio(len(outcomes) - len(bad), len(outcomes), "cases"),
            "100 %",
            not bad,
        ),
        Row("E tracebacks", ratio(tracebacks, len(outcomes), "cases"), "0", tracebacks == 0),
        Row(
            "E exit-code mismatches (74 storage / 75 busy)",
            ratio(mismatches, len(outcomes), "cases"),
            "0",
            mismatches == 0,
        ),
    ]
    scorecard.record(
        "E",
        title="Storage faults via the CLI",
        section=12,
        rows=rows,
        raw={
            "cases": {o.label: {"exit": o.code, "problems": o.problems} for o in outcomes},
            "skipped": skipped,
        },
        notes="subprocesses of the real `tracker` command; max_page_count is library-level "
        "(the CLI cannot set it)",
    )
    assert not bad, [(o.label, o.problems) for o in bad]


DAMAGES: list[tuple[str, Callable[[Path], object]]] = [
    ("zeroed header", lambda db: db.write_bytes(bytes(100) + db.read_bytes()[100:])),
    ("truncated to half", lambda db: db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])),
    ("damaged trip page", lambda db: damage_page(db, "trip")),
    ("damaged waypoint page", lambda db: damage_page(db, "waypoint")),
    ("damaged journal_event page", lambda db: damage_page(db, "journal_event")),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("damaged") / "template"
    # Damage comes with crashes and power loss: the file was not closed cleanly, so the next
    # open checks it in full (a cleanly closed file is not read whole: docs/sync-guarantees.md).
    make_db(home, unclean=True)
    return home


@pytest.mark.parametrize("damage", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_file_is_refused_sends_nothing_and_stays_untouched(
    tmp_path: Path,
    template: Path,
    server: SandboxServer,
    scorecard: Scorecard,
    damage: tuple[str, Callable[[Path], object]],
) -> None:
    """``tracker sync`` on a damaged file not closed cleanly: exit 74 naming the way out
    (``.recover``), no request, and the file byte-for-byte as it was (docs/configuration.md,
    "Where the data lives")."""
    name, spoil = damage
    home = tmp_path / "home"
    shutil.copytree(template, home)
    db = home / "tracker.db"
    spoil(db)
    before = sha(db)
    env = clean_env(
        TRACKER_HOME=str(home),
        TRACKER_MILEAGE_URL=server.tight_url,
        TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
    )
    out = judge(f"damaged ({name}): sync", run(env, "sync"), 74, "recover")
    sent = len(server.sandbox.requests)
    if sent:
        out.problems.append(f"{sent} request(s) sent from the damaged file")
    if sha(db) != before:
        out.problems.append("the damaged file was modified")
    scorecard.record(
        f"E6.{name}",
        title=f"Damaged file: {name}",
        section=12,
        rows=[
            Row(
                f"E6 {name}: sync exits 74, sends nothing, leaves the file untouched",
                f"exit {out.code}; {sent} request(s); "
                + (
                    "file modified"
                    if "the damaged file was modified" in out.problems
                    else "file untouched"
                ),
                "74; 0; untouched",
                out.ok,
            )
        ],
        raw={"exit": out.code, "requests": sent, "problems": out.problems, "stderr": out.stderr},
    )
    assert out.ok, out.problems

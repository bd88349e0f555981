"""Two-way mileage pull (issue 12): walking 10k unchanged server records, and the window
between a push's read of a server copy and its save.

**The walk.** A store holds ``n`` trips that are already synced: made by
``bench.push.make_pending_db`` and pushed once through the real engine, so the sandbox has
their records and every trip has its ``remote_id`` and its base (``remote_record``). The
sandbox runs in a child process on loopback (``bench.remote``). In the same run, best of
``repeats`` each, alternating the order:

* the floor: a bare httpx loop POSTing ``/v6/mileage/query`` with the engine's body (same page
  size, same date window, same sort), parsing each page's JSON and following the cursor;
* the engine: ``SyncEngine.run(push=False, pull=True)`` with ``mileage.two_way`` on (the
  mileage step alone: the costs API is not configured) on a fresh copy of the store, timed
  around the run on a freshly opened store (its one ``PRAGMA quick_check`` included).

Ratio = bare seconds / engine seconds. Most of the bare loop's time is the sandbox's: it
filters and sorts every stored record for each page (~30 ms a page at 10k records against
~4 ms with a few hundred), so the row also gives both sides per page and the engine's extra
milliseconds per page, the figure that does not depend on the server's speed.

The walk must write nothing but its checkpoint: the copy carries ``AFTER
INSERT/UPDATE/DELETE`` triggers on every table that count each row written into a side
table (a write that stores the same values counts too), and the data tables (trips,
journal, history, conflicts, cars, waypoints, costs) are checksummed before and after. Only
``pull_state`` (the walk's checkpoint, one row moved once per page) and ``lease`` (the sync
lock the run takes and gives back) may be written. The triggers fire on writes only: on a
walk that writes nothing else they cost ~100 one-row updates of the side table.

Memory: a child process (``--memory``) walks another copy; its peak RSS during the walk
(``VmHWM`` reset after the imports and the store's opening, as in ``bench/memory.py``) is the
whole process, interpreter and libraries included, and the growth above that baseline is
reported alongside.

**The read->save window.** With ``two_way`` on, a push first reads the server copies of the
trips whose updates it sends (``MileagePull.refresh``: a query walk over the pending trips'
dates, one day either side), merges them, then sends the saves. An edit made on the server in
between is overwritten by the save. A wrapping transport on the engine's client time-stamps
every exchange (``perf_counter``: a request when it is handed to the transport, a response
when its last byte was read; the sandbox's request log numbers requests but does not time
them, and it lives in another process). For every trip saved, the window is from the end of
the last response that carried its record to the start of the save request that carried its
update (and, alongside, to the end of that save's answer: the server applied the save in
between). Per scenario, the ``k`` most recent trips are edited here (``notes``) and pushed in
one run, ``rounds`` times; in the walk's dense store (~360 trips a day) and in a sparse one
(300 trips, ~11 a day), since the refresh reads every record dated within a day of the trips
it is about to update.

Targets (issue 12): the walk >= 0.5x the bare loop; peak RSS < 150 MB; no row written but
checkpoints. The window has no target: it is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.children import child_env, json_child
from bench.push import copy_db, make_pending_db, mileage_settings
from bench.remote import Remote, sandbox_process
from sync.sandbox import DEFAULT_TOKEN
from sync.tight.api import QUERY_PATH, SAVE_PATH

TARGET = 0.5
MEMORY_TARGET_MB = 150
PAGE_SIZE = 100
SINCE = "2026-03-01"
"""``mileage.pull_since`` for every run: the first date of the fixture's trips
(``bench.push._trip_input``: 2026-03-01..28), pinned so the window does not move with the
machine's clock (the default, ``previous-year``, would cover them until the end of 2027)."""
CHECKPOINT_TABLES = frozenset({"pull_state"})
LOCK_TABLES = frozenset({"lease"})
BUDGET_TABLES = frozenset({"request_grant", "request_budget"})
"""The request budget shared by every process on the file: a grant per request, not data."""
SESSION_TABLES = frozenset({"store_session"})
"""Who has the file open (a row per open, gone at a clean close: the integrity rule)."""
CHECKSUMMED = (
    "trip",
    "journal",
    "journal_event",
    "conflict",
    "car",
    "track",
    "waypoint",
    "cost",
)
AUDIT_TABLE = "bench_writes"


# ----------------------------------------------------------------------------- fixtures
def settings_for(url: str, home: Path, *, batch: int = 100, page_size: int = PAGE_SIZE) -> Any:
    """Engine settings: the sandbox's Tight, two-way on, the pinned window, no client budget."""
    from sync.settings import Settings

    cfg = mileage_settings(url, batch, query_page_size=page_size, pull_since=SINCE, two_way=True)
    return Settings(home=home, mileage=cfg)


def make_synced_db(path: Path, n: int, remote: Remote) -> None:
    """A store at ``path`` whose ``n`` trips the sandbox already has: ``n`` pending trips
    pushed once through the engine (every trip then has its Tight id and its base), a
    write-audit installed (:func:`install_audit`), and the WAL folded into the file so a plain
    copy is the whole database."""
    from bench import steps
    from sync.engine import SyncEngine
    from tracker.store import Tracker

    make_pending_db(path, n)
    with (
        Tracker.open(path, timezone="UTC") as store,
        SyncEngine(settings_for(remote.tight_url, path.parent), store) as engine,
    ):
        report = steps.push(engine)
        counts = store.journal.counts()
    if report.synced != n or counts.pending or report.parked:
        raise RuntimeError(f"seeding push synced {report.synced} of {n}: {report.to_dict()}")
    con = sqlite3.connect(path, isolation_level=None)
    try:
        (based,) = con.execute(
            "SELECT count(*) FROM trip WHERE remote_id IS NOT NULL AND remote_record IS NOT NULL"
        ).fetchone()
        if based != n:
            raise RuntimeError(f"{based} of {n} trips have a Tight id and a base")
        install_audit(con)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def _tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT IN ('alembic_version', ?) ORDER BY name",
        (AUDIT_TABLE,),
    )
    return [name for (name,) in rows]


def install_audit(con: sqlite3.Connection) -> None:
    """Count every row written to any table of the store, per table, in ``bench_writes``."""
    con.execute(f"CREATE TABLE {AUDIT_TABLE} (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    for table in _tables(con):
        con.execute(f"INSERT INTO {AUDIT_TABLE} VALUES (?, 0)", (table,))
        for op in ("INSERT", "UPDATE", "DELETE"):
            con.execute(
                f'CREATE TRIGGER "bench_{table}_{op.lower()}" AFTER {op} ON "{table}" '
                f"BEGIN UPDATE {AUDIT_TABLE} SET n = n + 1 WHERE tbl = '{table}'; END"
            )


def writes(db: Path) -> dict[str, int]:
    """Rows written per table since the audit was installed (tables with none left out)."""
    con = sqlite3.connect(db)
    try:
        return dict(con.execute(f"SELECT tbl, n FROM {AUDIT_TABLE} WHERE n > 0 ORDER BY tbl"))
    finally:
        con.close()


def checksums(db: Path) -> dict[str, str]:
    """A digest of every row of the data tables (trips, journal, history, conflicts...)."""
    con = sqlite3.connect(db)
    try:
        present = set(_tables(con))
        out = {}
        for table in CHECKSUMMED:
            if table not in present:
                continue
            digest = hashlib.sha256()
            # Sorted here: some tables have no rowid to order by.
            for text in sorted(repr(row) for row in con.execute(f'SELECT * FROM "{table}"')):
                digest.update(text.encode())
            out[table] = digest.hexdigest()
        return out
    finally:
        con.close()


@dataclass
class Audit:
    """What a walk wrote: rows per table, and the data tables whose content changed."""

    written: dict[str, int]
    changed: list[str]

    @property
    def data_rows(self) -> int:
        """Rows written outside the checkpoint, the lock and the request budget."""
        kept = CHECKPOINT_TABLES | LOCK_TABLES | BUDGET_TABLES | SESSION_TABLES
        return sum(n for t, n in self.written.items() if t not in kept)

    @property
    def clean(self) -> bool:
        """Nothing but checkpoints (and the lock) written, no data table changed."""
        return self.data_rows == 0 and not self.changed


@contextmanager
def audited(db: Path) -> Iterator[list[Audit]]:
    """Audit what happens to ``db`` in the block; the list holds the :class:`Audit` after."""
    before_writes, before_sums = writes(db), checksums(db)
    found: list[Audit] = []
    yield found
    after_writes, after_sums = writes(db), checksums(db)
    written = {
        table: n - before_writes.get(table, 0)
        for table, n in after_writes.items()
        if n != before_writes.get(table, 0)
    }
    changed = [t for t in after_sums if after_sums[t] != before_sums.get(t)]
    found.append(Audit(written, changed))


# ----------------------------------------------------------------------------- the walk
@dataclass
class Side:
    """One measured walk."""

    seconds: float
    records: int
    pages: int
    audit: Audit | None = None


def query_body(cursor: str | None, page_size: int, since: str) -> dict[str, Any]:
    """The body the engine's walk sends (``sync.tight.pull.MileagePull._page``)."""
    return {
        "cursor": cursor,
        "limit": page_size,
        "sort": {"orderBy": "DATE", "direction": "ASC"},
        "filter": {"date": {"greaterThanEqual": since}},
    }


def walk_bare(url: str, page_size: int, since: str = SINCE) -> Side:
    """The floor: one httpx.Client POSTing each query, parsing the JSON, following the cursor."""
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    records = pages = 0
    cursor: str | None = None
    with httpx.Client(base_url=url, headers=headers) as client:
        start = time.perf_counter()
        while True:
            response = client.post(QUERY_PATH, json=query_body(cursor, page_size, since))
            if response.status_code != 200:
                raise RuntimeError(f"bare loop got HTTP {response.status_code}")
            page = response.json()
            pages += 1
            records += len(page["data"])
            cursor = (page.get("cursor") or {}).get("after")
            if cursor is None:
                break
        seconds = time.perf_counter() - start
    return Side(seconds, records, pages)


def _run_walk(db: Path, url: str, page_size: int) -> tuple[float, Any]:
    """The engine's mileage pull of ``db`` (timed: the run on a freshly opened store)."""
    from sync.engine import SyncEngine
    from tracker.store import Tracker

    with (
        Tracker.open(db, timezone="UTC") as store,
        SyncEngine(settings_for(url, db.parent, page_size=page_size), store) as engine,
    ):
        start = time.perf_counter()
        report = engine.run(push=False, pull=True)
        seconds = time.perf_counter() - start
    report.raise_for_failure()
    if report.steps != ("mileage",) or report.mileage is None:
        raise RuntimeError(f"expected the mileage step alone, ran {report.steps}")
    return seconds, report.mileage


def walk_engine(db: Path, url: str, page_size: int, n: int) -> Side:
    """The engine's walk of ``db`` (a synced store), audited; raises unless every record was
    read and found unchanged."""
    with audited(db) as found:
        seconds, pulled = _run_walk(db, url, page_size)
    changed = pulled.updated + pulled.created + pulled.adopted + pulled.deleted + pulled.recreated
    if (
        not pulled.complete
        or pulled.records != n
        or pulled.unchanged != n
        or changed
        or pulled.conflicts
        or pulled.unreadable
        or pulled.duplicates
    ):
        raise RuntimeError(f"the walk did not find {n} unchanged records: {pulled.to_dict()}")
    return Side(seconds, pulled.records, pulled.pages, found[0])


# ----------------------------------------------------------------------------- memory
def _memory_child(db: str, url: str, page_size: int) -> dict[str, Any]:
    """Child: one walk; peak RSS during it (whole process) and the baseline before it."""
    from bench.memory import _current_rss_mb, _reset_peak, peak_rss_mb
    from sync.engine import SyncEngine
    from tracker.store import Tracker

    path = Path(db)
    with (
        Tracker.open(path, timezone="UTC") as store,
        SyncEngine(settings_for(url, path.parent, page_size=page_size), store) as engine,
    ):
        baseline, reset = _current_rss_mb(), _reset_peak()
        start = time.perf_counter()
        report = engine.run(push=False, pull=True)
        seconds = time.perf_counter() - start
        peak = peak_rss_mb()
    report.raise_for_failure()
    assert report.mileage is not None
    return {
        "records": report.mileage.records,
        "unchanged": report.mileage.unchanged,
        "baseline_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_reset": reset,
        "seconds": round(seconds, 2),
    }


def measure_memory(db: Path, url: str, page_size: int) -> dict[str, Any]:
    """Run :func:`_memory_child` in a fresh interpreter on ``db``."""
    env = child_env(TRACKER_HOME=str(db.parent))
    return json_child("bench.mileage_walk", "--memory", str(db), url, str(page_size), env=env)


def _walk_row(
    remote: Remote, tmp: Path, template: Path, n: int, page_size: int, repeats: int
) -> dict[str, Any]:
    url = remote.tight_url
    ours: Side | None = None
    bare: Side | None = None
    audits: list[Audit] = []
    for r in range(repeats):
        order = ("ours", "bare") if r % 2 == 0 else ("bare", "ours")
        for side in order:
            if side == "ours":
                db = copy_db(template, tmp / f"walk{r}.db")
                result = walk_engine(db, url, page_size, n)
                assert result.audit is not None
                audits.append(result.audit)
                ours = result if ours is None or result.seconds < ours.seconds else ours
            else:
                result = walk_bare(url, page_size)
                if result.records != n:
                    raise RuntimeError(f"the bare loop read {result.records} of {n} records")
                bare = result if bare is None or result.seconds < bare.seconds else bare
    assert ours is not None
    assert bare is not None
    assert ours.audit is not None
    if ours.pages != bare.pages:
        raise RuntimeError(f"the engine read {ours.pages} pages, the bare loop {bare.pages}")
    memory = measure_memory(copy_db(template, tmp / "memory.db"), url, page_size)
    if memory["records"] != n or memory["unchanged"] != n:
        raise RuntimeError(f"the memory child's walk: {memory}")
    ratio = bare.seconds / ours.seconds
    data_rows = max(a.data_rows for a in audits)
    changed = sorted({t for a in audits for t in a.changed})
    clean = all(a.clean for a in audits)
    met = ratio >= TARGET and memory["peak_rss_mb"] < MEMORY_TARGET_MB and clean
    return {
        "name": (
            f"mileage pull: walk {n} unchanged records at {page_size}/page "
            "(engine vs bare httpx loop, loopback)"
        ),
        "n": n,
        "unit": "records/s",
        "ours": round(n / ours.seconds),
        "baseline": round(n / bare.seconds),
        "ratio": round(ratio, 2),
        "target": f">= {TARGET}x; peak RSS < {MEMORY_TARGET_MB} MB; no row written but checkpoints",
        "met": met,
        "note": (
            f"{ours.seconds:.2f} s vs {bare.seconds:.2f} s for {ours.pages} pages; peak RSS "
            f"{memory['peak_rss_mb']} MB; {data_rows} data rows written, "
            f"{ours.audit.written.get('pull_state', 0)} checkpoint writes"
        ),
        "ours_seconds": round(ours.seconds, 3),
        "baseline_seconds": round(bare.seconds, 3),
        "ours_ms_per_page": round(ours.seconds / ours.pages * 1000, 1),
        "baseline_ms_per_page": round(bare.seconds / bare.pages * 1000, 1),
        "engine_extra_ms_per_page": round((ours.seconds - bare.seconds) / ours.pages * 1000, 1),
        "pages": ours.pages,
        "page_size": page_size,
        "data_rows_written": data_rows,
        "data_tables_changed": changed,
        "writes_by_table": ours.audit.written,
        "walks_audited": len(audits),
        "peak_rss_mb": memory["peak_rss_mb"],
        "rss_baseline_mb": memory["baseline_mb"],
        "rss_growth_mb": round(memory["peak_rss_mb"] - memory["baseline_mb"], 1),
        "peak_from_baseline": memory["peak_reset"],
        "memory_walk_seconds": memory["seconds"],
    }


# ----------------------------------------------------------------------------- the window
@dataclass
class Exchange:
    """One request through :class:`Timeline`: when it was handed over, when its answer's
    last byte was read, and both bodies (parsed afterwards, outside the timed path)."""

    method: str
    path: str
    sent: float
    request: bytes
    received: float | None = None
    chunks: list[bytes] = field(default_factory=list)

    def response(self) -> Any:
        """The answer's JSON."""
        return json.loads(b"".join(self.chunks))


class _Tapped(httpx.SyncByteStream):
    """A response stream that keeps its chunks and stamps the end of the body."""

    def __init__(self, inner: httpx.SyncByteStream, exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._exchange.chunks.append(chunk)
            yield chunk
        self._exchange.received = time.perf_counter()

    def close(self) -> None:
        if self._exchange.received is None:
            self._exchange.received = time.perf_counter()
        self._inner.close()


class Timeline(httpx.BaseTransport):
    """An HTTP transport that time-stamps every exchange (see the module docstring)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.perf_counter()
        exchange = Exchange(request.method, request.url.path, sent, request.content)
        response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _Tapped(response.stream, exchange)
        with self._lock:  # the push sends from its own thread
            self.exchanges.append(exchange)
        return response

    def close(self) -> None:
        self._inner.close()


def _read_ids(exchange: Exchange) -> set[str]:
    """The ids of the records a read (a query page, or one record) answered with."""
    body = exchange.response()
    if exchange.path == QUERY_PATH:
        records = body.get("data") or []
    else:
        records = [body["data"]] if isinstance(body, dict) and body.get("data") else []
    return {record["id"] for record in records if isinstance(record, dict) and "id" in record}


@dataclass(frozen=True)
class Window:
    """One update's window, and what happened in it."""

    seconds: float
    to_answer: float
    """From the same read to the end of the save's answer (the server applied it inside)."""
    reads_after: int
    """Reads that ended inside the window (the rest of the refresh walk)."""
    saves_before: int
    """Saves sent before the one carrying this update (batches ahead of it)."""


def windows(exchanges: list[Exchange]) -> tuple[list[Window], int, int]:
    """Per update saved: from the end of the last read that carried its record to the start
    of the save that carried it. Also the number of reads and of saves."""
    reads: list[tuple[float, set[str]]] = []
    saves: list[Exchange] = []
    for exchange in exchanges:
        if exchange.method == "POST" and exchange.path == SAVE_PATH:
            saves.append(exchange)
        elif exchange.received is not None and (
            (exchange.method == "POST" and exchange.path == QUERY_PATH)
            or (exchange.method == "GET" and exchange.path.startswith(SAVE_PATH + "/"))
        ):
            reads.append((exchange.received, _read_ids(exchange)))
    saves.sort(key=lambda e: e.sent)
    out: list[Window] = []
    for before, save in enumerate(saves):
        for item in json.loads(save.request)["data"]:
            ident = item.get("id")
            if ident is None:
                continue  # a create: nothing on the server to read first
            seen = [at for at, ids in reads if ident in ids and at <= save.sent]
            if not seen:
                raise RuntimeError(f"the update of {ident} was saved without a read of it")
            read_at = max(seen)
            after = sum(1 for at, _ in reads if read_at < at <= save.sent)
            answered = save.received if save.received is not None else save.sent
            out.append(Window(save.sent - read_at, answered - read_at, after, before))
    return out, len(reads), len(saves)


def _recent(db: Path, k: int) -> list[str]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT id FROM trip ORDER BY date DESC, start_time DESC, id LIMIT ?", (k,)
        )
        return [trip_id for (trip_id,) in rows]
    finally:
        con.close()


@dataclass
class WindowRun:
    """One push run of ``k`` edited trips: the windows, and the requests it made."""

    windows: list[Window]
    reads: int
    saves: int
    read_rtts: list[float]


def push_edits(db: Path, url: str, k: int, batch: int, label: str) -> WindowRun:
    """Edit the ``k`` most recent trips here, push (two-way: reads first), time it all."""
    from sync.engine import SyncEngine
    from tracker.store import Tracker

    trip_ids = _recent(db, k)
    timeline = Timeline()
    with Tracker.open(db, timezone="UTC") as store:
        for trip_id in trip_ids:
            store.trips.edit(trip_id, {"notes": f"edited here ({label})"})
        settings = settings_for(url, db.parent, batch=batch)
        with SyncEngine(settings, store, transport=timeline) as engine:
            report = engine.run(push=True, pull=False)
        report.raise_for_failure()
        left = store.journal.counts().pending
    pushed = report.push
    if pushed is None or pushed.synced != k or left or pushed.parked or pushed.updates_held:
        raise RuntimeError(f"the push of {k} edits did not go through: {report.to_dict()}")
    spans, reads, saves = windows(timeline.exchanges)
    if len(spans) != k:
        raise RuntimeError(f"{len(spans)} windows for {k} updates")
    rtts = [
        e.received - e.sent
        for e in timeline.exchanges
        if e.path == QUERY_PATH and e.received is not None
    ]
    return WindowRun(spans, reads, saves, rtts)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass(frozen=True)
class WindowCase:
    """A window scenario: in a store of ``store`` synced trips, the ``updates`` most recent
    are edited and pushed at ``batch``, ``rounds`` times."""

    store: int
    updates: int
    batch: int
    rounds: int


def window_row(db: Path, url: str, case: WindowCase, label: str) -> dict[str, Any]:
    """``case.rounds`` pushes of ``case.updates`` edits on ``db`` (``case.store`` trips)."""
    trips, k, batch, rounds = case.store, case.updates, case.batch, case.rounds
    found: list[Window] = []
    rtts: list[float] = []
    reads = saves = 0
    for round_ in range(rounds):
        done = push_edits(db, url, k, batch, f"{label}, round {round_}")
        found += done.windows
        rtts += done.read_rtts
        reads += done.reads
        saves += done.saves
    spans = [w.seconds for w in found]
    answers = [w.to_answer for w in found]
    median_ms = statistics.median(spans) * 1000
    p95_ms = _percentile(spans, 0.95) * 1000
    rtt_ms = statistics.median(rtts) * 1000
    batches = -(-k // batch)
    return {
        "name": (
            f"read->save window: push of {k} edited trip(s) at batch {batch}, {trips} synced "
            "(median; baseline: one query page's round trip)"
        ),
        "n": len(spans),
        "unit": "ms",
        "ours": round(median_ms, 1),
        "baseline": round(rtt_ms, 1),
        "ratio": round(median_ms / rtt_ms, 2) if rtt_ms else 0.0,
        "target": "none set by the issue (reported only)",
        "met": None,
        "note": (
            f"median {median_ms:.1f} ms, p95 {p95_ms:.1f} ms over {len(spans)} updates; "
            f"{reads / rounds:g} reads and {saves / rounds:g} saves per push"
        ),
        "median_ms": round(median_ms, 1),
        "p95_ms": round(p95_ms, 1),
        "max_ms": round(max(spans) * 1000, 1),
        "min_ms": round(min(spans) * 1000, 1),
        "to_answer_median_ms": round(statistics.median(answers) * 1000, 1),
        "to_answer_p95_ms": round(_percentile(answers, 0.95) * 1000, 1),
        "store_trips": trips,
        "updates": k,
        "batch": batch,
        "batches_per_push": batches,
        "pushes": rounds,
        "reads_per_push": reads / rounds,
        "saves_per_push": saves / rounds,
        "reads_in_window_median": statistics.median(w.reads_after for w in found),
        "reads_in_window_max": max(w.reads_after for w in found),
        "saves_before_max": max(w.saves_before for w in found),
        "query_rtt_median_ms": round(rtt_ms, 1),
    }


# ----------------------------------------------------------------------------- the rows
WINDOWS = {
    # A dense store (the walk's: ~360 trips a day) and a sparse one (~11 a day): the refresh
    # reads every record dated within a day of the trips it is about to update.
    "full": (
        WindowCase(10_000, 1, 100, 20),
        WindowCase(10_000, 100, 100, 3),
        WindowCase(10_000, 1000, 100, 1),
        WindowCase(300, 1, 100, 20),
        WindowCase(300, 100, 100, 3),
    ),
    "quick": (WindowCase(300, 1, 100, 3), WindowCase(300, 20, 100, 1)),
}


def run(
    n: int = 10_000,
    page_size: int = PAGE_SIZE,
    repeats: int = 3,
    windows: str = "full",
) -> list[dict[str, Any]]:
    """The walk row, then one window row per case of ``WINDOWS[windows]``. Cases on a store
    of ``n`` trips reuse the walk's store and sandbox; each other store size gets a fresh
    sandbox (its records would otherwise fall into the refresh's dates)."""
    cases = WINDOWS[windows]
    rows = []
    with (
        sandbox_process() as remote,
        tempfile.TemporaryDirectory(prefix="bench-walk-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        template = tmp / "synced.db"
        make_synced_db(template, n, remote)
        rows.append(_walk_row(remote, tmp, template, n, page_size, repeats))
        sizes = [n, *sorted({c.store for c in cases} - {n})]
        for size in sizes:
            group = [c for c in cases if c.store == size]
            if not group:
                continue
            if size == n:
                db = copy_db(template, tmp / f"window{size}.db")
            else:
                remote.reset()
                db = tmp / f"window{size}.db"
                make_synced_db(db, size, remote)
            # One store per size, its cases in order: each push leaves it and the sandbox in
            # step for the next.
            for number, case in enumerate(group):
                rows.append(window_row(db, remote.tight_url, case, f"case {number}"))
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.mileage_walk")
    parser.add_argument("--memory", nargs=3, metavar=("DB", "URL", "PAGE_SIZE"))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--windows", choices=sorted(WINDOWS), default="full")
    args = parser.parse_args(argv)
    if args.memory:
        db, url, page_size = args.memory
        print(json.dumps(_memory_child(db, url, int(page_size))))
    else:
        for row in run(n=args.n, repeats=args.repeats, windows=args.windows):
            print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])

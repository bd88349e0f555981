"""Harness of the two-way campaigns (A8, F5): a sandbox that keeps one ordered history of
everything that touched each mileage record, "another client" editing and deleting records
meanwhile, run tags that tell which sync run sent each request, and the oracles.

**Run tags.** Every request a campaign's client sends names its sync run: a forked child or
daemon sets an ``X-Campaign-Run`` header through :class:`RunTagTransport` (a new tag at each
``SyncStarted``), a ``tracker sync`` process gets a base URL ending in ``/r/<tag>``.
:class:`RunTags` (the outermost ASGI layer) strips the prefix and hands the tag to the
sandbox through a context variable, so each read and save in the history carries its run.

**The windows.** Tight has no conditional write: an edit made on Tight between the moment a
run read a record and the moment that run's save of the record was answered is overwritten
(docs/sync-guarantees.md, "Push after pull"). Only the other client writes the fields it
edits (notes, mileageStatus; this side sets them only when adding a trip), so the value a
save sends is the one its run merged from a read: the oracle counts an overwritten edit apart
only when the saving run had read the record, *with the value it sent*, before the edit. Any
other overwrite is a lost server edit: the run knew the edit, or sent a copy it never read
(an update merged with a stale copy). Tight keeps no trace of deleted records either: a
create whose answer was lost and whose record another client deleted before this device
learned its id is proven absent and created again (counted apart too). The device learned
the id when the file names it (an answer or an adoption recorded it) or when a run that
lived to store what it read had read the record; a run killed between a read and the commit
of what it read (``killed_runs``) learned nothing, and the file shows it: no trace of the id.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import json
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from sync.engine import SyncEngine
from sync.events import SyncEvent, SyncStarted
from sync.report import SyncReport
from sync.sandbox import Sandbox
from sync.sandbox.mileagebook import MileageBook, Reply
from tests.reliability.figures import Row, ratio
from tracker.store import Tracker

KEY = "trackerLocalId"
RUN_HEADER = "x-campaign-run"
STATUS_OF = {"business": "BUSINESS", "personal": "NOT_BUSINESS", "unclassified": "PENDING"}
"""Local classification -> mileageStatus (the default mapping)."""
OTHER_FIELDS = ("notes", "mileageStatus")
"""What the other client edits. The campaign's own side edits ``description`` only: each
field has one writer, so every overwrite is attributable (a field edited on both sides is a
conflict by design, covered by the merge's unit rules)."""

_run: contextvars.ContextVar[str] = contextvars.ContextVar("campaign_run", default="?")


# ------------------------------------------------------------------------- run tags
class RunTags:
    """ASGI layer: the run tag of a request (URL prefix ``/r/<tag>`` or the header)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tag = "?"
        path: str = scope["path"]
        if path.startswith("/r/"):
            tag, _, tail = path[3:].partition("/")
            path = "/" + tail
            scope = {**scope, "path": path, "raw_path": path.encode()}
        else:
            for name, value in scope.get("headers", []):
                if name == RUN_HEADER.encode():
                    tag = value.decode("latin-1")
        token = _run.set(tag)
        try:
            await self.app(scope, receive, send)
        finally:
            _run.reset(token)


class RunTagTransport(httpx.HTTPTransport):
    """Sends the current run tag with every request (children and the daemon child)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.runs = 0
        self.tag = f"{prefix}.0"

    def listener(
        self, also: Callable[[SyncEvent], None] | None = None
    ) -> Callable[[SyncEvent], None]:
        """An engine listener that starts a new tag at each run (then calls ``also``)."""

        def hear(event: SyncEvent) -> None:
            if isinstance(event, SyncStarted):
                self.runs += 1
                self.tag = f"{self.prefix}.{self.runs}"
            if also is not None:
                also(event)

        return hear

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[RUN_HEADER] = self.tag
        return super().handle_request(request)


# ------------------------------------------------------------------------- the sandbox
@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to a record, in the sandbox's order (``seq``).

    ``kind``: ``read`` (a query page or GET returned it), ``created`` / ``updated`` (a save
    of ours stored it), ``refused`` (a save of ours was refused), ``deleted`` (our DELETE),
    ``other-edit`` / ``other-delete`` / ``other-create`` (the other client)."""

    seq: int
    kind: str
    record_id: str
    run: str
    fields: dict[str, Any]
    local_id: str | None


class WatchedSandbox(Sandbox):
    """The sandbox, logging every read, save and edit of a mileage record (one history)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.history: list[Event] = []

    def _log(self, kind: str, record: dict[str, Any], record_id: str) -> None:
        custom = record.get("customData")
        local = custom.get(KEY) if isinstance(custom, dict) else None
        fields = {k: record[k] for k in ("description", *OTHER_FIELDS) if k in record}
        self.history.append(Event(len(self.history), kind, record_id, _run.get(), fields, local))

    def query(self, body: Any, *, viewer: str | None = None) -> Reply:
        with self._lock:
            status, payload = super().query(body, viewer=viewer)
            if status == 200:
                for record in payload.get("data") or []:
                    self._log("read", record, record["id"])
            return status, payload

    def record(self, record_id: str, *, viewer: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            found = super().record(record_id, viewer=viewer)
            if found is not None:
                self._log("read", found, record_id)
            return found

    def save_batch(self, body: Any, *, request: int = 0, viewer: str | None = None) -> Reply:
        with self._lock:
            before = len(self._deliveries)
            reply = super().save_batch(body, request=request, viewer=viewer)
            for d in self._deliveries[before:]:
                if not isinstance(d.item, dict):
                    continue
                kind = d.outcome if d.stored else "refused"
                self._log(kind, d.item, d.record_id or str(d.item.get("id")))
            return reply

    def delete(self, record_id: str, *, viewer: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            gone = super().delete(record_id, viewer=viewer)
            if gone is not None:
                self._log("deleted", gone, record_id)
            return gone

    # the other client
    def other_edit(self, record_id: str, changes: dict[str, Any]) -> bool:
        with self._lock:
            try:
                stored = self.edit_record(record_id, changes)
            except KeyError:
                return False
            self._log("other-edit", {**changes, "customData": stored.get("customData")}, record_id)
            return True

    def other_delete(self, record_id: str) -> bool:
        with self._lock:
            gone = MileageBook.delete(self, record_id)
            if gone is not None:
                self._log("other-delete", gone, record_id)
            return gone is not None

    def other_create(self, item: dict[str, Any]) -> str:
        with self._lock:
            record_id = self.add_record(item)
            self._log("other-create", self._records[record_id], record_id)
            return record_id

    def record_ids(self) -> list[str]:
        """Stored record ids, oldest first."""
        with self._lock:
            return list(self._records)

    def snapshot(self) -> tuple[list[Event], dict[str, dict[str, Any]]]:
        """The history and the stored records, at one instant."""
        with self._lock:
            return list(self.history), copy.deepcopy(self._records)


def dump_history(path: Path, history: list[Event], records: dict[str, Any]) -> None:
    """The history and the final records as JSON, to replay a failing oracle by hand."""
    doc = {"history": [dataclasses.asdict(e) for e in history], "records": records}
    path.write_text(json.dumps(doc, default=str))


# ------------------------------------------------------------------------- another client
@dataclass
class OtherClient:
    """Tight's own app, played against the sandbox from a thread: every ``period`` seconds
    it edits a record (notes and mileageStatus), deletes one, or makes a new one. Half the
    picks are among the ``recent`` newest records (a trip is classified soon after it
    appears), which also reaches creates whose answer the client has not recorded yet."""

    sandbox: WatchedSandbox
    seed: int
    period: float = 0.02
    recent: int = 8
    edit: float = 0.85
    delete: float = 0.08
    cap: int = 400
    """Above this many records it deletes instead of making one (walks stay bounded)."""
    stop: threading.Event = field(default_factory=threading.Event)
    counts: Counter[str] = field(default_factory=Counter)
    error: BaseException | None = None
    _thread: threading.Thread | None = None

    def start(self) -> OtherClient:
        self._thread = threading.Thread(target=self._loop, name="other-client", daemon=True)
        self._thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        rng = random.Random(self.seed)
        try:
            # Paced load, not a wait for something: the period is the edit rate.
            while not self.stop.wait(self.period):
                self.step(rng)
        except BaseException as err:  # reported by the test
            self.error = err

    def step(self, rng: random.Random) -> None:
        ids = self.sandbox.record_ids()
        roll = rng.random()
        if roll >= self.edit + self.delete and len(ids) >= self.cap:
            roll = self.edit  # a delete instead
        if roll >= self.edit + self.delete or not ids:
            day = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            self.sandbox.other_create(
                {
                    "date": day,
                    "status": "ACTIVE",
                    "mileageStatus": rng.choice(list(STATUS_OF.values())),
                    "description": f"made in Tight's app {self.counts['create']}",
                    "distance": {"type": "KILOMETER", "value": f"{rng.randrange(1, 300)}.5"},
                    "customData": {"madeBy": "tight-app"},
                }
            )
            self.counts["create"] += 1
            return
        pool = ids[-self.recent :] if rng.random() < 0.5 else ids
        record_id = rng.choice(pool)
        if roll < self.edit:
            self.counts["edit_tries"] += 1
            changes = {
                "notes": f"R{self.counts['edit']:07d}",
                "mileageStatus": rng.choice(list(STATUS_OF.values())),
            }
            if self.sandbox.other_edit(record_id, changes):
                self.counts["edit"] += 1
        elif self.sandbox.other_delete(record_id):
            self.counts["delete"] += 1


# ------------------------------------------------------------------------- the file
@dataclass(frozen=True)
class LocalRow:
    """A trip as stored, read with plain sqlite3."""

    id: str
    remote_id: str | None
    lifecycle: str
    deleted_by: str | None
    origin: str | None
    description: str | None
    notes: str | None
    classification: str


@dataclass(frozen=True)
class LocalState:
    trips: dict[str, LocalRow]
    conflicts: dict[str, tuple[str, list[str]]]
    """Trip id -> (kind, field names)."""
    open_parked: int
    """Parked entries of trips not held in a conflict."""
    told: dict[str, str]
    """Trip id -> the details of its history events (the Tight ids it was told about)."""


def read_local(path: Path) -> LocalState:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        trips = {
            r[0]: LocalRow(*r)
            for r in con.execute(
                "SELECT id, remote_id, lifecycle, deleted_by, origin, description, notes, "
                "classification FROM trip"
            )
        }
        conflicts = {
            trip_id: (kind, [f["name"] for f in json.loads(fields)])
            for trip_id, kind, fields in con.execute("SELECT trip_id, kind, fields FROM conflict")
        }
        told: dict[str, str] = {}
        for trip_id, detail in con.execute(
            "SELECT trip_id, detail FROM journal_event WHERE detail IS NOT NULL"
        ):
            told[trip_id] = told.get(trip_id, "") + " | " + detail
        parked = con.execute(
            "SELECT count(*) FROM journal AS j WHERE j.state = 'parked' AND NOT EXISTS "
            "(SELECT 1 FROM conflict AS c WHERE c.trip_id = j.trip_id)"
        ).fetchone()[0]
    finally:
        con.close()
    return LocalState(trips, conflicts, int(parked), told)


# ------------------------------------------------------------------------- healing
@dataclass
class Healed:
    runs: int = 0
    done: bool = False
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def heal(store: Tracker, engine: SyncEngine, timeout: float = 90.0) -> Healed:
    """Sync (pull and push, retries due now) until a fresh walk completed and nothing is due,
    in flight or parked outside a conflict. Faults and the other client are off by then."""
    healed = Healed()
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        report: SyncReport = engine.run(push=True, pull=True, retry_waiting=True)
        healed.runs += 1
        for step, err in report.failures.items():
            healed.failures.append(f"run {healed.runs} {step}: {err}")
        mileage = report.mileage
        walked = mileage is not None and mileage.complete and not mileage.resumed
        counts = store.journal.counts()
        idle = store.outbox.due_count(retry_waiting=True) == 0 and counts.in_flight == 0
        if walked and idle and not report.failures and read_local(store.path).open_parked == 0:
            healed.done = True
            break
        if report.failures:
            time.sleep(0.05)  # another process's lease, a retry time: try again shortly
    healed.seconds = time.monotonic() - started
    return healed


# ------------------------------------------------------------------------- the oracles
@dataclass(frozen=True)
class LocalAck:
    """A local write whose commit had returned: ``add`` or ``desc`` (description set)."""

    trip_id: str
    what: str
    value: str = ""


@dataclass
class Verdicts:
    """What the oracles found (lists of reasons; the counts are their lengths)."""

    local_writes: int = 0
    lost_local: list[str] = field(default_factory=list)
    local_held: int = 0
    server_edits: int = 0
    lost_server: list[str] = field(default_factory=list)
    in_window: list[str] = field(default_factory=list)
    lost_edits: int = 0
    """Edits with a field lost (``lost_server`` lists the fields)."""
    window_edits: int = 0
    """Edits with a field overwritten inside the window (and none lost)."""
    server_held: int = 0
    server_deletes: int = 0
    deletes_applied: int = 0
    deletes_held: int = 0
    deletes_lost: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    recreated_unknown: list[str] = field(default_factory=list)
    """Re-created because the create's answer was lost and the record was deleted on Tight
    before this device learned its id (the file never named it, and no run read it but runs
    killed before storing what they read): the client cannot tell that from a create that
    never arrived."""
    duplicates: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    pulled_creates: int = 0
    conflicts: Counter[str] = field(default_factory=Counter)

    def raw(self) -> dict[str, Any]:
        return {
            "local_writes": self.local_writes,
            "lost_local_writes": len(self.lost_local),
            "local_writes_held_in_conflicts": self.local_held,
            "server_edits": self.server_edits,
            "lost_server_edits": self.lost_edits,
            "server_edits_overwritten_in_window": self.window_edits,
            "server_edits_held_in_conflicts": self.server_held,
            "server_deletes": self.server_deletes,
            "server_deletes_applied": self.deletes_applied,
            "server_deletes_held_in_conflicts": self.deletes_held,
            "server_deletes_lost": len(self.deletes_lost),
            "recreated_after_server_delete": len(self.recreated),
            "recreated_in_unknown_outcome_window": len(self.recreated_unknown),
            "duplicates": len(self.duplicates),
            "local_ne_server": len(self.diverged),
            "records_made_elsewhere_pulled": self.pulled_creates,
            "conflicts": dict(self.conflicts),
        }

    def examples(self, n: int = 5) -> dict[str, list[str]]:
        """The first ``n`` of each kind of case, for the scorecard's raw figures."""
        return {
            "lost_local": self.lost_local[:n],
            "lost_server": self.lost_server[:n],
            "in_window": self.in_window[:n],
            "deletes_lost": self.deletes_lost[:n],
            "recreated": self.recreated[:n],
            "recreated_unknown": self.recreated_unknown[:n],
            "duplicates": self.duplicates[:n],
            "diverged": self.diverged[:n],
        }


def _wire(row: LocalRow, name: str) -> Any:
    if name == "mileageStatus":
        return STATUS_OF.get(row.classification)
    return getattr(row, name)


def killed_runs(outs: Iterable[Path]) -> set[str]:
    """The run tags of the forked children's runs killed before they ended (``SYNC``
    printed, not yet ``SYNCED``): what such a run read may never have been stored. Child
    ``cN`` writes ``cN.out`` and tags its k-th run ``cN.k`` (:class:`RunTagTransport`)."""
    killed: set[str] = set()
    for path in outs:
        lines = path.read_text().splitlines() if path.exists() else []
        started = sum(1 for x in lines if x == "SYNC")
        if started > sum(1 for x in lines if x.startswith("SYNCED")):
            killed.add(f"{path.stem}.{started}")
    return killed


def check(
    acks: list[LocalAck],
    local: LocalState,
    history: list[Event],
    records: dict[str, Any],
    killed: Collection[str] = (),
) -> Verdicts:
    """Every oracle of the two-way campaigns (see the module docstring and the tests).
    ``killed``: runs killed before they ended (:func:`killed_runs`)."""
    v = Verdicts(conflicts=Counter(kind for kind, _ in local.conflicts.values()))
    trips, held = local.trips, local.conflicts
    by_remote: dict[str, list[str]] = {}
    for trip in trips.values():
        if trip.remote_id is not None:
            by_remote.setdefault(trip.remote_id, []).append(trip.id)
    gone_ids: dict[str, str] = {}
    unknown: Counter[str] = Counter()
    stored_desc: dict[str, set[str]] = {}
    creates: Counter[str] = Counter()
    for e in history:
        if e.kind in ("created", "updated") and e.local_id is not None:
            stored_desc.setdefault(e.local_id, set()).add(str(e.fields.get("description")))
            if e.kind == "created":
                creates[e.local_id] += 1

    # Local writes: in the file, and on the server or held in a conflict.
    latest: dict[str, str] = {}
    for a in acks:
        v.local_writes += 1
        if a.trip_id not in trips:
            v.lost_local.append(f"{a.trip_id} {a.what}: not in the file")
            continue
        if a.what == "add" and not creates[a.trip_id]:
            v.lost_local.append(f"{a.trip_id} add: never stored at the server")
        if a.what == "desc":
            latest[a.trip_id] = max(latest.get(a.trip_id, ""), a.value)
    for trip_id, value in latest.items():
        row = trips[trip_id]
        if (row.description or "") < value:
            v.lost_local.append(f"{trip_id} desc {value}: the file has {row.description}")
        elif trip_id in held:
            v.local_held += 1
        elif row.lifecycle == "active":
            record = records.get(row.remote_id or "")
            if record is None or record.get("description") != row.description:
                v.lost_local.append(f"{trip_id} desc {value}: not on the server")
        elif not any(d >= value for d in stored_desc.get(trip_id, ())):
            # Deleted on the server: the edit must have reached it before that.
            v.lost_local.append(f"{trip_id} desc {value}: deleted on the server, never sent")

    # Server edits, deletes and re-creations, record by record, in the sandbox's order.
    # Each edit's fields end as: superseded (a later edit of the field), carried (a save of
    # ours sent its value: the client had merged it), window / lost (a save of ours sent
    # another value), deleted (the record was deleted later), or standing (checked below).
    fate: dict[tuple[int, str], str] = {}
    pending: dict[str, dict[str, tuple[int, Any]]] = {}
    reads: dict[str, list[Event]] = {}
    deleted_at: dict[str, str | None] = {}
    for e in history:
        rid = e.record_id
        if e.kind == "read":
            reads.setdefault(rid, []).append(e)
        elif e.kind == "other-edit":
            v.server_edits += 1
            for name in OTHER_FIELDS:
                if name in e.fields:
                    earlier = pending.setdefault(rid, {}).get(name)
                    if earlier is not None:
                        fate[(earlier[0], name)] = "superseded"
                    pending[rid][name] = (e.seq, e.fields[name])
                    fate[(e.seq, name)] = "standing"
        elif e.kind in ("created", "updated"):
            if e.kind == "created" and e.local_id is not None and e.local_id in gone_ids:
                old = gone_ids[e.local_id]
                said = f"{e.local_id}: created again as {rid} after {old} was deleted on Tight"
                readers = sorted({r.run for r in reads.get(old, [])})
                learned = old in local.told.get(e.local_id, "")
                if not learned and all(run in killed for run in readers):
                    unknown[e.local_id] += 1
                    lost = f" (read only by runs killed before storing it: {readers})"
                    v.recreated_unknown.append(said + (lost if readers else ""))
                else:
                    v.recreated.append(said)
            for name, (edit, value) in list(pending.get(rid, {}).items()):
                if name not in e.fields:
                    continue  # not sent: the server keeps its value
                del pending[rid][name]
                if e.fields[name] == value:
                    fate[(edit, name)] = "carried"
                    continue
                # Only the other client writes this field, so the value sent is the one the
                # saving run merged from a read: the window when that read preceded the edit.
                sent = e.fields[name]
                runs = [r for r in reads.get(rid, []) if r.run == e.run]
                read = next(
                    (r.seq for r in runs if r.seq < edit and r.fields.get(name) == sent), None
                )
                said = f"{rid} {name}={value} (edit {edit}, save {e.seq} of {sent!r} by {e.run}"
                if read is not None:
                    fate[(edit, name)] = "window"
                    v.in_window.append(f"{said}, read {read})")
                else:
                    fate[(edit, name)] = "lost"
                    seen = [r.seq for r in runs]
                    v.lost_server.append(f"{said}): overwritten; that run's reads: {seen}")
        elif e.kind == "other-delete":
            v.server_deletes += 1
            for name, (edit, _value) in pending.pop(rid, {}).items():
                fate[(edit, name)] = "deleted"
            owner = e.local_id or next(iter(by_remote.get(rid, [])), None)
            deleted_at[rid] = owner
            if owner is not None:
                gone_ids[owner] = rid

    # Edits still standing on the server: on the local trip, or held in a conflict.
    for rid, names in pending.items():
        owners = by_remote.get(rid, [])
        owner_row = trips.get(owners[0]) if owners else None
        for name, (edit, value) in names.items():
            if owner_row is not None and owner_row.id in held:
                fate[(edit, name)] = "held"
            elif owner_row is None or _wire(owner_row, name) != value:
                fate[(edit, name)] = "lost"
                got = None if owner_row is None else _wire(owner_row, name)
                v.lost_server.append(f"{rid} {name}={value} (edit {edit}): the trip has {got}")
    lost = {edit for (edit, _), f in fate.items() if f == "lost"}
    v.lost_edits = len(lost)
    v.window_edits = len({edit for (edit, _), f in fate.items() if f == "window"} - lost)
    v.server_held = len({edit for (edit, _), f in fate.items() if f == "held"})

    # Deleted on the server: deleted here too, or held ("deleted there, edited here").
    for rid, local_id in deleted_at.items():
        gone = trips.get(local_id or "")
        if gone is None or unknown[gone.id]:
            continue  # made elsewhere and deleted before any pull saw it; or counted above
        if gone.id in held:
            v.deletes_held += 1
        elif gone.lifecycle == "deleted" and gone.deleted_by == "server":
            v.deletes_applied += 1
        else:
            v.deletes_lost.append(
                f"{gone.id} ({rid}): {gone.lifecycle}, remote id {gone.remote_id}"
            )

    # Duplicates: a local id created twice, stored twice, a record with two trips, a trip
    # made elsewhere pushed back as a create.
    v.duplicates += [f"{t}: created {n} times" for t, n in creates.items() if n - unknown[t] > 1]
    stored = Counter(
        r["customData"].get(KEY) for r in records.values() if isinstance(r.get("customData"), dict)
    )
    v.duplicates += [f"{t}: stored as {n} records" for t, n in stored.items() if t and n > 1]
    v.duplicates += [
        f"{rid}: {len(ids)} local trips" for rid, ids in by_remote.items() if len(ids) > 1
    ]
    v.duplicates += [
        f"{t}: made elsewhere, pushed back"
        for t in creates
        if trips.get(t) and trips[t].origin == "server"
    ]

    # Local = server after heal (trips held in a conflict excepted).
    v.pulled_creates = sum(1 for r in trips.values() if r.origin == "server")
    for row in trips.values():
        if row.id in held:
            continue
        record = records.get(row.remote_id or "")
        if row.lifecycle != "active":
            if record is not None:
                v.diverged.append(f"{row.id}: deleted here, still on the server")
            continue
        if record is None:
            v.diverged.append(f"{row.id}: active here, not on the server")
            continue
        for name in ("description", *OTHER_FIELDS):
            if (record.get(name) or None) != (_wire(row, name) or None):
                v.diverged.append(f"{row.id}: {name} {_wire(row, name)!r} != {record.get(name)!r}")
    for rid in records:
        if rid not in by_remote:
            v.diverged.append(f"{rid}: on the server, no local trip")
    return v


def rows(v: Verdicts, campaign: str) -> list[Row]:
    """The scorecard rows of a two-way campaign (the same figures for A8 and F5)."""
    held = ", ".join(f"{n} {k}" for k, n in sorted(v.conflicts.items())) or "none"
    return [
        Row(
            f"{campaign} two-way: lost local edits (acked; neither on the server nor held)",
            f"{ratio(len(v.lost_local), v.local_writes, 'acked local writes')} "
            f"({v.local_held} trips held in a conflict)",
            "0",
            not v.lost_local,
        ),
        Row(
            f"{campaign} two-way: lost server edits (outside the read->save window)",
            f"{ratio(v.lost_edits, v.server_edits, 'edits by another client')} "
            f"({v.server_held} held in a conflict)",
            "0",
            not v.lost_server,
        ),
        Row(
            f"{campaign} two-way: server edits overwritten inside the read->save window",
            f"{ratio(v.window_edits, v.server_edits, 'edits')} (each checked: the saving run "
            "had read the record, with the value it sent, before the edit)",
            "counted (documented)",
            True,
        ),
        Row(
            f"{campaign} two-way: server deletes not applied; trips re-created",
            f"{len(v.deletes_lost)} / {v.server_deletes:,} deletes; {len(v.recreated)} "
            f"re-created ({v.deletes_applied} deleted here, {v.deletes_held} held: edited here)",
            "0; 0",
            not v.deletes_lost and not v.recreated,
        ),
        Row(
            f"{campaign} two-way: re-created inside the unknown-outcome window",
            f"{len(v.recreated_unknown)} (create answer lost, record deleted on Tight before "
            "this device learned its id: reconciliation proves it absent)",
            "counted (documented)",
            True,
        ),
        Row(
            f"{campaign} two-way: duplicates (a local id created or stored twice, a record "
            "with two trips, a pulled trip pushed back)",
            f"{len(v.duplicates)} ({v.pulled_creates:,} records made elsewhere pulled)",
            "0",
            not v.duplicates,
        ),
        Row(
            f"{campaign} two-way: local != server after heal (conflicts excepted)",
            f"{len(v.diverged)} (conflicts held: {held})",
            "0",
            not v.diverged,
        ),
    ]

"""Pulled costs in the local store: pages with their checkpoint, quarantine, links to trips.

The remote side (``sync.pull``) validates what it reads into :class:`CostIn` and
:class:`QuarantineIn` values; this module stores them. Each function is one ``BEGIN
IMMEDIATE`` transaction on the :class:`~tracker.store.Tracker`. Rules (the README's "Costs"
section says the same):

- **Upsert by the platform's ID.** An item whose ``LastUpdated`` is older than the stored one
  never overwrites it; on a tie the copy read last wins (``LastUpdated`` has one-second
  resolution, so a same-second edit must not be lost).
- **Page and checkpoint together.** :func:`store_page` writes a page's costs, its quarantined
  items and the pager checkpoint in one transaction: a pull killed anywhere resumes exactly
  after the last stored page, and a failed page never advances the checkpoint.
- **Quarantine.** An item that did not validate is kept with its raw JSON and the reason
  (keyed by its ID when it has one). Every pull reads every item again, so quarantined items
  are retried each pull; one that validates is stored and its quarantine entry removed.
- **Not seen.** Each cost records the run id of the last pull that read it. Only when a walk
  *completes* (:func:`finish_pull` with ``complete=True``) are costs from other runs marked
  not seen (never deleted), and quarantine entries not read again are dropped. A guarded stop
  (repeated page, page cap) or a failure marks nothing.
- **Links.** A cost links to the local trip whose id is its ``TripGuid`` (compared as UUIDs,
  so case and braces do not matter); else to the one active, finished trip whose
  ``[start, end]`` overlaps the cost's ``[start, end]`` widened by a tolerance; several
  overlapping trips leave it unlinked as ``ambiguous`` (reported), none as ``none``. Links
  are recomputed whenever a pull reads the cost again, so trips recorded later are picked up.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection, String, Table, bindparam, delete, func, text, type_coerce, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

from tracker.coltypes import utc_text
from tracker.costviews import CostCounts, CostView, PullStateView, QuarantineView
from tracker.enums import Lifecycle
from tracker.errors import InvalidInputError, NotFoundError, StateError
from tracker.inputs import clean_text
from tracker.tables import Cost, CostQuarantine, PullState, Trip

if TYPE_CHECKING:
    from tracker.store import Tracker

__all__ = [
    "PULL_NAME",
    "AmbiguousLink",
    "CostIn",
    "CostNotFoundError",
    "FinishedPull",
    "PullStart",
    "QuarantineIn",
    "StoredPage",
    "begin_pull",
    "cost_counts",
    "finish_pull",
    "get_cost",
    "link_tolerance",
    "list_costs",
    "list_quarantine",
    "mark_gone",
    "pull_status",
    "store_cost",
    "store_page",
    "store_rejects",
]

PULL_NAME = "costs"
"""The ``pull_state`` row of the additional-costs pull."""

MAX_CANDIDATES = 5
"""Overlapping trips listed for an ambiguous cost (more exist if the list is full)."""

MAX_TOLERANCE = timedelta(days=7)
"""Link tolerances above this are clamped: beyond a week, "overlap" means nothing."""

INT64 = 2**63
MAX_TEXT = 10_000
MAX_RAW = 64 * 1024


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


# pydantic refuses unpaired surrogates itself (sqlite3 could not store them); the pattern,
# checked in pydantic's core, refuses NUL bytes. No Python call per field: CostIn is built
# for every pulled cost.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=NO_NUL)]
Int64 = Annotated[int, Field(ge=-INT64, lt=INT64)]


class CostIn(BaseModel):
    """One cost to store, already validated from the wire (plain values, aware datetimes).

    ``raw`` is the item as received (JSON values; Decimal numbers are stored as their exact
    text); it keeps the original date strings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Int64
    last_updated: AwareDatetime
    amount: Annotated[Decimal, AfterValidator(_finite)]
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    notes: Text | None = None
    trip_guid: Text | None = None
    start_location: Text | None = None
    end_location: Text | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    type_id: Int64 | None = None
    cost_type: Int64 | None = None
    label: Text | None = None
    labels: dict[Text, Text] = Field(default_factory=dict)
    ext_user_guid: Text | None = None
    payment_id: Int64 | None = None
    payment_status: Int64 | None = None
    payment_attempt: AwareDatetime | None = None
    payment_user: Text | None = None
    payment_notes: Text | None = None
    raw: dict[str, Any]


class QuarantineIn(BaseModel):
    """An item that did not validate: its ID when one could be read, raw JSON text, reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cost_id: Annotated[str, Field(max_length=100), AfterValidator(clean_text)] | None
    raw: Annotated[str, Field(max_length=MAX_RAW), AfterValidator(clean_text)]
    reason: Annotated[str, Field(max_length=2000), AfterValidator(clean_text)]


@dataclass(frozen=True)
class AmbiguousLink:
    """A cost that overlaps several trips and was left unlinked."""

    cost_id: int
    trip_ids: tuple[str, ...]


@dataclass
class StoredPage:
    """What storing one page (or one refreshed cost) did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    """Items older (``LastUpdated``) than the stored copy: not applied."""
    quarantined: int = 0
    resolved: int = 0
    """Quarantine entries removed because their item now validates."""
    linked_by_guid: int = 0
    linked_by_time: int = 0
    unlinked: int = 0
    ambiguous: list[AmbiguousLink] = field(default_factory=list)


@dataclass(frozen=True)
class PullStart:
    """A pull run to start or resume; ``checkpoint`` is None for a walk from the first page."""

    run_id: str
    checkpoint: dict[str, Any] | None
    pages: int
    items: int

    @property
    def resumed(self) -> bool:
        """True when an interrupted run is being resumed."""
        return self.checkpoint is not None


@dataclass(frozen=True)
class FinishedPull:
    """What closing a run did: costs newly marked not seen, quarantine entries dropped."""

    marked_not_seen: int = 0
    quarantine_cleared: int = 0


class CostNotFoundError(NotFoundError):
    """No cost with this ID is stored."""

    def __init__(self, cost_id: object) -> None:
        super().__init__("cost", str(cost_id))
        self.args = (f"no cost with id {cost_id}: check the id with `tracker costs list`",)


# ---------------------------------------------------------------- the pull's run


def begin_pull(tracker: Tracker, *, name: str = PULL_NAME, fresh: bool = False) -> PullStart:
    """Resume the interrupted run of pull ``name`` if there is one, else start a new run.

    ``fresh=True`` discards any checkpoint (e.g. one written under other paging settings).
    """
    now = tracker.now()
    with tracker.write() as s:
        row = s.get(PullState, name)
        if (
            row is not None
            and not fresh
            and row.run_id is not None
            and row.finished_at is None
            and row.checkpoint is not None
        ):
            return PullStart(row.run_id, dict(row.checkpoint), row.pages, row.items)
        run_id = uuid.uuid4().hex
        if row is None:
            row = PullState(name=name)
        row.run_id = run_id
        row.checkpoint = None
        row.pages = 0
        row.items = 0
        row.complete = False
        row.stop_reason = None
        row.started_at = now
        row.finished_at = None
        s.add(row)
        return PullStart(run_id, None, 0, 0)


def store_page(
    tracker: Tracker,
    costs: Sequence[CostIn],
    rejects: Sequence[QuarantineIn],
    *,
    run_id: str,
    checkpoint: dict[str, Any],
    pages: int,
    items: int,
    link_tolerance: timedelta,
    name: str = PULL_NAME,
) -> StoredPage:
    """Store one page and its checkpoint in one transaction (see the module docstring).

    Raises StateError when ``run_id`` is no longer the pull's current run (another process
    restarted it): nothing is written then.
    """
    now = tracker.now()
    with tracker.write() as s:
        conn = s.connection()
        _advance(conn, name, run_id, checkpoint, pages, items)
        result = _store_costs(conn, costs, run_id, now, link_tolerance)
        result.quarantined = _quarantine(conn, rejects, run_id, now)
        result.resolved = _resolve(conn, [c.id for c in costs])
        return result


def finish_pull(
    tracker: Tracker,
    *,
    run_id: str,
    complete: bool,
    stop_reason: str | None,
    name: str = PULL_NAME,
) -> FinishedPull:
    """Close run ``run_id``. Only a complete walk marks costs it did not read as not seen.

    The checkpoint is cleared either way: after a guarded stop, resuming would only meet the
    same guard again, so the next pull starts over from the first page.
    """
    now = tracker.now()
    with tracker.write() as s:
        state = _current_run(s, name, run_id)
        finished = FinishedPull()
        if complete:
            finished = _mark_unseen(s.connection(), run_id)
            state.last_complete_at = now
        state.complete = complete
        state.stop_reason = stop_reason
        state.finished_at = now
        state.checkpoint = None
        s.add(state)
        return finished


def _advance(
    conn: Connection, name: str, run_id: str, checkpoint: dict[str, Any], pages: int, items: int
) -> None:
    """Move the checkpoint of run ``run_id`` (the caller's transaction stores the page)."""
    table = _table(PullState)
    done = conn.execute(
        update(table)
        .where(table.c.name == name, table.c.run_id == run_id)
        .values(checkpoint=dict(checkpoint), pages=pages, items=items)
    )
    if done.rowcount != 1:
        raise StateError(
            f"pull {name!r} run {run_id} was superseded by another process; this run stops"
        )


def _current_run(s: Session, name: str, run_id: str) -> PullState:
    state = s.get(PullState, name)
    if state is None or state.run_id != run_id:
        raise StateError(
            f"pull {name!r} run {run_id} was superseded by another process; this run stops"
        )
    return state


def _mark_unseen(conn: Connection, run_id: str) -> FinishedPull:
    costs, quarantine = _table(Cost), _table(CostQuarantine)
    not_this_run = (costs.c.seen_run.is_(None)) | (costs.c.seen_run != run_id)
    marked = conn.execute(
        update(costs)
        .where(costs.c.seen_in_last_pull.is_(True), not_this_run)
        .values(seen_in_last_pull=False)
    ).rowcount
    cleared = conn.execute(
        delete(quarantine).where(
            (quarantine.c.seen_run.is_(None)) | (quarantine.c.seen_run != run_id)
        )
    ).rowcount
    return FinishedPull(marked_not_seen=marked, quarantine_cleared=cleared)


# ---------------------------------------------------------------- single items


def store_cost(tracker: Tracker, cost: CostIn, *, link_tolerance: timedelta) -> StoredPage:
    """Store one cost read outside a pull (a refresh): same upsert and link rules.

    Its "seen" bookkeeping is left to the pulls; a quarantine entry for it is resolved.
    """
    now = tracker.now()
    with tracker.write() as s:
        conn = s.connection()
        result = _store_costs(conn, [cost], None, now, link_tolerance)
        result.resolved = _resolve(conn, [cost.id])
        return result


def store_rejects(tracker: Tracker, rejects: Sequence[QuarantineIn]) -> int:
    """Quarantine items read outside a pull; returns how many."""
    now = tracker.now()
    with tracker.write() as s:
        return _quarantine(s.connection(), rejects, None, now)


def mark_gone(tracker: Tracker, cost_id: int) -> bool:
    """Record that the platform no longer has this cost (kept, marked not seen)."""
    with tracker.write() as s:
        costs = _table(Cost)
        done = s.connection().execute(
            update(costs).where(costs.c.id == cost_id).values(seen_in_last_pull=False)
        )
        return bool(done.rowcount)


# ---------------------------------------------------------------- upsert
#
# The hot path of a pull. SQLAlchemy's per-row parameter processing cost more than the rest
# of a page together (profiled with bench/pull.py), so rows go to the driver as tuples, as
# store.py does for waypoints: statements are compiled once, and each value is written
# exactly as the column types in tracker.coltypes write it (the ORM reads them back).


@dataclass(frozen=True)
class _Stored:
    """What the upsert needs of a stored row, in storage form (timestamps as UTC text)."""

    last_updated: str | None
    raw: str
    currency: str
    trip_guid: str | None
    start_time: str | None
    end_time: str | None


def _raw_text(raw: dict[str, Any]) -> str:
    """The stored text of an item as received: JSON, decimals written as their exact text."""
    return json.dumps(raw, default=_exact)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _from_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _opt_ts(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


@functools.cache
def _insert_sql() -> tuple[str, tuple[str, ...]]:
    table = _table(Cost)
    columns = tuple(c.name for c in table.columns)
    return str(table.insert().compile(dialect=sqlite.dialect())), columns


@functools.cache
def _update_sql(columns: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """``UPDATE cost SET <columns> WHERE id = ?`` and the order of its parameters."""
    table = _table(Cost)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in columns})
    )
    compiled = statement.compile(dialect=sqlite.dialect())
    return str(compiled), tuple(compiled.positiontup or ())


def _execute_rows(
    conn: Connection, sql: tuple[str, tuple[str, ...]], rows: list[dict[str, Any]]
) -> None:
    """executemany of ``rows`` (values already in storage form) as positional tuples."""
    if rows:
        text_sql, order = sql
        values = operator.itemgetter(*order)
        conn.exec_driver_sql(text_sql, [values(row) for row in rows])


_CONTENT = (
    "trip_guid",
    "type_id",
    "cost_type",
    "label",
    "labels",
    "amount",
    "currency",
    "notes",
    "start_location",
    "end_location",
    "start_time",
    "end_time",
    "last_updated",
    "ext_user_guid",
    "payment_id",
    "payment_status",
    "payment_attempt",
    "payment_user",
    "payment_notes",
    "raw",
)
_LINK = ("trip_id", "link")
_SEEN = ("seen_in_last_pull", "seen_run")


def _row(cost: CostIn, guid: str | None, raw: str, **more: Any) -> dict[str, Any]:
    """The content columns of ``cost`` (:data:`_CONTENT`) in storage form, plus ``more``."""
    return {
        "trip_guid": guid or cost.trip_guid,
        "type_id": cost.type_id,
        "cost_type": cost.cost_type,
        "label": cost.label,
        "labels": json.dumps(cost.labels),
        "amount": format(cost.amount, "f"),
        "currency": cost.currency,
        "notes": cost.notes,
        "start_location": cost.start_location,
        "end_location": cost.end_location,
        "start_time": _opt_ts(cost.start_time),
        "end_time": _opt_ts(cost.end_time),
        "last_updated": utc_text(cost.last_updated),
        "ext_user_guid": cost.ext_user_guid,
        "payment_id": cost.payment_id,
        "payment_status": cost.payment_status,
        "payment_attempt": _opt_ts(cost.payment_attempt),
        "payment_user": cost.payment_user,
        "payment_notes": cost.payment_notes,
        "raw": raw,
        **more,
    }


def _latest(costs: Iterable[CostIn]) -> dict[int, CostIn]:
    """One item per ID: the newest ``LastUpdated``, the later one on a tie."""
    latest: dict[int, CostIn] = {}
    for cost in costs:
        kept = latest.get(cost.id)
        if kept is None or cost.last_updated >= kept.last_updated:
            latest[cost.id] = cost
    return latest


def _stored(conn: Connection, ids: list[int]) -> dict[int, _Stored]:
    table = _table(Cost)
    as_text = [
        type_coerce(table.c[name], String)
        for name in ("last_updated", "raw", "currency", "trip_guid", "start_time", "end_time")
    ]
    rows = conn.execute(sa_select(table.c.id, *as_text).where(table.c.id.in_(ids)))
    return {row[0]: _Stored(*row[1:]) for row in rows}


def _store_costs(
    conn: Connection,
    costs: Sequence[CostIn],
    run_id: str | None,
    now: datetime,
    tolerance: timedelta,
) -> StoredPage:
    result = StoredPage()
    latest = _latest(costs)
    if not latest:
        return result
    stored = _stored(conn, list(latest))
    guids = {ident: _canonical_guid(cost.trip_guid) for ident, cost in latest.items()}
    linker = _Linker(conn, tolerance)
    linker.know_trips([*guids.values(), *(_canonical_guid(s.trip_guid) for s in stored.values())])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    touches: list[dict[str, Any]] = []
    seen = {"seen_in_last_pull": True, "seen_run": run_id} if run_id is not None else {}
    stamp = utc_text(now)
    for ident, cost in latest.items():
        old = stored.get(ident)
        guid = guids[ident]
        raw = _raw_text(cost.raw)
        if (
            old is not None
            and old.last_updated is not None
            and utc_text(cost.last_updated) < old.last_updated
        ):
            result.stale += 1
            link = linker.link(
                ident,
                _canonical_guid(old.trip_guid),
                _from_ts(old.start_time),
                _from_ts(old.end_time),
            )
            touches.append({"b_id": ident, **link, **seen})
        elif old is not None and old.currency == cost.currency and old.raw == raw:
            result.unchanged += 1
            link = linker.link(ident, guid, cost.start_time, cost.end_time)
            touches.append({"b_id": ident, **link, **seen})
        else:
            link = linker.link(ident, guid, cost.start_time, cost.end_time)
            if old is None:
                result.inserted += 1
                inserts.append(
                    _row(
                        cost,
                        guid,
                        raw,
                        id=ident,
                        **link,
                        updated_at=stamp,
                        seen_in_last_pull=True,
                        seen_run=run_id,
                        first_seen_at=stamp,
                    )
                )
            else:
                result.updated += 1
                updates.append(_row(cost, guid, raw, b_id=ident, **link, updated_at=stamp, **seen))
    seen_columns = _SEEN if run_id is not None else ()
    _execute_rows(conn, _insert_sql(), inserts)
    _execute_rows(conn, _update_sql((*_CONTENT, *_LINK, "updated_at", *seen_columns)), updates)
    _execute_rows(conn, _update_sql((*_LINK, *seen_columns)), touches)
    linker.tally(result)
    return result


# ---------------------------------------------------------------- links


_LOWER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical_guid(value: str | None) -> str | None:
    """``value`` as a lower-case hyphenated UUID (local trip ids look like that), or None."""
    if not value:
        return None
    if _LOWER_UUID.fullmatch(value):
        return value  # already canonical: the common case, without building a UUID
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


class _Linker:
    """Finds the trip of each cost within one transaction (see the module docstring)."""

    def __init__(self, conn: Connection, tolerance: timedelta) -> None:
        self._conn = conn
        self._tolerance = min(max(tolerance, timedelta(0)), MAX_TOLERANCE)
        self._trips = _table(Trip)
        self._known: set[str] = set()
        self._any = conn.execute(sa_select(self._trips.c.id).limit(1)).first() is not None
        self._span = self._longest_trip() if self._any else None
        self._kinds: dict[str, int] = {}
        self._ambiguous: list[AmbiguousLink] = []

    def _longest_trip(self) -> timedelta | None:
        # The overlap query can then use the start_time index: a trip overlapping [lo, hi]
        # starts in [lo - longest trip, hi]. julianday() reads our fixed-width UTC text.
        trips = self._trips
        seconds = self._conn.execute(
            sa_select(
                func.max(
                    (func.julianday(trips.c.end_time) - func.julianday(trips.c.start_time))
                    * 86400.0
                )
            ).where(*self._candidates())
        ).scalar()
        if seconds is None or not math.isfinite(seconds):
            return None
        return timedelta(seconds=max(0.0, float(seconds)) + 1.0)  # +1 s: julianday rounding

    def _candidates(self) -> tuple[Any, ...]:
        trips = self._trips
        return (
            trips.c.lifecycle == Lifecycle.ACTIVE.value,
            trips.c.start_time.is_not(None),
            trips.c.end_time.is_not(None),
        )

    def know_trips(self, guids: Iterable[str | None]) -> None:
        """Look up at once which of these (canonical) GUIDs are local trip ids."""
        wanted = {g for g in guids if g is not None}
        if wanted and self._any:
            found = self._conn.execute(
                sa_select(self._trips.c.id).where(self._trips.c.id.in_(sorted(wanted)))
            )
            self._known.update(row.id for row in found)

    def link(
        self, cost_id: int, guid: str | None, start: datetime | None, end: datetime | None
    ) -> dict[str, Any]:
        """``{"trip_id": ..., "link": ...}`` for one cost (``guid``: canonical, or None)."""
        if guid is not None and guid in self._known:
            return self._count(guid, "trip_guid")
        first, last = start or end, end or start
        if first is None or last is None or self._span is None:
            return self._count(None, "none")
        if last < first:
            first, last = last, first
        low, high = first - self._tolerance, last + self._tolerance
        trips = self._trips
        found = [
            row.id
            for row in self._conn.execute(
                sa_select(trips.c.id)
                .where(
                    *self._candidates(),
                    trips.c.start_time >= low - self._span,
                    trips.c.start_time <= high,
                    trips.c.end_time >= low,
                )
                .order_by(trips.c.start_time)
                .limit(MAX_CANDIDATES)
            )
        ]
        if len(found) == 1:
            return self._count(found[0], "time")
        if found:
            self._ambiguous.append(AmbiguousLink(cost_id, tuple(found)))
            return self._count(None, "ambiguous")
        return self._count(None, "none")

    def _count(self, trip_id: str | None, kind: str) -> dict[str, Any]:
        self._kinds[kind] = self._kinds.get(kind, 0) + 1
        return {"trip_id": trip_id, "link": kind}

    def tally(self, result: StoredPage) -> None:
        """Add this page's link counts to ``result``."""
        result.linked_by_guid += self._kinds.get("trip_guid", 0)
        result.linked_by_time += self._kinds.get("time", 0)
        result.unlinked += self._kinds.get("none", 0)
        result.ambiguous.extend(self._ambiguous)


# ---------------------------------------------------------------- quarantine


def _quarantine(
    conn: Connection, rejects: Sequence[QuarantineIn], run_id: str | None, now: datetime
) -> int:
    table = _table(CostQuarantine)
    for reject in rejects:
        if reject.cost_id is not None:
            match = table.c.cost_id == reject.cost_id
        else:
            match = table.c.cost_id.is_(None) & (table.c.raw == reject.raw)
        found = conn.execute(sa_select(table.c.id).where(match).limit(1)).first()
        values: dict[str, Any] = {"raw": reject.raw, "reason": reject.reason, "last_seen_at": now}
        if run_id is not None:
            values["seen_run"] = run_id
        if found is None:
            conn.execute(table.insert().values(cost_id=reject.cost_id, first_seen_at=now, **values))
        else:
            conn.execute(update(table).where(table.c.id == found.id).values(**values))
    _keep_seen(conn, rejects, run_id)
    return len(rejects)


def _keep_seen(conn: Connection, rejects: Sequence[QuarantineIn], run_id: str | None) -> None:
    """A stored cost whose new version is quarantined is still in the list: not "gone"."""
    if run_id is None:
        return
    ids = [int(r.cost_id) for r in rejects if r.cost_id is not None and _is_int(r.cost_id)]
    if ids:
        costs = _table(Cost)
        conn.execute(
            update(costs).where(costs.c.id.in_(ids)).values(seen_in_last_pull=True, seen_run=run_id)
        )


def _is_int(text: str) -> bool:
    stripped = text.removeprefix("-")
    return stripped.isascii() and stripped.isdigit() and -INT64 <= int(text) < INT64


def _resolve(conn: Connection, cost_ids: Sequence[int]) -> int:
    if not cost_ids:
        return 0
    table = _table(CostQuarantine)
    if conn.execute(sa_select(table.c.id).limit(1)).first() is None:
        return 0  # the usual case: nothing quarantined, no 100-key DELETE per page
    done = conn.execute(delete(table).where(table.c.cost_id.in_([str(i) for i in cost_ids])))
    return done.rowcount


# ---------------------------------------------------------------- reads


def list_costs(tracker: Tracker, *, trip_id: str | None = None) -> list[CostView]:
    """Stored costs, latest start first (costs without times last).

    ``trip_id`` (a trip id or a unique prefix of 4+ characters) keeps the costs linked to it.
    """
    with tracker.read() as s:
        query = select(Cost)
        if trip_id is not None:
            query = query.where(col(Cost.trip_id) == _resolve_trip(s, trip_id))
        query = query.order_by(
            col(Cost.start_time).is_(None), col(Cost.start_time).desc(), col(Cost.id).desc()
        )
        return [CostView.from_row(row) for row in s.exec(query).all()]


def get_cost(tracker: Tracker, cost_id: int) -> CostView:
    """One stored cost; CostNotFoundError if there is none."""
    with tracker.read() as s:
        row = s.get(Cost, cost_id)
        if row is None:
            raise CostNotFoundError(cost_id)
        return CostView.from_row(row)


def list_quarantine(tracker: Tracker) -> list[QuarantineView]:
    """Quarantined items, most recently seen first."""
    with tracker.read() as s:
        rows = s.exec(
            select(CostQuarantine).order_by(
                col(CostQuarantine.last_seen_at).desc(), col(CostQuarantine.id).desc()
            )
        ).all()
        return [QuarantineView.from_row(row) for row in rows]


def pull_status(tracker: Tracker, *, name: str = PULL_NAME) -> PullStateView | None:
    """The pull's bookkeeping row, or None before the first pull."""
    with tracker.read() as s:
        row = s.get(PullState, name)
        return None if row is None else PullStateView.from_row(row)


def cost_counts(tracker: Tracker, *, name: str = PULL_NAME) -> CostCounts:
    """Counts for ``tracker status``."""
    with tracker.read() as s:
        conn = s.connection()
        by_link = {
            str(link): int(n)
            for link, n in conn.execute(text("SELECT link, count(*) FROM cost GROUP BY link"))
        }
        not_seen = conn.execute(
            text("SELECT count(*) FROM cost WHERE seen_in_last_pull = 0")
        ).scalar_one()
        quarantined = conn.execute(text("SELECT count(*) FROM cost_quarantine")).scalar_one()
        row = s.get(PullState, name)
        return CostCounts(
            total=sum(by_link.values()),
            linked_by_guid=by_link.get("trip_guid", 0),
            linked_by_time=by_link.get("time", 0),
            ambiguous=by_link.get("ambiguous", 0),
            unlinked=by_link.get("none", 0),
            not_seen=int(not_seen),
            quarantined=int(quarantined),
            pull=None if row is None else PullStateView.from_row(row),
        )


def _resolve_trip(s: Session, trip_id: str) -> str:
    if s.get(Trip, trip_id) is not None:
        return trip_id
    if len(trip_id) >= 4 and "%" not in trip_id and "_" not in trip_id:
        matches = s.exec(select(Trip.id).where(col(Trip.id).startswith(trip_id)).limit(2)).all()
        if len(matches) == 1:
            return str(matches[0])
    raise NotFoundError("trip", trip_id)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def link_tolerance(seconds: float) -> timedelta:
    """A link tolerance from seconds (a setting), clamped to :data:`MAX_TOLERANCE`."""
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInputError("link_tolerance", "must be a finite number of seconds >= 0")
    return min(timedelta(seconds=seconds), MAX_TOLERANCE)

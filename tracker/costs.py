"""Pulled costs in the local store: pages with their checkpoint, quarantine, links to trips.

The remote side (``sync.pull``) validates what it reads into :class:`CostIn` and
:class:`QuarantineIn` values; this module stores them, each function in one ``BEGIN
IMMEDIATE`` transaction on the :class:`~tracker.store.Tracker`. The rules (upsert, page and
checkpoint together, quarantine, not seen, links) are in docs/costs.md.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Table, delete, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tracker.coltypes import from_utc_text, utc_text
from tracker.costlinks import (
    AmbiguousLink,
    Linker,
    canonical_guid,
    link_tolerance,
)
from tracker.costviews import CostCounts, CostView, PullStateView, QuarantineView
from tracker.errors import NotFoundError, StateError
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
CURRENCY = r"^[A-Z]{3}$"
"""An ISO 4217 code, as the configuration gives it."""


class CostIn(BaseModel):
    """One cost to store, already validated from the wire (plain values, aware datetimes).

    ``raw`` is the item as received (JSON values; Decimal numbers are stored as their exact
    text); it keeps the original date strings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Int64
    last_updated: AwareDatetime
    amount: Annotated[Decimal, AfterValidator(_finite)]
    currency: str = Field(pattern=CURRENCY)
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

    @classmethod
    def checked(cls, values: dict[str, Any]) -> CostIn:
        """Build from ``values`` (every field, by name) without validating them again.

        Only for values already held to every rule above: ``sync.wire.costs`` reads the
        platform's items into exactly these, and validating each pulled cost twice cost a
        fifth of reading a page (bench/pull.py). This is ``model_construct`` without its
        per-field search for aliases and defaults, which cost as much as validating.
        """
        if values.keys() != _COST_FIELDS:
            missing = sorted(_COST_FIELDS - values.keys())
            extra = sorted(values.keys() - _COST_FIELDS)
            raise TypeError(f"CostIn.checked needs every field: missing {missing}, extra {extra}")
        cost = cls.__new__(cls)
        object.__setattr__(cost, "__dict__", values)
        object.__setattr__(cost, "__pydantic_fields_set__", set(values))
        object.__setattr__(cost, "__pydantic_extra__", None)
        object.__setattr__(cost, "__pydantic_private__", None)
        return cost


_COST_FIELDS = frozenset(CostIn.model_fields)


class QuarantineIn(BaseModel):
    """An item that did not validate: its ID when one could be read, raw JSON text, reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cost_id: Annotated[str, Field(max_length=100), AfterValidator(clean_text)] | None
    raw: Annotated[str, Field(max_length=MAX_RAW), AfterValidator(clean_text)]
    reason: Annotated[str, Field(max_length=2000), AfterValidator(clean_text)]


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


_ADVANCE_SQL = (
    "UPDATE pull_state SET checkpoint = ?, pages = ?, items = ? WHERE name = ? AND run_id = ?"
)


def _advance(
    conn: Connection, name: str, run_id: str, checkpoint: dict[str, Any], pages: int, items: int
) -> None:
    """Move the checkpoint of run ``run_id`` (the caller's transaction stores the page)."""
    done = conn.exec_driver_sql(_ADVANCE_SQL, (json.dumps(checkpoint), pages, items, name, run_id))
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
# The hot path of a pull: one page of 100 costs per transaction. It is plain SQL handed to the
# driver, static text with placeholders, as journal.py does for the push (id lists travel as
# one JSON array through json_each): SQLAlchemy's per-statement and per-row processing cost
# more than the SQL itself (bench/pull.py). Each value is written exactly as the column types
# in tracker.coltypes write it, so the ORM reads the rows back as usual.

_STORED_SQL = (
    "SELECT id, last_updated, raw, currency, trip_guid, start_time, end_time FROM cost "
    "WHERE id IN (SELECT value FROM json_each(?))"
)
# A cost's content columns, in the order of _content(); then the link and bookkeeping.
_INSERT_SQL = """
INSERT INTO cost (
    trip_guid, type_id, cost_type, label, labels, amount, currency, notes, start_location,
    end_location, start_time, end_time, last_updated, ext_user_guid, payment_id,
    payment_status, payment_attempt, payment_user, payment_notes, raw,
    trip_id, link, seen_in_last_pull, seen_run, first_seen_at, updated_at, id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
"""
_UPDATE_SQL = """
UPDATE cost SET
    trip_guid = ?, type_id = ?, cost_type = ?, label = ?, labels = ?, amount = ?,
    currency = ?, notes = ?, start_location = ?, end_location = ?, start_time = ?,
    end_time = ?, last_updated = ?, ext_user_guid = ?, payment_id = ?, payment_status = ?,
    payment_attempt = ?, payment_user = ?, payment_notes = ?, raw = ?,
    trip_id = ?, link = ?, updated_at = ?
"""
_TOUCH_SQL = "UPDATE cost SET trip_id = ?, link = ?"
_SEEN_SQL = ", seen_in_last_pull = 1, seen_run = ?"
_WHERE_ID = " WHERE id = ?"


@dataclass(frozen=True)
class _Stored:
    """What the upsert needs of a stored row, in storage form (timestamps as UTC text)."""

    last_updated: str | None
    raw: str
    currency: str
    trip_guid: str | None
    start_time: str | None
    end_time: str | None


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every item: json.dumps with a ``default`` builds a new encoder per call.
_RAW_ENCODER = json.JSONEncoder(default=_exact)


def _raw_text(raw: dict[str, Any]) -> str:
    """The stored text of an item as received: JSON, decimals written as their exact text."""
    return _RAW_ENCODER.encode(raw)


def _opt_ts(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


@functools.lru_cache(maxsize=256)
def _labels_text(labels: tuple[tuple[str, str], ...]) -> str:
    # Memoised: a list repeats the labels of each cost type, and this was a tenth of _content.
    return json.dumps(dict(labels))


def _content(cost: CostIn, guid: str | None, raw: str) -> tuple[Any, ...]:
    """The content columns of ``cost`` in storage form (the order of :data:`_INSERT_SQL`)."""
    return (
        guid or cost.trip_guid,
        cost.type_id,
        cost.cost_type,
        cost.label,
        _labels_text(tuple(cost.labels.items())),
        format(cost.amount, "f"),
        cost.currency,
        cost.notes,
        cost.start_location,
        cost.end_location,
        _opt_ts(cost.start_time),
        _opt_ts(cost.end_time),
        utc_text(cost.last_updated),
        cost.ext_user_guid,
        cost.payment_id,
        cost.payment_status,
        _opt_ts(cost.payment_attempt),
        cost.payment_user,
        cost.payment_notes,
        raw,
    )


def _latest(costs: Iterable[CostIn]) -> dict[int, CostIn]:
    """One item per ID: the newest ``LastUpdated``, the later one on a tie."""
    latest: dict[int, CostIn] = {}
    for cost in costs:
        kept = latest.get(cost.id)
        if kept is None or cost.last_updated >= kept.last_updated:
            latest[cost.id] = cost
    return latest


def _stored(conn: Connection, ids: list[int]) -> dict[int, _Stored]:
    rows = conn.exec_driver_sql(_STORED_SQL, (json.dumps(ids),))
    return {row[0]: _Stored(*row[1:]) for row in rows}


@dataclass
class _Writes:
    """The rows of one page, by statement (each one executemany)."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    touches: list[tuple[Any, ...]] = field(default_factory=list)

    def run(self, conn: Connection, run_id: str | None) -> None:
        seen = _SEEN_SQL if run_id is not None else ""
        for sql, rows in (
            (_INSERT_SQL, self.inserts),
            (_UPDATE_SQL + seen + _WHERE_ID, self.updates),
            (_TOUCH_SQL + seen + _WHERE_ID, self.touches),
        ):
            if rows:
                conn.exec_driver_sql(sql, rows)


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
    guids = {ident: canonical_guid(cost.trip_guid) for ident, cost in latest.items()}
    linker = Linker(conn, tolerance)
    linker.know_trips([*guids.values(), *(canonical_guid(s.trip_guid) for s in stored.values())])
    # Each item is decided first; the links are then looked up for the whole page at once.
    decided: list[tuple[str, int, tuple[Any, ...]]] = []
    for ident, cost in latest.items():
        old = stored.get(ident)
        guid = guids[ident]
        raw = _raw_text(cost.raw)
        if (
            old is not None
            and old.last_updated is not None
            and utc_text(cost.last_updated) < old.last_updated
        ):
            result.stale += 1  # not applied: linked by what is stored
            start, end = from_utc_text(old.start_time), from_utc_text(old.end_time)
            linker.want(ident, canonical_guid(old.trip_guid), start, end)
            decided.append(("touch", ident, ()))
            continue
        linker.want(ident, guid, cost.start_time, cost.end_time)
        if old is None:
            result.inserted += 1
            decided.append(("insert", ident, _content(cost, guid, raw)))
        elif old.currency == cost.currency and old.raw == raw:
            result.unchanged += 1
            decided.append(("touch", ident, ()))
        else:
            result.updated += 1
            decided.append(("update", ident, _content(cost, guid, raw)))
    links = linker.resolve()
    writes = _Writes()
    stamp = utc_text(now)
    seen = (run_id,) if run_id is not None else ()
    for action, ident, content in decided:
        link = links[ident]
        if action == "insert":
            writes.inserts.append((*content, *link, run_id, stamp, stamp, ident))
        elif action == "update":
            writes.updates.append((*content, *link, stamp, *seen, ident))
        else:
            writes.touches.append((*link, *seen, ident))
    writes.run(conn, run_id)
    kinds = linker.kinds()
    result.linked_by_guid += kinds["trip_guid"]
    result.linked_by_time += kinds["time"]
    result.unlinked += kinds["none"]
    result.ambiguous.extend(linker.ambiguous)
    return result


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


_ANY_QUARANTINED_SQL = "SELECT EXISTS (SELECT 1 FROM cost_quarantine)"
_RESOLVE_SQL = "DELETE FROM cost_quarantine WHERE cost_id IN (SELECT value FROM json_each(?))"


def _resolve(conn: Connection, cost_ids: Sequence[int]) -> int:
    if not cost_ids:
        return 0
    if not conn.exec_driver_sql(_ANY_QUARANTINED_SQL).scalar():
        return 0  # the usual case: nothing quarantined, no 100-key DELETE per page
    keys = json.dumps([str(i) for i in cost_ids])  # quarantine keys are text
    return int(conn.exec_driver_sql(_RESOLVE_SQL, (keys,)).rowcount or 0)


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

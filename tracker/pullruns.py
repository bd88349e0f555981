"""A pull's run in the store (``pull_state``): its checkpoint moves with each stored page.

Each pull (the costs list, the mileage walk) has a row by name. A run killed anywhere resumes
after the last stored page; a finished run is not resumed. Every function runs inside the
caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from tracker.errors import StateError

__all__ = ["PullStart", "advance", "begin", "finish"]


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


def begin(s: Session, name: str, now: datetime, *, fresh: bool = False) -> PullStart:
    """Resume the interrupted run of pull ``name`` if there is one, else start a new run.

    ``fresh=True`` discards any checkpoint (e.g. one written under other paging settings).
    """
    from tracker.sidetables import PullState  # the pull's, not a read's (sidetables)

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


_ADVANCE_SQL = (
    "UPDATE pull_state SET checkpoint = ?, pages = ?, items = ? WHERE name = ? AND run_id = ?"
)


def advance(
    conn: Connection, name: str, run_id: str, checkpoint: dict[str, Any], pages: int, items: int
) -> None:
    """Move the checkpoint of run ``run_id`` (the caller's transaction stores the page).

    Raises StateError when ``run_id`` is no longer the pull's current run."""
    done = conn.exec_driver_sql(_ADVANCE_SQL, (json.dumps(checkpoint), pages, items, name, run_id))
    if done.rowcount != 1:
        raise _superseded(name, run_id)


def finish(
    s: Session, name: str, run_id: str, now: datetime, *, complete: bool, stop_reason: str | None
) -> None:
    """Close run ``run_id`` (StateError when another process restarted the pull).

    The checkpoint is cleared either way: after a guarded stop, resuming would only meet the
    same guard again, so the next pull starts over from the first page.
    """
    from tracker.sidetables import PullState  # the pull's, not a read's (sidetables)

    state = s.get(PullState, name)
    if state is None or state.run_id != run_id:
        raise _superseded(name, run_id)
    if complete:
        state.last_complete_at = now
    state.complete = complete
    state.stop_reason = stop_reason
    state.finished_at = now
    state.checkpoint = None
    s.add(state)


def _superseded(name: str, run_id: str) -> StateError:
    return StateError(
        f"pull {name!r} run {run_id} was superseded by another process; this run stops"
    )

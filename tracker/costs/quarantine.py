"""Pulled items that did not validate: kept raw with the reason, retried every pull."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy import select as sa_select

from tracker.costs.inputs import INT64, QuarantineIn
from tracker.costs.tables import table
from tracker.tables import Cost, CostQuarantine

__all__ = ["quarantine", "read_ids", "resolve"]


def quarantine(
    conn: Connection,
    rejects: Sequence[QuarantineIn],
    run_id: str | None,
    now: datetime,
    account: str | None = None,
) -> int:
    """Keep ``rejects`` (keyed by their ID when they have one) in the caller's transaction,
    as ``account``'s (None: the implicit account's)."""
    from tracker.accounts import of_account

    rows = table(CostQuarantine)
    mine = of_account(account, rows.c.account)
    for reject in rejects:
        if reject.cost_id is not None:
            match = mine & (rows.c.cost_id == reject.cost_id)
        else:
            match = mine & rows.c.cost_id.is_(None) & (rows.c.raw == reject.raw)
        found = conn.execute(sa_select(rows.c.id).where(match).limit(1)).first()
        values: dict[str, Any] = {"raw": reject.raw, "reason": reject.reason, "last_seen_at": now}
        if run_id is not None:
            values["seen_run"] = run_id
        if found is None:
            conn.execute(
                rows.insert().values(
                    cost_id=reject.cost_id, first_seen_at=now, account=account, **values
                )
            )
        else:
            conn.execute(update(rows).where(rows.c.id == found.id).values(**values))
    _keep_seen(conn, rejects, run_id, account)
    return len(rejects)


def _keep_seen(
    conn: Connection, rejects: Sequence[QuarantineIn], run_id: str | None, account: str | None
) -> None:
    """A stored cost whose new version is quarantined is still in the list: not "gone" (the
    run records its ID as read, ``read_ids``; one marked not seen before is seen again)."""
    if run_id is None:
        return
    ids = read_ids(rejects)
    if ids:
        from tracker.accounts import of_account

        costs = table(Cost)
        conn.execute(
            update(costs)
            .where(
                costs.c.id.in_(ids),
                costs.c.seen_in_last_pull.is_(False),
                of_account(account, costs.c.account),
            )
            .values(seen_in_last_pull=True, seen_run=run_id)
        )


def read_ids(rejects: Sequence[QuarantineIn]) -> list[int]:
    """The cost IDs quarantined items claim (``"7"`` claims cost 7): read by the walk."""
    return [int(r.cost_id) for r in rejects if r.cost_id is not None and _is_int(r.cost_id)]


def _is_int(text: str) -> bool:
    stripped = text.removeprefix("-")
    return stripped.isascii() and stripped.isdigit() and -INT64 <= int(text) < INT64


_ANY_QUARANTINED_SQL = "SELECT EXISTS (SELECT 1 FROM cost_quarantine)"
_RESOLVE_SQL = (
    "DELETE FROM cost_quarantine WHERE cost_id IN (SELECT value FROM json_each(?)) "
    "AND coalesce(account, '') = ?"
)
# An entry read in this run is the list's own word too: a valid twin (same ID, same run) does
# not make it vanish.
_NOT_THIS_RUN = " AND (seen_run IS NULL OR seen_run != ?)"


def resolve(
    conn: Connection,
    cost_ids: Sequence[int],
    run_id: str | None = None,
    account: str | None = None,
) -> int:
    """Drop ``account``'s quarantine entries of ``cost_ids`` (they now validate); with
    ``run_id``, only those not read again in that run (a bad copy still on the list stays)."""
    if not cost_ids:
        return 0
    if not conn.exec_driver_sql(_ANY_QUARANTINED_SQL).scalar():
        return 0  # the usual case: nothing quarantined, no 100-key DELETE per page
    keys = json.dumps([str(i) for i in cost_ids])  # quarantine keys are text
    if run_id is None:
        return int(conn.exec_driver_sql(_RESOLVE_SQL, (keys, account or "")).rowcount or 0)
    done = conn.exec_driver_sql(_RESOLVE_SQL + _NOT_THIS_RUN, (keys, account or "", run_id))
    return int(done.rowcount or 0)

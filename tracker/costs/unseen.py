"""Costs a complete walk did not read: marked not seen (never deleted), and quarantine entries
not read again dropped. Only a complete walk may do this (docs/costs.md).

The costs a run read are not marked on the costs themselves (that rewrote every cost on every
pull): they are the ranges the run recorded (``tracker.costs.walked``), and "not seen" is the
difference, computed once at the end of the walk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete

from tracker.costs import walked
from tracker.costs.tables import table

__all__ = ["PULL_NAME", "FinishedPull", "mark_unseen", "pull_name"]

PULL_NAME = "costs"
"""The ``pull_state`` row of the additional-costs pull (the implicit account's)."""

# One account's costs (coalesce: the implicit account's are NULL, compared as '').
_SEEN_IDS_SQL = (
    "SELECT id FROM cost WHERE seen_in_last_pull = TRUE AND coalesce(account, '') = ? ORDER BY id"
)
_MARK_SQL = (
    "UPDATE cost SET seen_in_last_pull = FALSE "
    "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))"
)
_CHUNK = 10_000  # ids per UPDATE: one JSON text of ~100 KB


def pull_name(account: str | None) -> str:
    """The ``pull_state`` row of an account's costs pull (None: the implicit account)."""
    return PULL_NAME if account is None else f"{PULL_NAME}:{account}"


@dataclass(frozen=True)
class FinishedPull:
    """What closing a run did: costs newly marked not seen, quarantine entries dropped."""

    marked_not_seen: int = 0
    quarantine_cleared: int = 0


def mark_unseen(
    conn: Connection, run_id: str, also_read: Iterable[int] = (), account: str | None = None
) -> FinishedPull:
    """Mark what run ``run_id`` did not read (what it recorded, plus ``also_read``: IDs read
    since its last checkpoint), in the caller's transaction. Only ``account``'s costs and
    quarantine entries (None: the implicit account's): one account's walk says nothing of
    another's list."""
    mine = account or ""
    ranges = walked.merge([*walked.read(conn, run_id), *walked.to_ranges(also_read)])
    seen = (ident for (ident,) in conn.exec_driver_sql(_SEEN_IDS_SQL, (mine,)))
    unread = list(walked.outside(seen, ranges))
    for at in range(0, len(unread), _CHUNK):
        conn.exec_driver_sql(_MARK_SQL, (json.dumps(unread[at : at + _CHUNK]),))
    from tracker.accounts import of_account
    from tracker.sidetables import CostQuarantine

    quarantine = table(CostQuarantine)
    cleared = conn.execute(
        delete(quarantine).where(
            (quarantine.c.seen_run.is_(None)) | (quarantine.c.seen_run != run_id),
            of_account(account, quarantine.c.account),
        )
    ).rowcount
    return FinishedPull(marked_not_seen=len(unread), quarantine_cleared=cleared)

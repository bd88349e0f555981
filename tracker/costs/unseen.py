"""Costs a complete walk did not read: marked not seen (never deleted), and quarantine entries
not read again dropped. Only a complete walk may do this (docs/costs.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, update

from tracker.costs.tables import table
from tracker.tables import Cost, CostQuarantine

__all__ = ["PULL_NAME", "FinishedPull", "mark_unseen"]

PULL_NAME = "costs"
"""The ``pull_state`` row of the additional-costs pull."""


@dataclass(frozen=True)
class FinishedPull:
    """What closing a run did: costs newly marked not seen, quarantine entries dropped."""

    marked_not_seen: int = 0
    quarantine_cleared: int = 0


def mark_unseen(conn: Connection, run_id: str) -> FinishedPull:
    """Mark what run ``run_id`` did not read, in the caller's transaction."""
    costs, quarantine = table(Cost), table(CostQuarantine)
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

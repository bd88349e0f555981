"""The cost store: the narrow interface the costs pull writes to (``store.costs``).

Each method is one transaction. A page that changes something is stored together with the
pull's checkpoint and the IDs read since the last one, so a pull killed anywhere resumes
after the last stored page. A page that changes nothing writes nothing: its checkpoint and
IDs wait in memory for the next page that writes, or for at most
:data:`UNCHANGED_PAGES_PER_CHECKPOINT` pages, so a killed pull reads at most that many
unchanged pages again (docs/costs.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, update

from tracker import pullruns
from tracker.costs import walked
from tracker.costs.tables import table
from tracker.costs.unseen import FinishedPull, mark_unseen, pull_name
from tracker.db import Database
from tracker.pullruns import PullStart

# The write path (validated input models, the upsert, the quarantine) is imported by the
# methods that write: ``tracker status`` reads the counts without loading it (issue 15).
# The reads' queries and models too: ``counts`` (status) needs neither.
if TYPE_CHECKING:
    from tracker.costs.counts import CostCounts
    from tracker.costs.inputs import CostIn, QuarantineIn
    from tracker.costs.treatment import CostTally
    from tracker.costs.upsert import StoredPage
    from tracker.costs.views import CostView, PullStateView, QuarantineView

__all__ = ["UNCHANGED_PAGES_PER_CHECKPOINT", "CostStore"]

UNCHANGED_PAGES_PER_CHECKPOINT = 20
"""Pages that change nothing read before their checkpoint is written anyway: one small write
per 20 pages (2000 costs at 100 a page), and a killed pull reads at most that many again."""

# A mark that moves when the transaction writes a row: SQLite counts the rows changed on the
# connection; PostgreSQL assigns the transaction an id at its first write (the write lock is
# an advisory lock, which assigns none), so NULL until then. Compared before and after a page.
_CHANGES_SQL = {
    "sqlite": "SELECT total_changes()",
    "postgresql": "SELECT CAST(pg_current_xact_id_if_assigned() AS TEXT)",
}


@dataclass
class _Pending:
    """Pages of run ``run_id`` read since its last written checkpoint (they changed nothing)."""

    run_id: str
    name: str
    ids: list[int] = field(default_factory=list)
    pages: int = 0
    checkpoint: tuple[dict[str, Any], int, int] | None = None
    """The latest page's checkpoint, pages and items, not yet written."""

    def write(self, conn: Connection) -> None:
        """Write the checkpoint and the IDs read (StateError when the run was superseded)."""
        if self.checkpoint is not None:
            pullruns.advance(conn, self.name, self.run_id, *self.checkpoint)
        walked.record(conn, self.run_id, self.ids)


class CostStore:
    """Pulled additional costs, their quarantine and the pull's checkpoint.

    ``account`` (fleet mode; None: the implicit account) is whose pull writes: its own pull
    row (``costs:NAME``), its costs marked "not seen" and linked to its trips only, another
    account's costs left alone. A named account's store also reads its own costs only; the
    implicit account's reads the whole store, as the store's trips do.
    """

    def __init__(self, db: Database, account: str | None = None) -> None:
        self._db = db
        self._account = account
        self._name = pull_name(account)
        self._pending: _Pending | None = None

    # ------------------------------------------------------------------ the pull's run
    def begin_run(self, *, name: str | None = None, fresh: bool = False) -> PullStart:
        """Resume the interrupted run of pull ``name`` if there is one, else start a new run
        (``fresh``: discard any checkpoint, e.g. one written under other paging settings)."""
        self._pending = None
        with self._db.write() as s:
            start = pullruns.begin(s, name or self._name, self._db.now(), fresh=fresh)
            if not start.resumed:
                walked.clear(s.connection(), start.run_id, others=True)
            return start

    def store_page(
        self,
        costs: Sequence[CostIn],
        rejects: Sequence[QuarantineIn],
        *,
        run_id: str,
        checkpoint: dict[str, Any],
        pages: int,
        items: int,
        link_tolerance: timedelta,
        name: str | None = None,
    ) -> StoredPage:
        """Store one page and, if it changed anything (or after
        :data:`UNCHANGED_PAGES_PER_CHECKPOINT` pages that did not), its checkpoint and the IDs
        read since the last checkpoint, in one transaction.

        A cost whose ``LastUpdated`` is from the future is quarantined instead
        (``result.refused``); a quarantine entry read in this run is not cleared by a valid
        copy of the same ID read in the same run (``result.repeated`` lists such IDs).

        Raises StateError when ``run_id`` is no longer the pull's current run (another process
        restarted it) and the page writes: nothing is written then.
        """
        from tracker.costs import quarantine
        from tracker.costs.future import split_future
        from tracker.costs.upsert import repeated_ids, store_costs

        now = self._db.now()
        kept, refused = split_future(costs, now)
        all_rejects = [*rejects, *refused]
        name, account = name or self._name, self._account
        pending = self._pending_for(run_id, name)
        with self._db.write() as s:
            conn = s.connection()
            changes = _CHANGES_SQL[conn.dialect.name]
            before = conn.exec_driver_sql(changes).scalar()
            result = store_costs(conn, kept, run_id, now, link_tolerance, account)
            result.quarantined = quarantine.quarantine(conn, all_rejects, run_id, now, account)
            result.resolved = quarantine.resolve(conn, [c.id for c in kept], run_id, account)
            result.repeated = repeated_ids(costs, rejects)
            result.refused = refused
            changed = conn.exec_driver_sql(changes).scalar() != before
            ids = [*(c.id for c in kept), *quarantine.read_ids(all_rejects)]
            due = _Pending(
                run_id, name, [*pending.ids, *ids], pending.pages + 1, (checkpoint, pages, items)
            )
            if changed or due.pages >= UNCHANGED_PAGES_PER_CHECKPOINT:
                due.write(conn)
                due = _Pending(run_id, name)
        self._pending = due  # only once the transaction is committed
        return result

    def save_progress(self, *, run_id: str, name: str | None = None) -> None:
        """Write the checkpoint and IDs of the pages read since the last written checkpoint
        (a pull stopping early calls this, so the next one resumes after its last page).

        Raises StateError when ``run_id`` is no longer the pull's current run."""
        pending = self._pending
        if pending is None or pending.run_id != run_id or pending.checkpoint is None:
            return
        with self._db.write() as s:
            pending.write(s.connection())
        self._pending = _Pending(run_id, name or self._name)

    def _pending_for(self, run_id: str, name: str) -> _Pending:
        pending = self._pending
        if pending is None or pending.run_id != run_id or pending.name != name:
            return _Pending(run_id, name)
        return pending

    def finish_run(
        self,
        *,
        run_id: str,
        complete: bool,
        stop_reason: str | None,
        name: str | None = None,
    ) -> FinishedPull:
        """Close run ``run_id``; only a complete walk marks unread costs as not seen."""
        name = name or self._name
        pending = self._pending_for(run_id, name)
        with self._db.write() as s:
            now = self._db.now()
            pullruns.finish(s, name, run_id, now, complete=complete, stop_reason=stop_reason)
            conn = s.connection()
            done = (
                mark_unseen(conn, run_id, pending.ids, self._account)
                if complete
                else FinishedPull()
            )
            walked.clear(conn, run_id)
        self._pending = None
        return done

    # ------------------------------------------------------------------ single items
    def store_cost(self, cost: CostIn, *, link_tolerance: timedelta) -> StoredPage:
        """Store one cost read outside a pull (a refresh): same upsert and link rules.

        Its "seen" bookkeeping is left to the pulls; a quarantine entry for it is resolved. A
        ``LastUpdated`` from the future quarantines it instead (``result.refused``).
        """
        from tracker.costs import quarantine
        from tracker.costs.future import split_future
        from tracker.costs.upsert import StoredPage, store_costs

        now = self._db.now()
        kept, refused = split_future([cost], now)
        account = self._account
        with self._db.write() as s:
            conn = s.connection()
            if refused:
                result = StoredPage(refused=refused)
                result.quarantined = quarantine.quarantine(conn, refused, None, now, account)
                return result
            result = store_costs(conn, kept, None, now, link_tolerance, account)
            result.resolved = quarantine.resolve(conn, [cost.id], None, account)
            return result

    def store_rejects(self, rejects: Sequence[QuarantineIn]) -> int:
        """Quarantine items read outside a pull; returns how many."""
        from tracker.costs import quarantine

        with self._db.write() as s:
            return quarantine.quarantine(
                s.connection(), rejects, None, self._db.now(), self._account
            )

    def mark_gone(self, cost_id: int) -> bool:
        """Record that the platform no longer has this cost (kept, marked not seen); only
        this account's cost."""
        from tracker.accounts import of_account
        from tracker.sidetables import Cost

        costs = table(Cost)
        mine = of_account(self._account, costs.c.account)
        with self._db.write() as s:
            done = s.connection().execute(
                update(costs).where(costs.c.id == cost_id, mine).values(seen_in_last_pull=False)
            )
            return bool(done.rowcount)

    # ------------------------------------------------------------------ reads
    def get(self, cost_id: int | str, *, treatments: Mapping[int, str] | None = None) -> CostView:
        """One stored cost, by its ID or a unique prefix of its digits (4+ digits);
        CostNotFoundError if there is none. ``treatments``: configured tax treatments by cost
        type id (they win over the labels)."""
        from tracker.costs import queries

        with self._db.read() as s:
            return queries.get_cost(s, cost_id, treatments=treatments, account=self._account)

    def quarantine(self) -> list[QuarantineView]:
        """Quarantined items, most recently seen first."""
        from tracker.costs import queries

        with self._db.read() as s:
            return queries.list_quarantine(s, account=self._account)

    def pull_status(self, *, name: str | None = None) -> PullStateView | None:
        """The pull's bookkeeping row (this account's), or None before the first pull."""
        from tracker.costs import queries

        with self._db.read() as s:
            return queries.pull_status(s, name=name or self._name)

    def counts(self, *, name: str | None = None) -> CostCounts:
        """Counts per link kind, not seen and quarantined, with the pull's state."""
        from tracker.costs.counts import cost_counts

        with self._db.read() as s:
            return cost_counts(s.connection(), name or self._name, account=self._account)

    def list(
        self, *, trip_id: str | None = None, treatments: Mapping[int, str] | None = None
    ) -> list[CostView]:
        """Stored costs, latest start first; ``trip_id`` (or a unique prefix) keeps the
        costs linked to that trip. ``treatments``: as for :meth:`get`."""
        from tracker.costs import queries

        with self._db.read() as s:
            return queries.list_costs(
                s, trip_id=trip_id, treatments=treatments, account=self._account
            )

    def tally(self, *, treatments: Mapping[int, str] | None = None) -> CostTally:
        """The deductible total (only deductible costs linked to business trips, by
        currency), with every cost counted or not and why (docs/costs.md)."""
        from tracker.costs import queries

        with self._db.read() as s:
            return queries.cost_tally(s, treatments=treatments, account=self._account)

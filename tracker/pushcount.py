"""How many requests the next push would send, counted in SQL (dry runs).

A push claims due entries in ``seq`` order, ``batch_size`` at a time (``tracker.claims``),
and sends per claimed batch: one reconcile query when it holds in-doubt creates, one
``DELETE`` per delete the server may have (a Tight id, or in doubt), and one save ``POST``
when it holds any save. The count below groups the due entries the same way, so a backlog
of any size is counted exactly without reading it into memory. On SQLite the counts kept by
triggers (migration 0025, :func:`from_tally`) answer first, from a few rows, whenever they
determine the count; the SQL counts otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "BLOCKED_SQL",
    "END_OF_TIME",
    "PENDING_RECOUNT_SQL",
    "PENDING_TALLY_SQL",
    "PUSH_COUNT_SQL",
    "PUSH_TOTALS_SQL",
    "WAITING_SQL",
    "PushCount",
    "from_tally",
    "from_totals",
]

END_OF_TIME = "9999-12-31T23:59:59.999999Z"
"""After every stored instant: with it every waiting retry counts as due (a sync by hand)."""

# journal_due (migrations 0007, 0021) is what a claim may take; its remote_id and account
# are the trip's. The in-doubt total of the tally is the store's (an account's run may then
# take the exact count: still right). Conditions are counted with CASE: PostgreSQL has no
# sum() or max() of a boolean (SQLite's booleans are integers).
PUSH_COUNT_SQL = """
WITH due AS (
    SELECT d.op, d.remote_id, j.in_doubt,
           (row_number() OVER (ORDER BY d.seq) - 1) / :size AS batch
    FROM journal_due AS d JOIN journal AS j ON j.seq = d.seq
    WHERE (d.next_attempt_at IS NULL OR d.next_attempt_at <= :due)
      AND coalesce(d.account, '') = :account
), batches AS (
    SELECT count(*) AS entries,
           sum(CASE WHEN op = 'save' AND remote_id IS NULL THEN 1 ELSE 0 END) AS creates,
           sum(CASE WHEN op = 'save' AND remote_id IS NOT NULL THEN 1 ELSE 0 END) AS updates,
           sum(CASE WHEN op = 'delete' THEN 1 ELSE 0 END) AS deletes,
           sum(CASE WHEN op = 'delete' AND (remote_id IS NOT NULL OR in_doubt) THEN 1 ELSE 0 END)
               AS delete_requests,
           max(CASE WHEN op = 'save' THEN 1 ELSE 0 END) AS save_request,
           max(CASE WHEN in_doubt AND remote_id IS NULL THEN 1 ELSE 0 END) AS reconcile
    FROM due GROUP BY batch
)
SELECT count(*), coalesce(sum(entries), 0), coalesce(sum(creates), 0),
       coalesce(sum(updates), 0), coalesce(sum(deletes), 0),
       coalesce(sum(save_request), 0), coalesce(sum(delete_requests), 0),
       coalesce(sum(reconcile), 0)
FROM batches
"""


# The totals of the same due entries in one pass, without numbering them into batches or
# reading their journal rows again (the common backlog costs half of PUSH_COUNT_SQL): enough
# whenever every due entry is a save and none is in doubt (:func:`from_totals`). In doubt
# comes from the tally (tracker.tally: pending or in flight, kept by triggers), as a due
# entry is pending.
PUSH_TOTALS_SQL = """
SELECT count(*),
       coalesce(sum(CASE WHEN op = 'save' AND remote_id IS NULL THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN op = 'save' AND remote_id IS NOT NULL THEN 1 ELSE 0 END), 0),
       (SELECT coalesce(sum(n), 0) FROM tally WHERE key = 'journal:in_doubt')
FROM journal_due
WHERE (next_attempt_at IS NULL OR next_attempt_at <= :due) AND coalesce(account, '') = :account
"""


# SQLite (migration 0025): the pending entries by op, kind and account, and the trips with an
# open entry, kept by triggers; with the journal's own counts (0012).
PENDING_TALLY_SQL = """
SELECT key, n FROM tally
WHERE key LIKE 'pending:%' OR key IN ('journal:pending', 'journal:in_flight',
                                       'journal:in_doubt', 'journal:open_trips')
"""
PENDING_RECOUNT_SQL = """
SELECT 'pending:' || j.op || ':' || CASE WHEN t.remote_id IS NULL THEN 'new' ELSE 'known' END
       || ':' || coalesce(t.account, ''), count(*)
FROM journal AS j JOIN trip AS t ON t.id = j.trip_id WHERE j.state = 'pending' GROUP BY 1
UNION ALL
SELECT 'journal:open_trips', count(DISTINCT trip_id) FROM journal
WHERE state IN ('pending', 'in_flight')
"""
"""The same counts from the rows themselves (the tests compare them after every test)."""

# The pending entries of the account's trips that are recording or held in a conflict (few:
# the partial index ix_trip_unfinished, the conflict table), by op and kind. When no entry
# waits behind another of its trip, these are the only pending entries not due.
BLOCKED_SQL = """
SELECT j.op, CASE WHEN t.remote_id IS NULL THEN 'new' ELSE 'known' END, count(*)
FROM trip AS t JOIN journal AS j ON j.trip_id = t.id AND +j.state = 'pending'
WHERE t.id IN (SELECT id FROM trip WHERE status <> 'complete'
               UNION SELECT trip_id FROM conflict)
  AND coalesce(t.account, '') = :account
GROUP BY 1, 2
"""
# Whether a pending entry waits for its retry after :due (an index seek).
WAITING_SQL = "SELECT 1 FROM journal WHERE state = 'pending' AND next_attempt_at > :due LIMIT 1"


def from_tally(
    tally: Mapping[str, int],
    blocked: Iterable[tuple[str, str, int]],
    account: str,
    batch_size: int,
) -> PushCount | None:
    """The push count from the kept counts (:data:`PENDING_TALLY_SQL`) and the blocked
    entries (:data:`BLOCKED_SQL`), when they determine it exactly: no entry waits behind
    another of its trip (as many trips with an open entry as open entries), none is in
    doubt, and no delete is due. None otherwise: count with the SQL then. The caller also
    makes sure no entry waits for a retry (:data:`WAITING_SQL`), or counts them due."""
    open_entries = tally.get("journal:pending", 0) + tally.get("journal:in_flight", 0)
    if tally.get("journal:in_doubt", 0) or open_entries != tally.get("journal:open_trips", 0):
        return None
    due = {
        (op, kind): tally.get(f"pending:{op}:{kind}:{account}", 0)
        for op in ("save", "delete")
        for kind in ("new", "known")
    }
    for op, kind, n in blocked:
        due[(op, kind)] = due.get((op, kind), 0) - n
    if due[("delete", "new")] or due[("delete", "known")] or set(due) != _KEYS:
        return None
    creates, updates = due[("save", "new")], due[("save", "known")]
    return from_totals(creates + updates, creates, updates, 0, batch_size)


_KEYS = {(op, kind) for op in ("save", "delete") for kind in ("new", "known")}


def from_totals(
    entries: int, creates: int, updates: int, in_doubt: int, batch_size: int
) -> PushCount | None:
    """The push count from :data:`PUSH_TOTALS_SQL`'s totals when they determine it exactly:
    every due entry a save (each batch then sends one POST and nothing else) and none in
    doubt (no reconcile query). None when the batches' composition matters (a delete or an
    in-doubt entry due): count with :data:`PUSH_COUNT_SQL` then."""
    if in_doubt or creates + updates != entries or batch_size < 1:
        return None
    batches = -(-entries // batch_size)
    return PushCount(
        batches=batches,
        entries=entries,
        creates=creates,
        updates=updates,
        deletes=0,
        saves=batches,
        deletes_sent=0,
        reconciles=0,
    )


@dataclass(frozen=True)
class PushCount:
    """The next push in numbers: entries due, batches, and the requests per kind.

    ``requests`` = ``saves`` (one POST per batch holding a save) + ``deletes_sent`` (one
    DELETE each; deletes of trips never pushed cost nothing) + ``reconciles`` (one query per
    batch holding in-doubt creates; a server with many trips in their dates may need more
    pages, and an in-doubt delete not found there is not sent).
    """

    batches: int
    entries: int
    creates: int
    updates: int
    deletes: int
    saves: int
    deletes_sent: int
    reconciles: int

    @property
    def requests(self) -> int:
        """Every request of the push (token requests aside)."""
        return self.saves + self.deletes_sent + self.reconciles

    def to_json(self) -> dict[str, Any]:
        """The counts, with ``requests``."""
        return {**asdict(self), "requests": self.requests}

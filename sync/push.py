"""The push engine: journal entries to Tight's ``POST /v6/mileage`` in batches.

One run claims due entries (with a lease), reconciles the in-doubt ones, sends the rest
in batches, and applies every item's outcome in one transaction per batch. The decisions
are made by pure functions (``sync.outcome``, ``sync.mapping``, ``sync.reconcile``,
``sync.backoff``); this module only sequences I/O around them.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from sync import outcome as oc
from sync.auth import TokenSource
from sync.backoff import RetryPolicy, next_attempt_at, next_delay, parse_retry_after
from sync.budget import RequestBudget
from sync.client import NotSent, OutcomeUnknown, Reply, send
from sync.clock import Clock
from sync.errors import (
    AuthError,
    ConfigError,
    EndpointMissingError,
    ProtocolError,
    TransientRemoteError,
)
from sync.mapping import save_body
from sync.reconcile import find_remote_ids
from sync.settings import MileageSettings
from tracker.enums import EntryOp
from tracker.journal import Claimed, Outcome, Parked, Retry, Synced
from tracker.lease import LeaseHold
from tracker.outbox import OutboxTrip
from tracker.store import Tracker

log = logging.getLogger(__name__)

SAVE_PATH = "/v6/mileage"
QUERY_PATH = "/v6/mileage/query"

Progress = Callable[[str, int], None]
#: Called at named points of a push (crash tests kill the process there):
#: ``after_claim``, ``after_send`` (answer's headers in, body unread), ``after_response``,
#: ``before_commit`` (outcomes written, transaction not committed).
Hook = Callable[[str], None]


@dataclass(frozen=True)
class ParkedItem:
    """A change the server rejected, with its words."""

    trip_id: str
    error_type: str
    message: str
    param: str | None


@dataclass
class PushReport:
    """What one push run did."""

    batches: int = 0
    requests: int = 0
    synced: int = 0
    deleted: int = 0
    parked: list[ParkedItem] = field(default_factory=list)
    retried: int = 0
    in_doubt: int = 0
    reconciled_found: int = 0
    reconciled_absent: int = 0
    fenced: int = 0
    stopped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "batches": self.batches,
            "requests": self.requests,
            "synced": self.synced,
            "deleted": self.deleted,
            "parked": [p.__dict__ for p in self.parked],
            "retried": self.retried,
            "in_doubt": self.in_doubt,
            "reconciled_found": self.reconciled_found,
            "reconciled_absent": self.reconciled_absent,
            "fenced": self.fenced,
            "stopped": self.stopped,
        }


@dataclass
class _Batch:
    """Entries claimed together, with their trips and (when no reconciliation can change
    them) the request already built. ``later``: claiming was put off until the rate budget
    has room. ``requests``: how many requests sending it took."""

    claimed: list[Claimed] = field(default_factory=list)
    trips: dict[str, OutboxTrip] = field(default_factory=dict)
    plan: _Plan | None = None
    later: bool = False
    requests: int = 0

    @property
    def seqs(self) -> list[int]:
        return [c.seq for c in self.claimed]

    @property
    def by_seq(self) -> dict[int, Claimed]:
        return {c.seq: c for c in self.claimed}


@dataclass
class _Answer:
    """What the server said about a batch, not yet recorded: an outcome per entry, and the
    reconciliation of its in-doubt creates (seq -> the server's id, None if absent)."""

    claims: dict[int, Claimed] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    resolved: dict[int, str | None] = field(default_factory=dict)

    @property
    def no_progress(self) -> bool:
        """Every entry is simply to be retried later: the server refused the whole batch."""
        return bool(self.outcomes) and all(
            isinstance(o, Retry) and not o.in_doubt for o in self.outcomes
        )


@dataclass
class _Item:
    claim: Claimed
    remote_id: str | None
    body: dict[str, Any]

    @property
    def sent(self) -> oc.Sent:
        return oc.Sent(self.claim.seq, self.claim.trip_id, self.remote_id is None)


@dataclass
class _Plan:
    """A batch's saves: the items, the request body encoded once (None: encode per
    request), and the entries parked before sending (a body that cannot be built)."""

    items: list[_Item]
    invalid: list[Outcome]
    content: bytes | None = None


def _doubtful(c: Claimed) -> bool:
    """A create whose earlier send has an unknown outcome: reconciled before it is sent."""
    return c.in_doubt and c.remote_id is None


def _encode(items: list[_Item]) -> bytes:
    """The save request's body. ``allow_nan=False``: a stored NaN can never be sent as
    invalid JSON."""
    body = {"data": [i.body for i in items]}
    return json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8")


def _sendable(items: list[_Item]) -> tuple[list[_Item], list[Outcome]]:
    """Split off items whose body cannot be encoded as JSON (a NaN from legacy data): they
    are parked, so they never block the queue."""
    good: list[_Item] = []
    bad: list[Outcome] = []
    for item in items:
        try:
            json.dumps(item.body, allow_nan=False)
        except (ValueError, TypeError) as err:
            bad.append(Parked(item.claim.seq, "LOCAL_INVALID", f"cannot be sent: {err}", None))
        else:
            good.append(item)
    return good, bad


class Pusher:
    """Pushes the journal of one store to one Tight endpoint."""

    def __init__(
        self,
        store: Tracker,
        cfg: MileageSettings,
        client: httpx.Client,
        *,
        clock: Clock,
        budget: RequestBudget,
        tokens: TokenSource,
        owner: str,
        rng: random.Random | None = None,
        progress: Progress | None = None,
        hook: Hook | None = None,
        retry_waiting: bool = False,
    ) -> None:
        self._hook = hook or (lambda _point: None)
        self._retry_waiting = retry_waiting
        self._store = store
        self._cfg = cfg
        self._client = client
        self._clock = clock
        self._budget = budget
        self._tokens = tokens
        self._owner = owner
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._policy = RetryPolicy.from_settings(cfg)
        self._progress = progress or (lambda _event, _n: None)
        self._batch_size = cfg.batch_size
        self.report = PushReport()

    # ------------------------------------------------------------------ run
    def run(self, stop: threading.Event | None = None, hold: LeaseHold | None = None) -> PushReport:
        """Push until nothing is due, ``stop`` is set, or the sync lease ``hold`` (renewed
        with every claim) is lost. Raises AuthError, EndpointMissingError or ConfigError (TLS)
        after giving every claimed entry back."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-push") as sender:
            self._pipeline(sender, stop, hold)
        return self.report

    def _pipeline(
        self, sender: ThreadPoolExecutor, stop: threading.Event | None, hold: LeaseHold | None
    ) -> None:
        """Claim the next batch while the current one is on the wire: the claim (a durable
        transaction) hides behind the network wait.

        Only this thread touches the database; the sender thread only talks HTTP. Each
        answer is recorded before the next batch is sent, so a crash leaves at most one
        batch whose answer is unknown (the crash window stays one batch, as without the
        overlap); a batch claimed ahead and never sent is given back untouched."""
        batch = self._claim(stop, hold, ahead=False)
        while batch.claimed:
            if stop is not None and stop.is_set():
                self._give_back(batch)
                break
            self.report.batches += 1
            request = sender.submit(self._exchange, batch)
            try:
                upcoming = self._claim(stop, hold, ahead=True)
            except BaseException:
                self._abandon(request, batch)
                raise
            answer = self._collect(request, batch, upcoming)
            try:
                self._record(answer)
            except BaseException:
                # Answered but not recorded: as after a crash, its creates are reconciled.
                self._release_quietly(batch.seqs, upcoming.seqs)
                raise
            if answer.no_progress:
                # The server is refusing: end the run; the next one (scheduler, daemon, or
                # the user) comes back after the backoff.
                self._give_back(upcoming)
                break
            batch = self._claim(stop, hold, ahead=False) if upcoming.later else upcoming

    def _claim(
        self, stop: threading.Event | None, hold: LeaseHold | None, *, ahead: bool
    ) -> _Batch:
        """Renew ``hold`` and claim the next batch (empty: nothing due, stopped, or the lease
        was lost). Claiming ``ahead`` (while a request is out) never waits for the rate
        budget: with no free slot the batch is claimed ``later``, once the answer is in."""
        if stop is not None and stop.is_set():
            return _Batch()
        if self._budget.wait_time() > 0:
            if ahead:
                return _Batch(later=True)
            if not self._wait_for_budget(stop, hold):
                return _Batch()
        step = self._store.push_step(
            self._owner,
            limit=self._batch_size,
            lease_for=timedelta(seconds=self._cfg.lease_seconds),
            hold=hold,
            retry_waiting=self._retry_waiting,
        )
        if step.lease_lost:
            self.report.stopped = "lost the sync lease to another process"
        if not step.claimed:
            return _Batch()
        self._hook("after_claim")
        self._progress("claimed", len(step.claimed))
        plan = None
        if not any(_doubtful(c) for c in step.claimed):
            # Build the bodies now, while the previous request is out: the sender thread
            # then only sends. In-doubt creates wait for their reconciliation.
            plan = self._plan(step.claimed, step.trips, {c.seq: c.remote_id for c in step.claimed})
        return _Batch(step.claimed, step.trips, plan=plan)

    def _record(self, answer: _Answer) -> None:
        """Record a batch's answer (and its reconciliation) in one transaction."""
        self._hook("after_response")
        step = self._store.push_step(
            self._owner,
            answer.outcomes,
            answer.resolved,
            limit=0,
            lease_for=timedelta(0),
            before_commit=lambda: self._hook("before_commit"),
        )
        self._account(answer, set(step.applied))

    def _exchange(self, batch: _Batch) -> _Answer:
        """The sender thread's part: every request of one batch. Touches no database."""
        before = self.report.requests
        try:
            return self._batch(batch)
        finally:
            batch.requests = self.report.requests - before

    def _collect(self, request: Future[_Answer], batch: _Batch, upcoming: _Batch) -> _Answer:
        """The answer to ``batch``; on a refusal or a crash, give back what is claimed."""
        try:
            return request.result()
        except (AuthError, EndpointMissingError, ConfigError) as err:
            # Refused (auth, 404, TLS). Only a batch that got further than its first
            # request can have had a part stored: its creates are reconciled first.
            self._store.release(self._owner, batch.seqs, in_doubt=batch.requests > 1)
            self._give_back(upcoming)
            self.report.stopped = str(err)
            raise
        except TransientRemoteError as err:
            # A failure of the reconcile walk or similar: keep everything for later.
            doubtful = {c.seq for c in batch.claimed if c.in_doubt}
            outcomes = self._retry_together(
                batch.claimed, "TRANSIENT", str(err), doubt=doubtful.__contains__
            )
            return _Answer(batch.by_seq, outcomes)
        except BaseException:
            # Anything unexpected: never strand the claim until its lease runs out; the
            # creates may have been sent, so they are reconciled before any resend.
            self._store.release(self._owner, batch.seqs, in_doubt=True)
            self._give_back(upcoming)
            raise

    def _abandon(self, request: Future[_Answer], batch: _Batch) -> None:
        """Claiming ahead failed (storage error, interrupt) with ``batch`` on the wire: wait
        for it, then give it back in doubt (it may all be stored)."""
        wait([request])
        self._release_quietly(batch.seqs, [])

    def _release_quietly(self, sent: list[int], unsent: list[int]) -> None:
        """Give back entries on the way out of a failure: ``sent`` in doubt, ``unsent`` as
        they were. The store may be what failed: then their leases expire on their own."""
        try:
            self._store.release(self._owner, sent, in_doubt=True)
            self._store.release(self._owner, unsent, in_doubt=False)
        except Exception:
            log.warning("could not give back %d claimed entries; their leases expire", len(sent))

    def _give_back(self, batch: _Batch) -> None:
        """A batch claimed ahead and never sent: back to the queue, attempt refunded."""
        if batch.claimed:
            self._store.release(self._owner, batch.seqs, in_doubt=False)

    def _wait_for_budget(self, stop: threading.Event | None, hold: LeaseHold | None) -> bool:
        """Wait for the rate budget *before* claiming, renewing the sync lease meanwhile: a
        wait of minutes must not happen while entries are claimed or let the lease lapse.
        Sleeps in slices of at most a second so a shutdown is never held up."""
        renew_every = hold.ttl.total_seconds() / 3 if hold is not None else float("inf")
        renewed = self._clock.monotonic()
        while (wait := self._budget.wait_time()) > 0:
            if stop is not None and stop.is_set():
                return False
            self._clock.sleep(min(wait, 1.0))
            if hold is not None and self._clock.monotonic() - renewed >= renew_every:
                renewed = self._clock.monotonic()
                if not self._store.renew_lease(hold.name, hold.owner, hold.fence, hold.ttl):
                    self.report.stopped = "lost the sync lease to another process"
                    return False
        return True

    def _account(self, answer: _Answer, applied: set[int]) -> None:
        if answer.resolved:
            found = sum(1 for remote_id in answer.resolved.values() if remote_id is not None)
            self.report.reconciled_found += found
            self.report.reconciled_absent += len(answer.resolved) - found
            self._progress("reconciled", len(answer.resolved))
        for result in answer.outcomes:
            if result.seq not in applied:
                self.report.fenced += 1
                continue
            claim = answer.claims[result.seq]
            if isinstance(result, Synced):
                if claim.op == EntryOp.DELETE:
                    self.report.deleted += 1
                else:
                    self.report.synced += 1
            elif isinstance(result, Parked):
                self.report.parked.append(
                    ParkedItem(claim.trip_id, result.error_type, result.message, result.param)
                )
            else:
                self.report.retried += 1
                self.report.in_doubt += int(result.in_doubt)
        if answer.outcomes:
            self._progress("done", len(answer.outcomes))

    # ------------------------------------------------------------------ one batch
    def _batch(self, batch: _Batch) -> _Answer:
        claimed = batch.claimed
        plan = batch.plan
        resolved: dict[int, str | None] = {}
        doubtful = [c for c in claimed if _doubtful(c)]
        remote_ids = {c.seq: c.remote_id for c in claimed}
        if doubtful:
            found = self._reconcile(doubtful, batch.trips)
            for c in doubtful:
                resolved[c.seq] = remote_ids[c.seq] = found.get(c.trip_id)
            plan = None  # the ids are known only now
        if plan is None:
            plan = self._plan(claimed, batch.trips, remote_ids)
        outcomes = list(plan.invalid)
        for c in claimed:
            if c.op == EntryOp.DELETE:
                outcomes.append(self._delete(c, remote_ids[c.seq]))
        if plan.items:
            outcomes.extend(self._save(plan.items, plan.content))
        return _Answer(batch.by_seq, outcomes, resolved)

    def _plan(
        self,
        claimed: list[Claimed],
        trips: dict[str, OutboxTrip],
        remote_ids: dict[int, str | None],
    ) -> _Plan:
        """The saves of a batch: one body per entry, encoded once. Pure CPU, no I/O."""
        items: list[_Item] = []
        invalid: list[Outcome] = []
        for c in claimed:
            if c.op == EntryOp.DELETE:
                continue
            remote_id = remote_ids[c.seq]
            try:
                body = save_body(trips[c.trip_id], self._cfg, remote_id=remote_id)
            except (ValueError, TypeError) as err:
                invalid.append(Parked(c.seq, "LOCAL_INVALID", f"cannot be sent: {err}", None))
                continue
            items.append(_Item(c, remote_id, body))
        if not items:
            return _Plan(items, invalid)
        try:
            return _Plan(items, invalid, _encode(items))  # one encode in the common case
        except (ValueError, TypeError):
            items, unsendable = _sendable(items)
            return _Plan(items, invalid + unsendable)

    def _reconcile(self, doubtful: list[Claimed], trips: dict[str, OutboxTrip]) -> dict[str, str]:
        """Find in-doubt creates on the server: trip id -> the server's id, for those found
        (the others are proven absent). Recorded with the batch's answer."""
        dates = [trips[c.trip_id].date for c in doubtful]
        known = [d for d in dates if d is not None]
        span: tuple[date, date] | None = (min(known), max(known)) if known else None
        wanted = {c.trip_id for c in doubtful}
        return find_remote_ids(self._post_query, self._cfg, wanted, span)

    def _post_query(self, body: dict[str, Any]) -> Any:
        reply = self._request("POST", QUERY_PATH, body)
        if reply.status == 400 and "filter" in body and self._cfg.reconcile_date_filter:
            # The date filter is our assumption; a server that refuses it gets the full walk.
            body = {k: v for k, v in body.items() if k != "filter"}
            reply = self._request("POST", QUERY_PATH, body)
        verdict = oc.classify_response(reply.status, None, [], self._cfg.local_id_key)
        if reply.status == 200:
            return reply.body
        self._raise_for(verdict)
        raise ProtocolError(f"mileage query answered HTTP {reply.status}")

    # ------------------------------------------------------------------ deletes
    def _delete(self, c: Claimed, remote_id: str | None) -> Outcome:
        if remote_id is None:
            return Synced(c.seq, detail="never reached the server: nothing to delete")
        try:
            reply = self._with_retries("DELETE", f"{SAVE_PATH}/{remote_id}", None)
        except (NotSent, OutcomeUnknown) as err:
            return self._retry(c, "TRANSPORT", str(err))
        if reply.status == 200:
            return Synced(c.seq, detail=f"deleted {remote_id} on the server")
        if reply.status == 404:
            return Synced(c.seq, detail=f"{remote_id} was already gone")
        verdict = oc.classify_response(reply.status, reply.body, [], self._cfg.local_id_key)
        self._raise_for(verdict)
        if isinstance(verdict, oc.Split):
            return Parked(c.seq, verdict.error_type, verdict.message, verdict.param)
        retry_after = verdict.retry_after if isinstance(verdict, oc.NotProcessed) else None
        return self._retry(c, f"HTTP_{reply.status}", "delete failed", retry_after=retry_after)

    # ------------------------------------------------------------------ saves
    def _save(self, items: list[_Item], content: bytes | None = None) -> list[Outcome]:
        sents = [i.sent for i in items]
        try:
            reply = self._with_retries("POST", SAVE_PATH, content or _encode(items))
        except NotSent as err:
            return self._retry_together([i.claim for i in items], "TRANSPORT", str(err))
        except OutcomeUnknown as err:
            return self._unknown(items, str(err))
        retry_after = self._retry_after(reply)
        verdict = oc.classify_response(
            reply.status, reply.body, sents, self._cfg.local_id_key, retry_after
        )
        self._raise_for(verdict)
        if isinstance(verdict, oc.PerItem):
            return [self._item_outcome(i, v) for i, v in zip(items, verdict.verdicts, strict=True)]
        if isinstance(verdict, oc.Split | oc.Halve):
            if len(items) == 1:
                kind = verdict.error_type if isinstance(verdict, oc.Split) else "BATCH_TOO_LARGE"
                param = verdict.param if isinstance(verdict, oc.Split) else None
                return [Parked(items[0].claim.seq, kind, verdict.message, param)]
            if isinstance(verdict, oc.Halve):
                self._batch_size = max(1, len(items) // 2)
            half = len(items) // 2
            return self._save(items[:half]) + self._save(items[half:])
        if isinstance(verdict, oc.NotProcessed):
            return self._retry_together(
                [i.claim for i in items],
                f"HTTP_{verdict.status}",
                verdict.message,
                retry_after=retry_after,
            )
        assert isinstance(verdict, oc.Unknown)
        return self._unknown(items, verdict.message)

    def _unknown(self, items: list[_Item], message: str) -> list[Outcome]:
        """The server may have stored the batch: creates become in doubt (reconciled before
        any resend), updates are simply sent again later (same id, same state)."""
        log.warning("push outcome unknown for %d items: %s", len(items), message)
        creates = {i.claim.seq for i in items if i.sent.is_create}
        return self._retry_together(
            [i.claim for i in items], "OUTCOME_UNKNOWN", message, doubt=creates.__contains__
        )

    def _item_outcome(self, item: _Item, verdict: oc.ItemVerdict) -> Outcome:
        seq = item.claim.seq
        if isinstance(verdict, oc.ItemSynced):
            return Synced(seq, verdict.remote_id or item.remote_id, verdict.record)
        if isinstance(verdict, oc.ItemParked):
            return Parked(seq, verdict.error_type, verdict.message, verdict.param)
        if isinstance(verdict, oc.ItemDuplicate):
            if verdict.remote_id is not None:
                return Synced(seq, verdict.remote_id, None, detail="server already had it")
            return self._retry(item.claim, "DUPLICATE", verdict.message, in_doubt=True, now=True)
        return self._retry(
            item.claim,
            verdict.error_type,
            verdict.message,
            in_doubt=verdict.in_doubt,
            item_error=not verdict.in_doubt,
        )

    # ------------------------------------------------------------------ helpers
    def _retry(
        self,
        c: Claimed,
        error_type: str,
        message: str,
        *,
        in_doubt: bool = False,
        retry_after: float | None = None,
        now: bool = False,
        item_error: bool = False,
    ) -> Outcome:
        # Only the server's own per-item errors count toward giving up: an outage, however
        # long, never parks anything (the daemon never gives up).
        if item_error and not in_doubt and c.attempts >= self._cfg.max_attempts:
            return Parked(
                c.seq,
                "GAVE_UP",
                f"failed {c.attempts} times; last error {error_type}: {message}",
                None,
            )
        wall = self._clock.wall()
        at = (
            wall if now else next_attempt_at(self._policy, c.attempts, wall, retry_after, self._rng)
        )
        return Retry(c.seq, at, error_type, message, in_doubt=in_doubt)

    def _retry_together(
        self,
        claims: Sequence[Claimed],
        error_type: str,
        message: str,
        *,
        retry_after: float | None = None,
        doubt: Callable[[int], bool] = lambda _seq: False,
    ) -> list[Outcome]:
        """Retries for the entries of one failed request, all due at the same time (one
        jitter draw): they come back as one batch, not one request each as their separate
        draws fall due."""
        if not claims:
            return []
        attempts = max(c.attempts for c in claims)
        at = next_attempt_at(self._policy, attempts, self._clock.wall(), retry_after, self._rng)
        return [Retry(c.seq, at, error_type, message, in_doubt=doubt(c.seq)) for c in claims]

    def _raise_for(self, verdict: oc.BatchVerdict) -> None:
        if isinstance(verdict, oc.AuthFailure):
            if verdict.kind == "forbidden":
                raise AuthError(
                    f"Tight refused access (403: {verdict.message}); check the token's scope"
                )
            raise AuthError(
                f"Tight refused the token ({verdict.message}); set a new TRACKER_MILEAGE_TOKEN "
                "or configure client credentials; every change stays queued"
            )
        if isinstance(verdict, oc.EndpointMissing):
            raise EndpointMissingError(
                f"Tight answered 404 for the mileage endpoint ({verdict.message}); "
                "check TRACKER_MILEAGE_URL"
            )

    def _retry_after(self, reply: Reply) -> float | None:
        parsed = parse_retry_after(reply.headers.get("retry-after"), self._clock.wall())
        if parsed is not None and parsed.capped:
            log.warning(
                "server asked to wait longer than %.0f s; waiting that long", parsed.seconds
            )
        return None if parsed is None else parsed.seconds

    def _with_retries(self, method: str, path: str, body: Any) -> Reply:
        """Send; retry in this run what certainly was not processed (refused connection,
        429, 503) with backoff, honouring Retry-After. Other failures are the caller's."""
        started = self._clock.monotonic()
        budget_s = self._cfg.lease_seconds / 2  # never outlive the entries' lease
        attempt = 0
        while True:
            try:
                reply = self._request(method, path, body)
            except NotSent:
                if not self._may_retry(attempt, started, budget_s, None):
                    raise
            else:
                if reply.status not in (429, 503):
                    return reply
                retry_after = self._retry_after(reply)
                if not self._may_retry(attempt, started, budget_s, retry_after):
                    return reply
            attempt += 1

    def _may_retry(
        self, attempt: int, started: float, budget_s: float, retry_after: float | None
    ) -> bool:
        if attempt + 1 >= self._policy.attempts:
            return False
        delay = next_delay(self._policy, attempt, retry_after, self._rng)
        if self._clock.monotonic() - started + delay > budget_s:
            return False
        self._clock.sleep(delay)
        return True

    def _request(self, method: str, path: str, body: Any) -> Reply:
        """One request under the rate budget, refreshing the token once on a 401."""
        reply = self._send_once(method, path, body)
        if reply.status == 401 and self._tokens.can_mint:
            self._tokens.mint()
            reply = self._send_once(method, path, body)
        if reply.status == 429:
            retry_after = self._retry_after(reply)
            if retry_after:
                self._budget.note_retry_after(retry_after)
        return reply

    def _send_once(self, method: str, path: str, body: Any) -> Reply:
        self._budget.acquire()
        self.report.requests += 1
        return send(
            self._client,
            method,
            path,
            clock=self._clock,
            deadline=self._cfg.deadline,
            json_body=None if isinstance(body, bytes) else body,
            content=body if isinstance(body, bytes) else None,
            headers={"Authorization": self._tokens.header()},
            on_headers=lambda: self._hook("after_send"),
        )

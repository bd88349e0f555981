"""The push: journal entries to Tight's ``POST /v6/mileage`` in batches.

A run claims due entries (with a lease), sends each batch on a sender thread while it claims
the next one, and records every answer in one transaction per batch before the next batch is
sent, so a crash leaves at most one batch whose answer is unknown. The decisions are made by
``sync.tight.batch`` and the pure ``sync.tight.verdicts``; this module sequences them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from datetime import timedelta

from sync.ahead import Ahead
from sync.budget import RequestBudget, spent_until
from sync.clock import Clock
from sync.deadline import Deadline
from sync.errors import AuthError, ConfigError, EndpointMissingError, TransientRemoteError
from sync.events import Listener, Progress, TripParked, TripStateChanged, notify
from sync.lease import HeldLease
from sync.tight.batch import Answer, Batch, BatchSender, Plan, doubtful
from sync.tight.fresh import FreshReads
from sync.tight.report import ParkedItem, PushReport
from tracker.enums import EntryOp, SyncState
from tracker.outbox import Claimed, Outbox, OutboxTrip
from tracker.outcomes import Parked, Retry, Synced
from tracker.rates.schedule import Schedule as RateSchedule

__all__ = ["STEP", "Hook", "Pusher"]

log = logging.getLogger(__name__)

STEP = "push"
Hook = Callable[[str], None]
"""Called at named points of a push (crash tests kill the process there): ``after_claim``,
``after_send`` (answer's headers in, body unread), ``after_response``, ``before_commit``
(answers written, transaction not committed)."""


class _ClaimsLost(Exception):
    """A batch's claims were taken over before one of its requests went (not sent)."""


class Pusher:
    """Pushes the journal of one store through one :class:`BatchSender`."""

    def __init__(
        self,
        outbox: Outbox,
        sender: BatchSender,
        lease: HeldLease,
        *,
        clock: Clock,
        budget: RequestBudget,
        deadline: Deadline,
        lease_for: timedelta,
        listener: Listener | None = None,
        hook: Hook | None = None,
        retry_waiting: bool = False,
        updates: bool | FreshReads = True,
        total: int | None = None,
        deduction: RateSchedule | None = None,
    ) -> None:
        self._outbox = outbox
        self._sender = sender
        self._lease = lease
        self._clock = clock
        self._budget = budget
        self._deadline = deadline
        self._lease_for = lease_for
        self._listener = listener
        self._hook = hook or (lambda _point: None)
        self._retry_waiting = retry_waiting
        self._updates = updates
        self._deduction = deduction
        self._total = total
        self._done = 0
        self.report = PushReport()

    @property
    def _owner(self) -> str:
        return self._lease.owner

    # ------------------------------------------------------------------ run
    def run(self, stop: threading.Event | None = None) -> PushReport:
        """Push until nothing is due, ``stop`` is set, the time budget is spent or the push
        lease is lost. Raises AuthError, EndpointMissingError or ConfigError (TLS) after
        giving every claimed entry back."""
        # Requests back to back: an answer's budget stamp is written with the next grant.
        with Ahead("tracker-push") as ahead, self._budget.coalescing():
            batch = self._claim(stop, ahead=False)
            while batch.claimed:
                if self._should_stop(stop):
                    self._give_back(batch)
                    break
                self.report.batches += 1
                on_wire = threading.Event()
                request = ahead.start(self._exchange, batch, on_wire)
                try:
                    # Claim ahead once the request's own writes (its rate grant, the claims'
                    # hold) are done: begun together, the claim's transaction (~15 ms, its
                    # bodies built inside) held them off, and the request with them.
                    on_wire.wait()
                    upcoming = self._claim(stop, ahead=True)
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
                    # The server is refusing: end the run; the next one (scheduler, daemon,
                    # or the user) comes back after the backoff.
                    self._give_back(upcoming)
                    break
                batch = self._claim(stop, ahead=False) if upcoming.later else upcoming
        return self.report

    def _should_stop(self, stop: threading.Event | None) -> bool:
        if stop is not None and stop.is_set():
            self.report.stopped = self.report.stopped or "stop requested"
            return True
        if self._deadline.expired():
            self.report.stopped = self.report.stopped or "the run's time budget is spent"
            return True
        return False

    def _claim(self, stop: threading.Event | None, *, ahead: bool) -> Batch:
        """Renew the lease and claim the next batch (empty: nothing due, stopped, out of
        time, or the lease was lost). Claiming ``ahead`` (while a request is out) never waits
        for the rate budget: with no free slot the batch is claimed ``later``."""
        if self._should_stop(stop):
            return Batch()
        if self._budget.wait_time() > 0:
            if ahead:
                return Batch(later=True)
            if not self._wait_for_budget(stop):
                return Batch()
        fresh = self._updates if isinstance(self._updates, FreshReads) else None
        planned: list[Plan] = []
        while True:
            step = self._outbox.step(
                self._owner,
                claim=self._sender.batch_size,
                lease_for=self._lease_for,
                hold=self._lease.hold,
                retry_waiting=self._retry_waiting,
                updates=fresh.allowed if fresh is not None else self._updates is True,
                sending=lambda claimed, trips: self._plan(claimed, trips, planned),
                schedule=self._deduction,
            )
            if step.lease_lost:
                self.report.stopped = "lost the push lease to another process"
                return Batch()
            self._lease.renewed()
            if step.claimed or fresh is None or not fresh.more:
                break
            if ahead:
                # Updates are read right before their batch: not while another is out.
                return Batch(later=True)
            fresh.read_next()
            if self._should_stop(stop):
                return Batch()
        if fresh is not None:
            fresh.claimed(c.trip_id for c in step.claimed)
        if not step.claimed:
            return Batch()
        self._hook("after_claim")
        batch = Batch(step.claimed, step.trips)
        batch.plan = planned[-1] if planned else None
        return batch

    def _plan(
        self, claimed: list[Claimed], trips: dict[str, OutboxTrip], planned: list[Plan]
    ) -> dict[str, str]:
        """Build the batch's bodies inside its claim, while the previous request is out (the
        sender thread then only sends), and return every save's body (creates too) for the
        store to keep until its answer is recorded: a server copy equal to it is our own
        write whose answer was lost, not someone's edit.

        A batch with in-doubt creates is built by the sender, after their reconciliation,
        but what it can send for each trip (a create, or an update once found) carries the
        same content as the body built now: that is kept too, beside what the trip sent
        before (``tracker.sentsaves``)."""
        plan = self._sender.plan(Batch(claimed, trips))
        if not any(doubtful(c) for c in claimed):
            planned.append(plan)
        return {item.claim.trip_id: item.text for item in plan.items}

    def _wait_for_budget(self, stop: threading.Event | None) -> bool:
        """Wait for the rate budget *before* claiming, renewing the push lease meanwhile: a
        wait of minutes must not happen while entries are claimed or let the lease lapse.
        Sleeps in slices of at most a second so a shutdown is never held up."""
        self._budget.flush()  # the answers' stamps are not held back over a wait
        while (waiting := self._budget.wait_time()) > 0:
            if self._should_stop(stop):
                return False
            if waiting > self._deadline.remaining():
                self.report.stopped = spent_until(self._clock, waiting)
                return False
            self._clock.sleep(min(waiting, 1.0))
            if not self._lease.keep():
                self.report.stopped = "lost the push lease to another process"
                return False
        return True

    # ------------------------------------------------------------------ one batch
    def _exchange(self, batch: Batch, on_wire: threading.Event) -> Answer:
        """The sender thread's part: every request of one batch. Its database writes: the
        request budget's, and before each request the batch's claims are extended, or it
        does not go. ``on_wire`` is set once the first request is about to go (or the
        batch ended without one)."""
        before = self._sender.requests

        def check() -> None:
            try:
                self._hold(batch)
            finally:
                on_wire.set()

        try:
            with self._sender.api.guarded(check):
                return self._sender.send(batch)
        finally:
            batch.requests = self._sender.requests - before
            on_wire.set()

    def _hold(self, batch: Batch) -> None:
        """Fleet mode: a claim's lease may run out while its worker waits (for the request
        budget, which other workers share, or a retry); another worker then owns the
        entries and may be sending them. A request sent anyway could store a trip twice:
        the claims are extended right before each request, and if any is lost the batch
        stops here."""
        known = batch.held_until or min(c.lease_expires_at for c in batch.claimed)
        held = self._outbox.hold(self._owner, batch.seqs, self._lease_for, expires=known)
        if held is None:
            raise _ClaimsLost(f"{len(batch.seqs)} claimed change(s) were taken over; not sent")
        batch.held_until = held

    def _collect(self, request: Future[Answer], batch: Batch, upcoming: Batch) -> Answer:
        """The answer to ``batch``; on a refusal or a crash, give back what is claimed."""
        try:
            return request.result()
        except _ClaimsLost as lost:
            # Ours no longer (all or some): what is still ours goes back; a batch that sent
            # an earlier request (a delete) may have had a part done: reconciled first.
            self._outbox.release(self._owner, batch.seqs, in_doubt=batch.requests > 0)
            self.report.fenced += len(batch.seqs)
            log.info("%s", lost)
            return Answer(batch.by_seq, {})
        except (AuthError, EndpointMissingError, ConfigError) as err:
            # Refused (auth, 404, TLS). Only a batch that got further than its first
            # request can have had a part stored: its creates are reconciled first.
            self._outbox.release(self._owner, batch.seqs, in_doubt=batch.requests > 1)
            self._give_back(upcoming)
            self.report.stopped = str(err)
            raise
        except TransientRemoteError as err:
            # A failure of the reconcile walk or similar: keep everything for later.
            in_doubt = {c.seq for c in batch.claimed if c.in_doubt}
            verdicts = self._sender.schedule.together(
                batch.claimed, "TRANSIENT", str(err), doubt=in_doubt
            )
            return Answer(batch.by_seq, verdicts)
        except BaseException:
            # Anything unexpected: never strand the claim until its lease runs out; the
            # creates may have been sent, so they are reconciled before any resend.
            self._outbox.release(self._owner, batch.seqs, in_doubt=True)
            self._give_back(upcoming)
            raise

    def _record(self, answer: Answer) -> None:
        """Record a batch's answer (and its reconciliation) in one transaction."""
        self._hook("after_response")
        step = self._outbox.step(
            self._owner,
            answer.verdicts,
            answer.resolved,
            before_commit=lambda: self._hook("before_commit"),
        )
        self._account(answer, set(step.recorded))

    def _abandon(self, request: Future[Answer], batch: Batch) -> None:
        """Claiming ahead failed (storage error, interrupt) with ``batch`` on the wire: wait
        for it, then give it back in doubt (it may all be stored)."""
        wait([request])
        self._release_quietly(batch.seqs, [])

    def _release_quietly(self, sent: list[int], unsent: list[int]) -> None:
        """Give back entries on the way out of a failure: ``sent`` in doubt, ``unsent`` as
        they were. The store may be what failed: then their leases expire on their own."""
        try:
            self._outbox.release(self._owner, sent, in_doubt=True)
            self._outbox.release(self._owner, unsent, in_doubt=False)
        except Exception:
            log.warning("could not give back %d claimed entries; their leases expire", len(sent))

    def _give_back(self, batch: Batch) -> None:
        """A batch claimed ahead and never sent: back to the queue, attempt refunded."""
        if batch.claimed:
            self._outbox.release(self._owner, batch.seqs, in_doubt=False)

    # ------------------------------------------------------------------ accounting
    def _account(self, answer: Answer, recorded: set[int]) -> None:
        report = self.report
        if answer.resolved:
            found = sum(1 for remote_id in answer.resolved.values() if remote_id is not None)
            report.reconciled_found += found
            report.reconciled_absent += len(answer.resolved) - found
        for seq, verdict in answer.verdicts.items():
            if seq not in recorded:
                report.fenced += 1
                continue
            claim = answer.claims[seq]
            if isinstance(verdict, Synced):
                if claim.op == EntryOp.DELETE and claim.remote_id is None and not claim.in_doubt:
                    report.deleted_locally += 1  # never reached Tight: nothing was sent
                elif claim.op == EntryOp.DELETE:
                    report.deleted += 1
                else:
                    report.synced += 1
                remote = verdict.remote_id or answer.resolved.get(seq) or claim.remote_id
                self._tell(TripStateChanged(claim.trip_id, SyncState.SYNCED, remote))
            elif isinstance(verdict, Parked):
                item = ParkedItem(claim.trip_id, verdict.error_type, verdict.message, verdict.param)
                report.parked.append(item)
                self._tell(
                    TripParked(claim.trip_id, seq, item.error_type, item.message, item.param)
                )
            else:
                assert isinstance(verdict, Retry)
                report.retried += 1
                report.in_doubt += int(verdict.in_doubt)
                report.retry_reason = verdict.message
                state = SyncState.IN_DOUBT if verdict.in_doubt else SyncState.PENDING
                self._tell(TripStateChanged(claim.trip_id, state, claim.remote_id))
        self._done += len(answer.verdicts)
        self._tell(Progress(STEP, self._done, self._total, "trips"))

    def _tell(self, event: Progress | TripStateChanged | TripParked) -> None:
        notify(self._listener, event)

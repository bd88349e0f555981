"""One claimed batch on the wire: reconcile its in-doubt creates, send its deletes and saves,
and turn every answer into a verdict with its retry time.

Runs on the push's sender thread and touches no database: the verdicts are recorded by the
caller. The classification itself is pure (``sync.tight.verdicts``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sync.clock import Clock
from sync.http.failures import NotSent, OutcomeUnknown
from sync.http.retry import RetryPolicy, next_attempt_at
from sync.settings import MileageSettings
from sync.tight import verdicts as vd
from sync.tight.api import SAVE_PATH, TightApi, raise_for, record_path
from sync.tight.canonical import Canon, UnreadableRecordError, canonical
from sync.tight.mapping import save_body
from sync.tight.reconcile import find_remote_ids
from tracker.enums import EntryOp
from tracker.outbox import Claimed, OutboxTrip
from tracker.outcomes import Parked, Retry, Synced, Verdict

__all__ = ["Answer", "Batch", "BatchSender", "Plan", "Schedule"]

log = logging.getLogger(__name__)


@dataclass
class Item:
    """One save of a batch: its entry, the id it is sent under (None: a create), its body,
    and the body's JSON text (encoded once: the request is made of it, and the trip keeps
    it until the answer is recorded)."""

    claim: Claimed
    remote_id: str | None
    body: dict[str, Any]
    canon: Canon | None = None
    text: str = ""

    @property
    def sent(self) -> vd.Sent:
        return vd.Sent(
            self.claim.seq, self.claim.trip_id, self.remote_id is None, self.body, self.canon
        )


@dataclass
class Plan:
    """A batch's saves: the items, the request body encoded once (None: encode per
    request), and the entries parked before sending (a body that cannot be built)."""

    items: list[Item]
    invalid: dict[int, Verdict]
    content: bytes | None = None


@dataclass
class Batch:
    """Entries claimed together, with their trips and (when no reconciliation can change
    them) the request already built. ``later``: claiming was put off until the rate budget
    has room. ``requests``: how many requests sending it took. ``held_until``: when its
    claims expire, as its last hold left them (None: as claimed)."""

    claimed: list[Claimed] = field(default_factory=list)
    trips: dict[str, OutboxTrip] = field(default_factory=dict)
    plan: Plan | None = None
    later: bool = False
    requests: int = 0
    held_until: datetime | None = None

    @property
    def seqs(self) -> list[int]:
        return [c.seq for c in self.claimed]

    @property
    def by_seq(self) -> dict[int, Claimed]:
        return {c.seq: c for c in self.claimed}


@dataclass
class Answer:
    """What the server said about a batch, not yet recorded: a verdict per entry, and the
    reconciliation of its in-doubt creates (seq -> the server's id, None if absent)."""

    claims: dict[int, Claimed] = field(default_factory=dict)
    verdicts: dict[int, Verdict] = field(default_factory=dict)
    resolved: dict[int, str | None] = field(default_factory=dict)

    @property
    def no_progress(self) -> bool:
        """Every entry is simply to be retried later: the server refused the whole batch."""
        return bool(self.verdicts) and all(
            isinstance(v, Retry) and not v.in_doubt and not self.resolved.get(seq)
            for seq, v in self.verdicts.items()
        )


def doubtful(c: Claimed) -> bool:
    """A create whose earlier send has an unknown outcome: reconciled before it is sent."""
    return c.in_doubt and c.remote_id is None


def encode(items: list[Item]) -> bytes:
    """The save request's body, joined from the items' texts: the bytes
    ``json.dumps({"data": [...]}, ensure_ascii=False)`` would give."""
    return ('{"data": [' + ", ".join(i.text for i in items) + "]}").encode("utf-8")


def _text(body: dict[str, Any]) -> str:
    # allow_nan=False: a stored NaN can never be sent as invalid JSON.
    return json.dumps(body, allow_nan=False, ensure_ascii=False)


def plan_saves(
    claimed: Iterable[Claimed],
    trips: dict[str, OutboxTrip],
    remote_ids: dict[int, str | None],
    cfg: MileageSettings,
) -> Plan:
    """The saves of a batch: one body per entry, encoded once. Pure CPU, no I/O. An entry
    whose body cannot be built or encoded (a NaN from legacy data) is parked: it never
    blocks the queue."""
    items: list[Item] = []
    invalid: dict[int, Verdict] = {}
    for c in claimed:
        if c.op == EntryOp.DELETE:
            continue
        try:
            trip = trips[c.trip_id]
            body = save_body(trip, cfg, remote_id=remote_ids[c.seq], base=trip.base)
            text = _text(body)
        except (ValueError, TypeError) as err:
            invalid[c.seq] = Parked("LOCAL_INVALID", f"cannot be sent: {err}")
            continue
        items.append(Item(c, remote_ids[c.seq], body, _canon(body), text))
    return Plan(items, invalid, encode(items) if items else None)


def _canon(body: dict[str, Any]) -> Canon | None:
    # Built with the body, while the previous request is out: the answer's echo is then
    # compared with it (verdicts.last_copy) without reading the body again.
    try:
        return canonical(body)
    except UnreadableRecordError:
        return None


@dataclass(frozen=True)
class Schedule:
    """When a retry is due: the policy's backoff on the attempts so far, or the server's
    Retry-After. Only the server's own per-item errors count toward giving up (``GAVE_UP``
    after ``max_attempts``): an outage, however long, never parks anything."""

    policy: RetryPolicy
    clock: Clock
    rng: random.Random
    max_attempts: int

    def one(self, c: Claimed, verdict: Verdict) -> Verdict:
        """``verdict`` with its retry time set (or GAVE_UP)."""
        if not isinstance(verdict, Retry) or verdict.at is not None:
            return verdict
        if verdict.item_error and not verdict.in_doubt and c.attempts >= self.max_attempts:
            return Parked(
                "GAVE_UP",
                f"failed {c.attempts} times; last error {verdict.error_type}: {verdict.message}",
            )
        wall = self.clock.wall()
        if verdict.retry_after == 0:
            return dataclasses.replace(verdict, at=wall)
        at = next_attempt_at(self.policy, c.attempts, wall, verdict.retry_after, self.rng)
        return dataclasses.replace(verdict, at=at)

    def together(
        self,
        claims: Collection[Claimed],
        error_type: str,
        message: str,
        *,
        retry_after: float | None = None,
        doubt: Collection[int] = (),
    ) -> dict[int, Verdict]:
        """Retries for the entries of one failed request, all due at the same time (one
        jitter draw): they come back as one batch, not one request each as their separate
        draws fall due."""
        if not claims:
            return {}
        attempts = max(c.attempts for c in claims)
        at = next_attempt_at(self.policy, attempts, self.clock.wall(), retry_after, self.rng)
        return {c.seq: Retry(error_type, message, in_doubt=c.seq in doubt, at=at) for c in claims}


class BatchSender:
    """Sends batches through ``api`` and returns their answers (the sender thread's job)."""

    def __init__(self, api: TightApi, cfg: MileageSettings, schedule: Schedule) -> None:
        self._api = api
        self._cfg = cfg
        self.schedule = schedule
        self.batch_size = cfg.batch_size

    @property
    def requests(self) -> int:
        """Requests sent so far (token requests excluded)."""
        return self._api.requests

    @property
    def api(self) -> TightApi:
        """The API the batches go through."""
        return self._api

    def plan(self, batch: Batch) -> Plan:
        """The saves of ``batch`` under the ids it was claimed with."""
        return plan_saves(
            batch.claimed, batch.trips, {c.seq: c.remote_id for c in batch.claimed}, self._cfg
        )

    def send(self, batch: Batch) -> Answer:
        """Every request of one batch; the verdicts carry their retry times."""
        claimed = batch.claimed
        plan = batch.plan
        resolved: dict[int, str | None] = {}
        remote_ids = {c.seq: c.remote_id for c in claimed}
        in_doubt = [c for c in claimed if doubtful(c)]
        verdicts: dict[int, Verdict] = {}
        if in_doubt:
            copies: dict[str, dict[str, Any]] = {}
            found = self._reconcile(in_doubt, batch.trips, copies)
            for c in in_doubt:
                resolved[c.seq] = remote_ids[c.seq] = found.get(c.trip_id)
            plan = None  # the ids are known only now
            if self._cfg.two_way:
                verdicts = self._not_merged(in_doubt, batch.trips, found, copies)
                claimed = [c for c in claimed if c.seq not in verdicts]
        if plan is None:
            plan = plan_saves(claimed, batch.trips, remote_ids, self._cfg)
        verdicts.update(plan.invalid)
        for c in claimed:
            if c.op == EntryOp.DELETE:
                verdicts[c.seq] = self._delete(c, remote_ids[c.seq])
        if plan.items:
            verdicts.update(self._save(plan.items, plan.content))
        return Answer(batch.by_seq, verdicts, resolved)

    def _reconcile(
        self,
        in_doubt: list[Claimed],
        trips: dict[str, OutboxTrip],
        copies: dict[str, dict[str, Any]],
    ) -> dict[str, str]:
        """Find in-doubt creates on the server: trip id -> the server's id, for those found
        (the others are proven absent); their records go to ``copies``."""
        known = [d for d in (trips[c.trip_id].date for c in in_doubt) if d is not None]
        span: tuple[date, date] | None = (min(known), max(known)) if known else None
        wanted = {c.trip_id for c in in_doubt}
        return find_remote_ids(self._api.query, self._cfg, wanted, span, copies)

    def _not_merged(
        self,
        in_doubt: list[Claimed],
        trips: dict[str, OutboxTrip],
        found: dict[str, str],
        copies: dict[str, dict[str, Any]],
    ) -> dict[int, Verdict]:
        """In-doubt creates found on the server whose copy differs from the trip: someone
        may have edited it on Tight before we learned its id, or the trip changed here since.
        Sent now, the update would overwrite such an edit (a campaign saw it); its id is kept
        and the update waits for a run that reads and merges the copy first."""
        waiting: dict[int, Verdict] = {}
        for c in in_doubt:
            remote_id = found.get(c.trip_id)
            if remote_id is None or c.op != EntryOp.SAVE:
                continue
            try:
                ours = canonical(save_body(trips[c.trip_id], self._cfg, remote_id=remote_id))
                same = ours == canonical(copies.get(c.trip_id) or {})
            except (UnreadableRecordError, ValueError, TypeError):
                same = False
            if not same:
                retry = Retry("RECONCILED", "found on the server, changed: merged before sending")
                waiting[c.seq] = self.schedule.one(c, retry)
        return waiting

    def _delete(self, c: Claimed, remote_id: str | None) -> Verdict:
        if remote_id is None:
            return Synced(detail="never reached the server: nothing to delete")
        try:
            path = record_path(remote_id)
        except ValueError as err:
            # Stored before ids were checked: never sent, the user decides.
            return Parked("INVALID_REMOTE_ID", f"{err}; not deleted on the server", "id")
        try:
            reply = self._api.call("DELETE", path, None)
        except (NotSent, OutcomeUnknown) as err:
            return self.schedule.one(c, Retry("TRANSPORT", str(err)))
        if reply.status == 200:
            return Synced(detail=f"deleted {remote_id} on the server")
        if reply.status == 404:
            return Synced(detail=f"{remote_id} was already gone")
        verdict = vd.classify_response(
            reply.status, reply.body, [], self._cfg.local_id_key, words=reply.words
        )
        raise_for(verdict)
        if isinstance(verdict, vd.Split):
            return Parked(verdict.error_type, verdict.message, verdict.param)
        retry_after = verdict.retry_after if isinstance(verdict, vd.NotProcessed) else None
        said = getattr(verdict, "message", f"HTTP {reply.status}")
        retry = Retry(f"HTTP_{reply.status}", f"delete failed: {said}", retry_after=retry_after)
        return self.schedule.one(c, retry)

    def _save(self, items: list[Item], content: bytes | None = None) -> dict[int, Verdict]:
        claims = [i.claim for i in items]
        try:
            reply = self._api.call("POST", SAVE_PATH, content or encode(items))
        except NotSent as err:
            return self.schedule.together(claims, "TRANSPORT", str(err))
        except OutcomeUnknown as err:
            return self._unknown(items, str(err))
        retry_after = self._api.retry_after(reply)
        verdict = vd.classify_response(
            reply.status,
            reply.body,
            [i.sent for i in items],
            self._cfg.local_id_key,
            retry_after,
            words=reply.words,
        )
        raise_for(verdict)
        if isinstance(verdict, vd.PerItem):
            return {
                i.claim.seq: self.schedule.one(i.claim, v)
                for i, v in zip(items, verdict.verdicts, strict=True)
            }
        if isinstance(verdict, vd.Split | vd.Halve):
            if len(items) == 1:
                kind = verdict.error_type if isinstance(verdict, vd.Split) else "BATCH_TOO_LARGE"
                param = verdict.param if isinstance(verdict, vd.Split) else None
                return {items[0].claim.seq: Parked(kind, verdict.message, param)}
            if isinstance(verdict, vd.Halve):
                self.batch_size = max(1, len(items) // 2)
            half = len(items) // 2
            return self._save(items[:half]) | self._save(items[half:])
        if isinstance(verdict, vd.NotProcessed):
            return self.schedule.together(
                claims, f"HTTP_{verdict.status}", verdict.message, retry_after=retry_after
            )
        assert isinstance(verdict, vd.Unknown)
        return self._unknown(items, verdict.message)

    def _unknown(self, items: list[Item], message: str) -> dict[int, Verdict]:
        """The server may have stored the batch: creates become in doubt (reconciled before
        any resend), updates are simply sent again later (same id, same state)."""
        log.warning("push outcome unknown for %d items: %s", len(items), message)
        creates = {i.claim.seq for i in items if i.sent.is_create}
        return self.schedule.together(
            [i.claim for i in items], "OUTCOME_UNKNOWN", message, doubt=creates
        )

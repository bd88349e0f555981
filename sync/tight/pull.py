"""The mileage pull: what changed on Tight, merged into the local store.

A walk pages through ``POST /v6/mileage/query`` (cursor paging, sorted by date) over a
window of trip dates, merges each page's records with the local trips (``sync.tight.inbound``)
and applies the page in one transaction with its checkpoint (``store.inbox``): a walk killed
anywhere resumes after the last applied page. Only a complete walk that read every record
proves that a record of ours is gone from the server; each such record is confirmed with
``GET /v6/mileage/{id}`` before the trip is deleted here (a record whose date moved out of
the window is found that way). Before a push, a run also reads the server copy of every
trip whose update it is about to send (:meth:`MileagePull.refresh`). docs/sync-guarantees.md
("Two-way sync") holds the rules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from sync.ahead import Ahead
from sync.deadline import Deadline
from sync.errors import ProtocolError
from sync.events import ConflictFound, Listener, Progress, TripPulled, notify
from sync.http.failures import NotSent, OutcomeUnknown
from sync.settings import MileageSettings
from sync.tight.api import QUERY_PATH, TightApi, raise_for, record_path
from sync.tight.inbound import Decider
from sync.tight.verdicts import classify_response
from sync.tight.wire import QueryResponse
from tracker.decisions import Applied, Decision, LocalTrip, PageCounts, RunStep
from tracker.errors import StateError
from tracker.rates.schedule import Schedule as RateSchedule
from tracker.store import Tracker

PendingUpdate = tuple[str, str, date | None]
"""An update waiting to be pushed: (trip id, Tight id, trip date)."""

__all__ = ["PULL_NAME", "STEP", "MileagePull", "MileagePullReport"]

log = logging.getLogger(__name__)

STEP = "mileage"
PULL_NAME = "mileage"
MAX_PAGES = 100_000
MAX_LISTED = 50


@dataclass
class MileagePullReport(PageCounts):
    """What one mileage pull did (a walk, and the reads before a push): the applied pages'
    counts summed (``count``), and the walk's own figures."""

    pages: int = 0
    records: int = 0
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    requests: int = 0
    since: str | None = None
    complete: bool = False
    resumed: bool = False
    stopped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class MileagePull:
    """Reads Tight's records into the store (see the module docstring)."""

    def __init__(
        self,
        store: Tracker,
        api: TightApi,
        cfg: MileageSettings,
        decider: Decider,
        *,
        deadline: Deadline,
        listener: Listener | None = None,
        stop: threading.Event | None = None,
        deduction: RateSchedule | None = None,
    ) -> None:
        self._store = store
        self._deduction = deduction
        self._api = api
        self._cfg = cfg
        self._decider = decider
        self._deadline = deadline
        self._listener = listener
        self._stop = stop
        self._filter = cfg.reconcile_date_filter
        self.report = MileagePullReport()

    # ------------------------------------------------------------------ the full walk
    def walk(self, since: date | None) -> MileagePullReport:
        """Walk every record dated ``since`` or later (checkpointed, resumable)."""
        report = self.report
        report.since = None if since is None else since.isoformat()
        try:
            complete = self._walk_window(since, None, checkpointed=True)
        finally:
            report.requests = self._api.requests
        report.complete = complete
        if complete and not report.resumed and not self._decider.unreadable:
            self._confirm_gone(since)
        self._finish()
        return report

    # ------------------------------------------------------------------ before a push
    def refresh(self, pending: Sequence[PendingUpdate]) -> set[str]:
        """Read the server copies of the trips ``pending`` (trip id, Tight id, date) now,
        and merge them: a walk of their dates, then ``GET`` for any still missing. Returns
        the trips whose copy was read (their updates may be sent: merged with a copy this
        fresh)."""
        if not pending:
            return set()
        self._decider.read.clear()
        dates = [d for _, _, d in pending]
        known = [d for d in dates if d is not None]
        since = min(known) - timedelta(days=1) if known and len(known) == len(dates) else None
        until = max(known) + timedelta(days=1) if since is not None else None
        try:
            complete = self._walk_window(since, until, checkpointed=False)
            missing = [p for p in pending if p[1] not in self._decider.read]
            if complete and missing:
                self._read_one_by_one([trip_id for trip_id, _, _ in missing])
        finally:
            self.report.requests = self._api.requests
            self._finish()
        return {trip_id for trip_id, remote_id, _ in pending if remote_id in self._decider.read}

    # ------------------------------------------------------------------ pages
    def _walk_window(self, since: date | None, until: date | None, *, checkpointed: bool) -> bool:
        """Walk the records dated within [since, until]; True when the walk completed."""
        cursor: str | None = None
        run_id: str | None = None
        pages = items = 0
        if checkpointed:
            run = self._store.inbox.begin_run(PULL_NAME)
            run_id = run.run_id
            if run.checkpoint is not None and run.checkpoint.get("since") == self.report.since:
                cursor = run.checkpoint.get("cursor")
                self._filter = bool(run.checkpoint.get("filter", self._filter))
                pages, items = run.pages, run.items
                self.report.resumed = cursor is not None
        seen_cursors: set[str] = set()
        fetched: Future[QueryResponse] | None = None
        with Ahead("tracker-mileage-pull") as ahead:
            for _ in range(MAX_PAGES):
                if fetched is None and self._should_stop():
                    return False
                page = fetched.result() if fetched else self._page(cursor, since, until)
                fetched = None
                after = page.cursor.after if page.cursor else None
                if after is not None and after in seen_cursors:
                    raise ProtocolError("the mileage query returned an earlier cursor again")
                pages, items = pages + 1, items + len(page.data)
                step = None
                if run_id is not None:
                    filtered = self._filter
                    checkpoint = {"cursor": after, "since": self.report.since, "filter": filtered}
                    step = RunStep(PULL_NAME, run_id, checkpoint, pages, items)
                if after is not None and not self._should_stop():
                    # The next page travels while this one is merged and stored (only the
                    # worker talks HTTP; only this thread touches the database).
                    fetched = ahead.start(self._page, after, since, until)
                self._apply(page.data, step)
                if after is None:
                    if run_id is not None:
                        self._store.inbox.finish_run(PULL_NAME, run_id, complete=True)
                    return True
                seen_cursors.add(after)
                cursor = after
                if fetched is None:
                    return False  # stopped: the checkpoint resumes after this page
        return False

    def _page(self, cursor: str | None, since: date | None, until: date | None) -> QueryResponse:
        body: dict[str, Any] = {
            "cursor": cursor,
            "limit": self._cfg.query_page_size,
            "sort": {"orderBy": "DATE", "direction": "ASC"},
        }
        if self._filter and (since is not None or until is not None):
            bounds = {}
            if since is not None:
                bounds["greaterThanEqual"] = since.isoformat()
            if until is not None:
                bounds["lessThanEqual"] = until.isoformat()
            body["filter"] = {"date": bounds}
        reply = self._api.call("POST", QUERY_PATH, body)
        if reply.status == 400 and "filter" in body:
            # The date filter is our assumption: a server refusing it gets full walks.
            self._filter = False
            body.pop("filter")
            reply = self._api.call("POST", QUERY_PATH, body)
        if reply.status != 200:
            verdict = classify_response(
                reply.status, reply.body, [], self._cfg.local_id_key, words=reply.words
            )
            raise_for(verdict)
            said = getattr(verdict, "message", f"HTTP {reply.status}")
            raise ProtocolError(f"the mileage query was not answered: {said}")
        try:
            return QueryResponse.model_validate(reply.body)
        except ValidationError:
            raise ProtocolError("the mileage query answered an unexpected shape") from None

    def _apply(self, records: list[Any], step: RunStep | None) -> None:
        remote_ids, local_ids, decide = self._decider.page(records)
        try:
            applied = self._store.inbox.apply(remote_ids, local_ids, decide, step=step)
        except StateError as err:
            raise ProtocolError(f"the mileage pull was restarted elsewhere ({err})") from None
        if self._deduction is not None and applied.changed:
            # A reclassification (or any change) taken from the server can change what the
            # server should hold as the deduction of its trip and of the later ones.
            self._store.outbox.requeue_deductions(self._deduction, applied.changed)
        self.report.pages += 1
        self.report.records += len(records)
        self._tell(applied)
        notify(self._listener, Progress(STEP, self.report.records, None, "records"))

    def _tell(self, applied: Applied) -> None:
        self.report.count(applied)
        for trip_id in applied.changed:
            notify(self._listener, TripPulled(trip_id, "updated"))
        for trip_id in applied.conflicts:
            notify(self._listener, ConflictFound(trip_id))

    # ------------------------------------------------------------------ gone records
    def _confirm_gone(self, since: date | None) -> None:
        """Records of ours a complete walk did not see: confirmed one by one."""
        gone = self._store.inbox.candidates_gone(since, self._decider.seen)
        if gone:
            self._read_one_by_one(gone)

    def _read_one_by_one(self, trip_ids: list[str]) -> bool:
        """``GET /v6/mileage/{id}`` for each trip: merge what is there, treat a 404 as gone.
        True when every one was answered."""
        answered = True
        for trip_id in trip_ids:
            if self._should_stop():
                return False
            local = self._store.inbox.local([trip_id]).get(trip_id)
            if local is None or local.trip.remote_id is None:
                continue
            try:
                path = record_path(local.trip.remote_id)
            except ValueError:
                answered = False
                continue
            try:
                reply = self._api.call("GET", path, None)
            except (NotSent, OutcomeUnknown) as err:
                log.warning("could not read %s: %s", local.trip.remote_id, err)
                answered = False
                continue
            if reply.status == 404:
                self._decider.read.add(local.trip.remote_id)  # read: it is gone
                # Decided on the transaction's own read: an edit made meanwhile counts.
                applied = self._store.inbox.apply([], [trip_id], self._gone)
                self._tell(applied)
                for _ in range(applied.deleted):
                    notify(self._listener, TripPulled(trip_id, "deleted"))
                continue
            body = reply.body
            record = body.get("data") if isinstance(body, dict) else None
            if reply.status != 200 or not isinstance(record, dict):
                answered = False
                continue
            remote_ids, local_ids, decide = self._decider.page([record])
            self._tell(self._store.inbox.apply(remote_ids, local_ids, decide))
        return answered

    def _gone(
        self, _by_remote: Mapping[str, LocalTrip], by_local: Mapping[str, LocalTrip]
    ) -> list[Decision]:
        return [d for local in by_local.values() for d in self._decider.gone(local)]

    # ------------------------------------------------------------------ helpers
    def _should_stop(self) -> bool:
        if self._stop is not None and self._stop.is_set():
            self.report.stopped = "stop requested; the next pull resumes here"
            return True
        if self._deadline.expired():
            self.report.stopped = "the run's time budget is spent; the next pull resumes here"
            return True
        return False

    def _finish(self) -> None:
        decider, report = self._decider, self.report
        report.unreadable = [
            {"remote_id": u.remote_id, "reason": u.reason} for u in decider.unreadable[:MAX_LISTED]
        ]
        report.duplicates = decider.duplicates[:MAX_LISTED]
        for problem in decider.unreadable[decider.logged :]:
            log.warning("mileage record %s not merged: %s", problem.remote_id, problem.reason)
        decider.logged = len(decider.unreadable)

"""Dry run: exactly what the next push would send, with the token redacted. Changes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sync.settings import MileageSettings, Settings
from sync.tight.deduction import deduction_schedule
from sync.tight.mapping import save_body
from sync.tight.paths import QUERY_PATH, SAVE_PATH
from tracker.claims import Claimed
from tracker.enums import EntryOp
from tracker.store import Tracker

__all__ = ["REDACTED", "SHOWN_BATCHES", "preview_push", "pull_request"]

REDACTED = "Bearer ***"


SHOWN_BATCHES = 3
"""Claimed batches whose requests a dry run shows in full; the rest are counted."""


def preview_push(
    settings: Settings, store: Tracker, shown_batches: int = SHOWN_BATCHES
) -> dict[str, Any]:
    """What ``tracker sync`` would send; like it, changes waiting for a retry are included.

    ``requests``: the requests of the first ``shown_batches`` claimed batches in full
    (reconcile queries announced). ``push``: the whole push counted in SQL
    (:class:`~tracker.pushcount.PushCount`: entries due, batches, ``requests``), however
    large the backlog; ``not_shown``: how many of its requests ``requests`` leaves out.
    """
    cfg = settings.mileage
    count = store.outbox.push_count(cfg.batch_size, retry_waiting=True)
    due = store.outbox.peek(cfg.batch_size * shown_batches, retry_waiting=True)
    trips = store.outbox.trips([c.trip_id for c in due], deduction_schedule(settings))
    requests = _requests(cfg, due, trips)
    return {
        "dry_run": True,
        "requests": requests,
        "push": count.to_json(),
        "not_shown": count.requests - len(requests),
    }


def _requests(cfg: MileageSettings, due: list[Claimed], trips: dict[str, Any]) -> list[Any]:
    """The requests of the claimed batches in ``due``, batch by batch, as a push sends them
    (``sync.tight.batch``): reconcile, deletes, then one save POST."""
    requests: list[dict[str, Any]] = []
    for start in range(0, len(due), cfg.batch_size):
        requests += _batch(cfg, due[start : start + cfg.batch_size], trips)
    return requests


def _batch(cfg: MileageSettings, due: list[Claimed], trips: dict[str, Any]) -> list[Any]:
    requests: list[dict[str, Any]] = []
    headers = {"Authorization": REDACTED, "Content-Type": "application/json"}
    doubtful = [c for c in due if c.in_doubt and c.remote_id is None]
    if doubtful:
        requests.append(
            {
                "method": "POST",
                "url": cfg.url + QUERY_PATH,
                "headers": headers,
                "note": f"reconcile {len(doubtful)} in-doubt trip(s) before sending them",
                "body": None,
            }
        )
    saves: list[dict[str, Any]] = []
    unsendable: list[str] = []
    for c in due:
        if c.op == EntryOp.DELETE:
            if c.remote_id is None and not c.in_doubt:
                continue  # never pushed: nothing to send
            where = quote(c.remote_id, safe="") if c.remote_id else "<found by reconcile>"
            requests.append(
                {
                    "method": "DELETE",
                    "url": f"{cfg.url}{SAVE_PATH}/{where}",
                    "headers": headers,
                    "note": f"delete trip {c.trip_id}",
                    "body": None,
                }
            )
            continue
        try:
            saves.append(save_body(trips[c.trip_id], cfg, base=trips[c.trip_id].base))
        except ValueError as err:
            unsendable.append(f"trip {c.trip_id} would be parked: {err}")
    if unsendable:
        requests.append(
            {
                "method": "-",
                "url": "",
                "headers": {},
                "note": "; ".join(unsendable),
                "body": None,
            }
        )
    if saves:
        requests.append(
            {
                "method": "POST",
                "url": cfg.url + SAVE_PATH,
                "headers": headers,
                "note": f"save {len(saves)} trip(s)",
                "body": {"data": saves},
            }
        )
    return requests


def pull_request(
    method: str, url: str, auth: str, note: str, *, header: str = "Authorization"
) -> dict[str, Any]:
    """A dry-run entry for the first request of a pull step (never sent by a dry run)."""
    return {"method": method, "url": url, "headers": {header: auth}, "note": note, "pull": True}

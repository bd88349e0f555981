"""Dry run: exactly what the next push would send, with the token redacted. Changes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sync.settings import Settings
from sync.tight.api import QUERY_PATH, SAVE_PATH
from sync.tight.mapping import save_body
from tracker.enums import EntryOp
from tracker.store import Tracker

__all__ = ["REDACTED", "preview_push", "pull_request"]

REDACTED = "Bearer ***"


def preview_push(settings: Settings, store: Tracker, limit: int = 10_000) -> dict[str, Any]:
    """The requests ``tracker sync`` would make, batch by batch (reconcile queries are
    announced); like it, changes waiting for a retry are included."""
    cfg = settings.mileage
    due = store.outbox.peek(limit, retry_waiting=True)
    trips = store.outbox.trips([c.trip_id for c in due])
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
        saves.append(save_body(trips[c.trip_id], cfg, base=trips[c.trip_id].base))
    for start in range(0, len(saves), cfg.batch_size):
        batch = saves[start : start + cfg.batch_size]
        requests.append(
            {
                "method": "POST",
                "url": cfg.url + SAVE_PATH,
                "headers": headers,
                "note": f"save {len(batch)} trip(s)",
                "body": {"data": batch},
            }
        )
    return {"dry_run": True, "requests": requests}


def pull_request(
    method: str, url: str, auth: str, note: str, *, header: str = "Authorization"
) -> dict[str, Any]:
    """A dry-run entry for the first request of a pull step (never sent by a dry run)."""
    return {"method": method, "url": url, "headers": {header: auth}, "note": note, "pull": True}

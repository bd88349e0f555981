"""A dry run of one sync run: what it would send, in order, without sending anything.

The push's requests are played exactly (``sync.tight.preview``). A pull cannot be played
without asking the server, so each pull step shows its first request, marked
``"pull": true``; the pages after it depend on the answers. Pure composition, no I/O
beyond reading the store.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from sync.settings import Settings
from sync.tight.paths import QUERY_PATH
from sync.tight.preview import REDACTED, preview_push, pull_request
from sync.tight.window import window_start
from tracker.store import Tracker

__all__ = ["preview_run"]


def preview_run(
    settings: Settings, store: Tracker, steps: tuple[str, ...], today: date
) -> dict[str, Any]:
    """The requests of a run of ``steps`` (as ``SyncEngine`` orders them), token redacted."""
    plan: dict[str, Any] = (
        preview_push(settings, store) if "push" in steps else {"dry_run": True, "requests": []}
    )
    firsts: list[dict[str, Any]] = []
    if "costs" in steps:
        # Here, not at the top: a push's dry run never loads the costs pull's wire models.
        from sync.costs.strategies import paginator_from_settings
        from sync.costs.wire import LIST_PATH

        cfg = settings.costs
        params = urlencode(paginator_from_settings(cfg).first_params())
        firsts.append(
            pull_request(
                "GET",
                f"{cfg.url}{LIST_PATH}?{params}",
                f"{cfg.auth_scheme} ***".strip() if cfg.auth_scheme else "***",
                "first page of the costs pull; the next pages follow the answers"
                if cfg.url
                else "no costs pull: TRACKER_COSTS_URL is not set",
                header=cfg.auth_header,
            )
        )
    if "mileage" in steps:
        mileage = settings.mileage
        since = window_start(mileage.pull_since, today)
        firsts.append(
            pull_request(
                "POST",
                mileage.url + QUERY_PATH,
                REDACTED,
                f"first page of Tight's trips since {since or 'the start'}; the next "
                "pages follow the answers, merged into the local trips",
            )
        )
    plan["requests"] = firsts + plan["requests"]  # a run pulls before it pushes
    return plan

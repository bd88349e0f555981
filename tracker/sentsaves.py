"""What a trip's saves sent since their last recorded answer (``Trip.sent_record``).

A save whose answer is lost (the process died between the request and its record) may or
may not have reached the server, and a trip can be claimed again, with newer content, before
anyone learns which. So the trip keeps every distinct body sent since the last recorded
answer, not just the last one: a server copy equal to any of them is our own write, not
someone's edit. A body kept and never sent is harmless (the server cannot hold it). Bounded:
the oldest drop out first (a copy matching none of those kept is merged as anyone's edit,
which can only mean a conflict shown to the user, never an overwrite). Pure functions.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["KEEP", "sent_bodies", "with_sent"]

KEEP = 8
"""How many distinct bodies a trip keeps at most."""


def sent_bodies(stored: Any) -> list[dict[str, Any]]:
    """The bodies kept, oldest first, from the column's parsed value (a list; a single
    object as written before this list existed; None)."""
    if isinstance(stored, dict):
        return [stored]
    if isinstance(stored, list):
        return [body for body in stored if isinstance(body, dict)]
    return []


def with_sent(stored: Any, body: str) -> str:
    """The column's new JSON text once ``body`` (a save's JSON text) is about to be sent."""
    if stored is None:  # the common case (nothing unanswered): no parsing
        return f"[{body}]"
    new = json.loads(body)
    kept = [old for old in sent_bodies(stored) if old != new]
    return json.dumps([*kept, new][-KEEP:])

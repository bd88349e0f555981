"""A trip's sync story in words (``tracker sync explain``). Pure over the store's reads."""

from __future__ import annotations

from typing import Any

from tracker.store import Tracker
from tracker.views import EntryView, EventView, TripView

_STATE_WORDS = {
    "recording": "is still being recorded; it is pushed once stopped",
    "pending": "is waiting to be pushed",
    "in_flight": "is being pushed right now",
    "in_doubt": (
        "was sent but the answer was lost; it is looked up on the server (reconciled) "
        "before anything is sent again"
    ),
    "parked": "was rejected by the server and waits for you: edit it, `tracker parked retry`, "
    "or drop the change",
    "synced": "is on the server",
    "local": "was deleted before it ever reached the server: nothing to send",
    "dropped": "has a change you dropped; it is not on the server",
}


def explain_trip(store: Tracker, trip_id: str) -> dict[str, Any]:
    """Sentences (and the raw journal and events) telling what happened to a trip."""
    trip = store.trips.get(trip_id)
    entries, events = store.journal.history(trip.id)
    return {
        "trip_id": trip.id,
        "sync_state": trip.sync_state,
        "sentences": sentences(trip, entries, events),
        "journal": [e.to_json() for e in entries],
        "history": [e.to_json() for e in events],
    }


def sentences(trip: TripView, entries: list[EntryView], events: list[EventView]) -> list[str]:
    """The story, one line per fact, oldest first."""
    lines = [f"Trip {trip.id} {_STATE_WORDS.get(trip.sync_state, trip.sync_state)}."]
    if trip.remote_id:
        lines.append(f"On Tight it is {trip.remote_id}.")
    for event in events:
        when = event.at.strftime("%Y-%m-%d %H:%M:%S UTC")
        detail = f" ({event.detail})" if event.detail else ""
        change = "the trip" if event.entry_seq is None else f"change #{event.entry_seq}"
        lines.append(f"{when}: {change} {_event_words(event.event)}{detail}.")
    for entry in entries:
        if entry.state == "parked":
            where = f" on {entry.error_param}" if entry.error_param else ""
            lines.append(
                f"Change #{entry.seq} is parked: the server said {entry.error_type}{where}: "
                f"{entry.error_message}"
            )
        elif entry.state == "pending" and entry.next_attempt_at is not None:
            if entry.first_failed_at is not None and entry.last_failed_at is not None:
                # One history row per failure streak: the count and the last error are here.
                lines.append(
                    f"Change #{entry.seq} has failed since "
                    f"{entry.first_failed_at:%Y-%m-%d %H:%M:%S} UTC ({entry.attempts} attempts; "
                    f"the last at {entry.last_failed_at:%Y-%m-%d %H:%M:%S} UTC: "
                    f"{entry.error_type}: {entry.error_message})."
                )
            lines.append(
                f"Change #{entry.seq} will be tried again after "
                f"{entry.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC (attempt {entry.attempts + 1})."
            )
    return lines


def _event_words(event: str) -> str:
    return {
        "queued save": "was queued",
        "queued delete": "(a delete) was queued",
        "claimed": "was picked up by a pusher",
        "synced": "reached the server",
        "parked": "was rejected by the server",
        "retry": "failed for now",
        "reconciled": "was looked up on the server",
        "lease expired": "was given back after its pusher vanished",
        "released": "was given back",
        "requeued": "was queued again",
        "retry requested": "was queued again by you",
        "dropped by user": "was dropped by you",
        # Links of the trip's history chain (tracker.chain): changes of its record.
        "recorded": "was recorded",
        "edited": "was edited here",
        "stopped": "was stopped (the recording ended)",
        "deleted": "was deleted here",
        "chain started": "had its history chain started (schema 0018)",
    }.get(event, event)

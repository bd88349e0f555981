"""A driver's app, in miniature: record trips, sync in the background, show each trip's state
as the sync reports it, get tokens from the app's own backend, and show what the server
refused so the driver can fix it.

Run it (it starts the bundled sandbox on loopback and keeps its data in a temporary folder):

    .venv/bin/python examples/driver_app.py

The "backend" below stands for the app's own server: it holds the client secret and hands
the phone short-lived tokens, so no secret lives on the device.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from sync import (
    App,
    Credentials,
    MileageSettings,
    ScheduleSettings,
    Settings,
    SyncEvent,
    SyncFinished,
    TripParked,
    TripStateChanged,
    open_app,
)
from sync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ItemRule, Sandbox, serve


class Backend:
    """The app's own server: mints a Tight token with the client credentials it keeps."""

    def __init__(self, tight_url: str) -> None:
        self._url = tight_url + "/v6/auth/token"
        self.tokens_handed_out = 0

    def fetch_credentials(self) -> Credentials:
        answer = httpx.post(
            self._url,
            data={"grant_type": "client_credentials", "scope": "write"},
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            timeout=10,
        )
        answer.raise_for_status()
        body = answer.json()
        self.tokens_handed_out += 1
        expires = datetime.now(UTC) + timedelta(seconds=body.get("expires_in", 3600))
        return Credentials(body["access_token"], expires)


class Screen:
    """The UI: keeps each trip's state as the sync reports it. Events arrive on the sync's
    thread; a real app would hand them to its UI thread (here a lock is enough)."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.refused: dict[str, str] = {}
        self.pushes = threading.Event()
        self._lock = threading.Lock()

    def on_event(self, event: SyncEvent) -> None:
        with self._lock:
            if isinstance(event, TripStateChanged):
                self.states[event.trip_id] = str(event.state)
                self.refused.pop(event.trip_id, None)
            elif isinstance(event, TripParked):
                self.states[event.trip_id] = "parked"
                self.refused[event.trip_id] = f"{event.param}: {event.message}"
            elif isinstance(event, SyncFinished) and event.report.push is not None:
                self.pushes.set()

    def show(self, names: dict[str, str]) -> None:
        with self._lock:
            for trip_id, name in names.items():
                state = self.states.get(trip_id, "waiting")
                why = f"  ({self.refused[trip_id]})" if trip_id in self.refused else ""
                print(f"  {name:<22} {state}{why}")


def record(app: App) -> dict[str, str]:
    """Three trips: one recorded live from GPS fixes, two entered by hand."""
    store = app.tracker
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    live = store.trips.start({"start_time": start, "classification": "business"})
    fixes = [
        (start + timedelta(seconds=10 * i), 52.52 + i * 3e-4, 13.40, 5.0, 12.0) for i in range(60)
    ]
    store.trips.add_points(live.id, fixes)
    store.trips.stop(live.id, end_time=start + timedelta(minutes=10))
    visit = store.trips.add(
        {"date": start.date(), "distance": "18.4", "description": "Client visit"}
    )
    fair = store.trips.add(
        {"date": start.date(), "distance": "61", "description": "Trade fair", "notes": "TBD"}
    )
    return {live.id: "GPS trip to the office", visit.id: "client visit", fair.id: "trade fair"}


def main() -> int:
    sandbox = Sandbox()
    # The server refuses notes that say "TBD" (a stand-in for any validation the server does).
    sandbox.add_fault(
        ItemRule(
            predicate=lambda item: item.get("notes") == "TBD",
            param="notes",
            message="notes must say what the trip was for",
        )
    )
    with serve(sandbox) as server, tempfile.TemporaryDirectory(prefix="driver-app-") as home:
        backend = Backend(server.tight_url)
        screen = Screen()
        settings = Settings(
            home=Path(home),
            timezone="Europe/Berlin",
            mileage=MileageSettings(url=server.tight_url),  # no token, no secret here
            schedule=ScheduleSettings(push_interval=1.0, jitter=0, soon_delay=0.1),
        )
        with open_app(
            settings, credentials=backend.fetch_credentials, listener=screen.on_event
        ) as app:
            names = record(app)
            app.service.start()  # background sync: the first push starts at once
            if not screen.pushes.wait(15):
                print("the background sync did not run", file=sys.stderr)
                return 1
            print("after the background sync:")
            screen.show(names)

            print("refused by the server, waiting for the driver:")
            for change in app.tracker.parked.list():
                print(f"  change #{change.seq}: {change.error_param}: {change.error_message}")
            (refused,) = app.tracker.parked.list()
            app.tracker.trips.edit(refused.trip_id, {"notes": "Booth set-up at the fair"})

            screen.pushes.clear()
            app.service.sync_soon()  # the edit re-queued it; sync it now
            if not screen.pushes.wait(15):
                print("the background sync did not run again", file=sys.stderr)
                return 1
            print("after the fix:")
            screen.show(names)
            counts = app.tracker.journal.counts()
        print(f"tokens the backend handed out: {backend.tokens_handed_out}")
        print(f"pending {counts.pending}, parked {counts.parked}, synced {counts.synced}")
        return 0 if counts.pending == counts.parked == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

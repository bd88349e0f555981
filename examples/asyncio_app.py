"""trip-tracker from asyncio: the library is synchronous, so run its calls in a worker thread
(``asyncio.to_thread``) and hand its events to the event loop (``call_soon_threadsafe``).

    .venv/bin/python examples/asyncio_app.py

A sync run blocks for as long as the network takes; a store call for one transaction
(milliseconds). Both are safe from several threads at once, so the event loop never waits.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from sync import (
    MileageSettings,
    Progress,
    Settings,
    SyncEvent,
    SyncFinished,
    TripStateChanged,
    open_app,
)
from sync.sandbox import DEFAULT_TOKEN, serve


async def main() -> int:
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[SyncEvent] = asyncio.Queue()

    def on_event(event: SyncEvent) -> None:  # called on the sync's thread
        loop.call_soon_threadsafe(events.put_nowait, event)

    with serve() as server, tempfile.TemporaryDirectory(prefix="async-app-") as home:
        settings = Settings(
            home=Path(home), mileage=MileageSettings(url=server.tight_url, token=DEFAULT_TOKEN)
        )
        with open_app(settings, listener=on_event) as app:
            for n in range(5):
                await asyncio.to_thread(
                    app.tracker.trips.add, {"date": "2026-03-01", "distance": f"{n + 1}.5"}
                )
            run = asyncio.create_task(asyncio.to_thread(app.sync, budget=25))
            synced = 0
            while True:
                event = await events.get()
                if isinstance(event, Progress):
                    total = f" of {event.total}" if event.total is not None else ""
                    print(f"{event.step}: {event.done}{total} {event.unit}")
                elif isinstance(event, TripStateChanged):
                    synced += event.state == "synced"
                elif isinstance(event, SyncFinished):
                    break
            report = await run
    print(f"synced {synced} trips; report ok: {report.ok}")
    return 0 if report.ok and synced == 5 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

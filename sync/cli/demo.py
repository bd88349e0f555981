"""``tracker demo``: the whole path on the bundled sandbox, with no credentials and no network.

Starts the sandbox on a free loopback port, uses a temporary data folder (or TRACKER_HOME),
imports the fixture GPX tracks and a few manual trips (one of which the server rejects),
seeds costs (one of them malformed), syncs, and prints what happened. Leaves no process.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.cli import output

if TYPE_CHECKING:
    from tracker.store import Tracker

#: The GPX fixtures of a source checkout; an installed wheel falls back to a generated track.
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gpx"
REJECTED_CUSTOMER = "acme-42"  # no cus_ prefix: Tight (and the sandbox) refuse it


def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the temporary data folder and print its path.")
    ] = False,
) -> None:
    """Run the end-to-end demo against the bundled sandbox (no credentials needed)."""
    from sync.cli.extras import SANDBOX, require

    require(SANDBOX, "tracker demo")
    from sync.cli.context import load_settings
    from sync.sandbox import DEFAULT_TOKEN, Sandbox, serve
    from sync.settings import CostsSettings, MileageSettings
    from tracker.store import Tracker

    base = load_settings()
    given = os.environ.get("TRACKER_HOME")
    home = Path(given) if given else Path(tempfile.mkdtemp(prefix="trip-tracker-demo-"))
    sandbox = Sandbox()
    with serve(sandbox) as server:
        settings = base.model_copy(
            update={
                "home": home,
                "mileage": MileageSettings(url=server.tight_url, token=DEFAULT_TOKEN),
                "costs": CostsSettings(url=server.costs_url, token=DEFAULT_TOKEN),
            }
        )
        output.line(f"sandbox on {server.url}; data in {home}")
        with Tracker.open(
            settings.db_path, timezone=settings.timezone or "UTC", unit=settings.distance_unit
        ) as store:
            trips = _record(store)
            _seed_costs(sandbox, store, trips)
            summary = _sync(settings, store)
    _print(summary, sandbox)
    if not given and not keep:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
    elif keep:
        output.line(f"kept the data folder: {home} (TRACKER_HOME={home} tracker trip list)")


def _record(store: Tracker) -> list[str]:
    ids: list[str] = []
    gpx_files = sorted(FIXTURES.glob("*.gpx")) if FIXTURES.is_dir() else []
    for path in gpx_files:
        ids += [t.id for t in store.trips.import_gpx(path, {"classification": "business"})]
    if not gpx_files:
        ids.append(_live_trip(store))
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    manual = [
        {
            "description": "Client visit, Hamburg",
            "distance": "142.3",
            "classification": "business",
            "customer_id": "cus_demo_hh",
        },
        {"description": "Supermarket", "distance": "4.2", "classification": "personal"},
        {
            "description": "Trade fair (customer id the server refuses)",
            "distance": "61.0",
            "classification": "business",
            "customer_id": REJECTED_CUSTOMER,
        },
    ]
    for number, fields in enumerate(manual):
        begins = start + timedelta(hours=3 * number)
        trip = store.trips.add(
            {**fields, "start_time": begins, "end_time": begins + timedelta(minutes=55)}
        )
        ids.append(trip.id)
    return ids


def _live_trip(store: Tracker) -> str:
    """A short recorded trip, for installs without the fixture files."""
    begins = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    trip = store.trips.start({"start_time": begins, "classification": "business"})
    fixes = [
        (begins + timedelta(seconds=i), 52.52 + i * 1e-4, 13.40, 5.0, 13.0) for i in range(600)
    ]
    store.trips.add_points(trip.id, fixes)
    store.trips.stop(trip.id, end_time=begins + timedelta(seconds=600))
    return trip.id


def _seed_costs(sandbox: Any, store: Tracker, trip_ids: list[str]) -> None:
    sandbox.seed_costs(12, seed=7, trip_guids=trip_ids[:4])
    # One malformed cost: the pull must quarantine it and keep its page-mates.
    sandbox.add_cost({"ID": 9_999, "Amount": "not a number", "TripGuid": trip_ids[0]})


def _sync(settings: Any, store: Tracker) -> dict[str, Any]:
    from sync.engine import SyncEngine

    with SyncEngine(settings, store) as engine:
        report = engine.run(push=True, pull=True)
    report.raise_for_failure()
    doc = report.to_dict()
    return {"push": doc["push"], "pull": doc["costs"], "journal": store.journal.counts().to_dict()}


def _print(summary: dict[str, Any], sandbox: Any) -> None:
    push = summary["push"]
    rows: list[tuple[str, object]] = [
        ("trips pushed", push["synced"]),
        ("parked by the server", len(push["parked"])),
        ("requests to Tight", push["requests"]),
        ("records now on the server", len(sandbox.records)),
    ]
    pull = summary["pull"]
    rows += [
        ("costs pulled", pull["items"] - pull["quarantined"]),
        ("costs quarantined (malformed)", pull["quarantined"]),
        ("costs linked to trips by GUID", pull["linked_by_guid"]),
        ("costs linked to trips by time", pull["linked_by_time"]),
        ("costs unlinked", pull["unlinked"] + pull["ambiguous"]),
    ]
    output.table("demo: sync summary", ["what", "count"], rows)
    if push["parked"]:
        output.table(
            "parked, with the server's message (fix the trip and it is sent again)",
            ["trip", "type", "param", "message"],
            (
                (p["trip_id"][:8], p["error_type"], p["param"] or "", p["message"])
                for p in push["parked"]
            ),
        )
    if pull["quarantine_reasons"]:
        output.table(
            "quarantined costs (kept raw with the reason; retried on every pull)",
            ["cost", "reason"],
            ((q["cost_id"], q["reason"]) for q in pull["quarantine_reasons"]),
        )

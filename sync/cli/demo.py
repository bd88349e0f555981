"""``tracker demo``: the whole path on the bundled sandbox, with no credentials and no network.

Starts the sandbox on a free loopback port, uses a temporary data folder (or TRACKER_HOME),
imports the fixture GPX tracks and a few manual trips (one of which the server rejects),
seeds costs (one of them malformed), syncs, and prints what happened. Then the sandbox plays
another client (Tight's web app, an accountant) and edits two synced trips while they are
edited here too: one merges cleanly, the other is a conflict, held and then resolved the way
``tracker conflicts resolve`` does. Leaves no process.
"""

from __future__ import annotations

import logging
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
    root = logging.getLogger()
    if root.level == logging.WARNING and "TRACKER_LOG_LEVEL" not in os.environ:
        # The story says what the warnings would (the quarantined cost is in its tables):
        # left on, they would interrupt it. -v or TRACKER_LOG_LEVEL keep them.
        root.setLevel(logging.ERROR)
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
            _two_way(settings, store, sandbox)
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
    assert doc["costs"] is not None  # the costs API is configured: it was pulled
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


def _two_way(settings: Any, store: Tracker, sandbox: Any) -> None:
    """Edits on both sides: one clean merge, one conflict held, then resolved."""
    from sync.engine import SyncEngine

    by_description = {t.description: t for t in store.trips.list() if t.remote_id}
    visit = by_description["Client visit, Hamburg"]
    shop = by_description["Supermarket"]
    # Another client: an accountant notes the visit; the web app renames the shopping trip.
    sandbox.edit_record(visit.remote_id, {"notes": "billed to ACME (accountant)"})
    sandbox.edit_record(shop.remote_id, {"description": "Groceries (renamed on the web)"})
    # Here, meanwhile: the visit's description, and the shopping trip's too.
    store.trips.edit(visit.id, {"description": "Client visit, Hamburg harbour"})
    store.trips.edit(shop.id, {"description": "Groceries and fuel"})
    with SyncEngine(settings, store) as engine:
        first = engine.run(push=True, pull=True)
        merged = store.trips.get(visit.id)
        held = store.conflicts.list()
        output.table(
            "two-way sync: edited here and on Tight",
            ["trip", "what happened", "here now", "on Tight now"],
            [
                (
                    visit.id[:8],
                    "merged: description from here, note from Tight",
                    f"{merged.description} / {merged.notes}",
                    _on_tight(sandbox, visit.remote_id),
                ),
                *(
                    (
                        c.trip_id[:8],
                        "conflict: "
                        + ", ".join(
                            f"{f.name} here {f.local!r}, on Tight {f.server!r}" for f in c.fields
                        ),
                        "held: not pushed, not lost",
                        _on_tight(sandbox, shop.remote_id),
                    )
                    for c in held
                ),
            ],
        )
        for conflict in held:
            short = conflict.trip_id[:8]
            output.line(
                f"resolve it with `tracker conflicts resolve {short} --take local` (or "
                f"`--take remote`, or per field `--field description=local`); the demo keeps "
                "the local side:"
            )
            store.conflicts.resolve(conflict.trip_id, "local")
        second = engine.run(push=True, pull=True)
    for report in (first, second):
        report.raise_for_failure()
    output.line(
        f"after the next sync, on Tight: {_on_tight(sandbox, shop.remote_id)}; "
        f"conflicts left: {store.conflicts.count()}"
    )


def _on_tight(sandbox: Any, remote_id: str | None) -> str:
    record = sandbox.record(remote_id) or {}
    notes = record.get("notes")
    return f"{record.get('description')}" + (f" / {notes}" if notes else "")

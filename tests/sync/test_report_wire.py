"""The report's amount per trip is the deduction sent to Tight under the same schedule:
trips pushed to the sandbox over real HTTP with TRACKER_MILEAGE_DEDUCTION_SCHEDULE set, each
deduction read back with a GET, held against the report's rows (and against figures worked
out by hand). Real SQLite files; filtered reports keep the amounts of the wire."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.engine import SyncEngine
from sync.sandbox import SandboxServer
from sync.settings import Settings
from tests.helpers.rates import schedule_toml
from tests.helpers.remote import AUTH, EngineFactory, fast_mileage, push
from tracker.store import Tracker


def add(store: Tracker, day: str, distance: str, unit: str = "mile", **more: str) -> str:
    trip = {"date": day, "distance": distance, "unit": unit, "classification": "business"}
    return store.trips.add({**trip, **more}).id


def on_the_wire(server: SandboxServer, store: Tracker, trip_ids: list[str]) -> dict[str, Any]:
    """The deduction amount the sandbox holds for each trip, read through its HTTP API."""
    out = {}
    with httpx.Client(headers=dict(AUTH)) as client:
        for trip_id in trip_ids:
            remote = store.trips.get(trip_id).remote_id
            answer = client.get(f"{server.tight_url}/v6/mileage/{remote}")
            assert answer.status_code == 200
            out[trip_id] = (answer.json()["data"]["deduction"] or {}).get("amount")
    return out


def in_the_report(store: Tracker, minor: Decimal = Decimal("0.01"), **asked: Any) -> dict[str, int]:
    """The report's amount of each row, in the schedule's minor unit (as the wire has it)."""
    data = store.report(**asked).collect()
    return {row.trip_id: int((row.amount or 0) / minor) for row in data.rows}


PERSONAL = {"classification": "personal"}
CASES = {
    # US 2022 across the 1 July change: 58.50, 62.50, 10 km x 0.625 / 1.609344 = 3.88, 0.
    "us-irs": (
        2022,
        [("2022-06-30", "100", "mile", {}), ("2022-07-01", "100", "mile", {}),
         ("2022-12-31", "10", "km", {}), ("2022-08-01", "50", "mile", PERSONAL)],
        [5850, 6250, 388, 0],
    ),
    # UK 2023-24: 4,455.00, the 10,000th mile inside the next trip (95.00), 100 km at 25p.
    "uk-hmrc": (
        2023,
        [("2023-04-06", "9900", "mile", {}), ("2023-05-01", "300", "mile", {}),
         ("2023-06-01", "100", "km", {})],
        [445500, 9500, 1553],
    ),
    # Canada 2023 across 5,000 km: 3,393.20, 13.00, 10 miles at 62 c/km = 9.98.
    "ca-cra": (
        2023,
        [("2023-03-01", "4990", "km", {}), ("2023-03-02", "20", "km", {}),
         ("2023-03-03", "10", "mile", {})],
        [339320, 1300, 998],
    ),
}  # fmt: skip


@pytest.mark.parametrize("schedule", sorted(CASES))
def test_each_rows_amount_is_the_deduction_sent_to_tight(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory, schedule: str
) -> None:
    year, trips, by_hand = CASES[schedule]
    ids = [add(store, day, dist, unit, **more) for day, dist, unit, more in trips]
    push(make_engine(deduction_schedule=schedule, batch_size=1))
    wire = on_the_wire(server, store, ids)
    report = in_the_report(store, jurisdiction=schedule, year=year)
    assert [wire[i] for i in ids] == by_hand
    assert report == wire


def test_a_users_schedule_on_the_wire_and_in_the_report(
    home: Path, store: Tracker, server: SandboxServer
) -> None:
    rates = home.parent / "rates.toml"
    tiers = '[{ up_to = "1000", rate = "0.35" }, { rate = "0.20" }]'
    rates.write_text(schedule_toml("acme", "per-trip", "EUR", "km", tiers), encoding="utf-8")
    # 346.50; 10 x 0.35 + 10 x 0.20 = 5.50; 1 mile = 1.609344 km x 0.20 = 0.32.
    ids = [add(store, "2025-02-01", "990", "km"), add(store, "2025-02-02", "20", "km"),
           add(store, "2025-02-03", "1", "mile")]  # fmt: skip
    settings = Settings(
        home=home,
        rate_schedules=rates,
        mileage=fast_mileage(server.tight_url, deduction_schedule="acme", batch_size=2),
    )
    with SyncEngine(settings, store) as engine:
        push(engine)
    wire = on_the_wire(server, store, ids)
    assert [wire[i] for i in ids] == [34650, 550, 32]
    assert in_the_report(store, jurisdiction="acme", year=2025, rate_file=rates) == wire


def test_a_filtered_report_keeps_the_amounts_on_the_wire(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory
) -> None:
    # (A car filter is held to the same amounts in tests/tracker/test_report.py: a trip of a
    # car Tight does not know is not pushed.)
    other = add(store, "2023-04-10", "9950")
    mine = [add(store, "2023-05-01", "100", customer_id="cus_acme1"),
            add(store, "2023-06-01", "20", customer_id="cus_acme1")]  # fmt: skip
    push(make_engine(deduction_schedule="uk-hmrc", batch_size=1))
    wire = on_the_wire(server, store, [other, *mine])
    assert [wire[i] for i in mine] == [50 * 45 + 50 * 25, 20 * 25]  # 35.00, 5.00
    for narrowed in (
        {"customer": "cus_acme1"},
        {"start": "2023-05-01", "end": "2023-06-30"},
    ):
        got = in_the_report(store, jurisdiction="uk-hmrc", year=2023, **narrowed)
        assert got == {i: wire[i] for i in mine}

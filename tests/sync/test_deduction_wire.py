"""The deduction sent to Tight: per trip, from the rate schedule in force on its date and
its tier position in its tax year, against figures worked out by hand. Real SQLite files
(and PostgreSQL databases: BOTH_BACKENDS), the sandbox over real HTTP; amounts are read
back from the sandbox with GET requests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.engine import SyncEngine
from sync.errors import ConfigError
from sync.sandbox import Sandbox, SandboxServer
from sync.settings import Settings
from sync.tight.deduction import deduction_schedule
from tests.helpers.rates import schedule_toml
from tests.helpers.remote import AUTH, KEY, EngineFactory, fast_mileage, push
from tests.helpers.store import BOTH_BACKENDS
from tracker.enums import DistanceUnit
from tracker.rates import RateTrip, Rounding, compute, load_schedules
from tracker.store import Tracker


def add(store: Tracker, day: str, distance: str, unit: str = "mile", cls: str = "business") -> str:
    trip = {"date": day, "distance": distance, "unit": unit, "classification": cls}
    return store.trips.add(trip).id


def sent(server: SandboxServer, store: Tracker, trip_id: str) -> Any:
    """The deduction amount the sandbox holds for a trip, read through its HTTP API."""
    remote = store.trips.get(trip_id).remote_id
    assert remote is not None
    with httpx.Client(headers=dict(AUTH)) as client:
        answer = client.get(f"{server.tight_url}/v6/mileage/{remote}")
    assert answer.status_code == 200
    deduction = answer.json()["data"]["deduction"]
    return None if deduction is None else deduction["amount"]


def amounts(server: SandboxServer, store: Tracker, ids: dict[str, str]) -> dict[str, Any]:
    return {name: sent(server, store, trip_id) for name, trip_id in ids.items()}


def deliveries(sandbox: Sandbox, trip_id: str) -> int:
    return sandbox.delivery_counts_by_custom(KEY).get(trip_id, 0)


@BOTH_BACKENDS
def test_us_2022_crosses_the_mid_year_change(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory
) -> None:
    ids = {
        "june": add(store, "2022-06-15", "100"),  # 100 mi x 0.585 = 58.50
        "july": add(store, "2022-07-01", "100"),  # 100 mi x 0.625 = 62.50
        "km": add(store, "2022-12-31", "10", "km"),  # 10 / 1.609344 x 0.625 = 3.8835.. -> 3.88
        "personal": add(store, "2022-08-01", "50", cls="personal"),  # no deduction
    }
    push(make_engine(deduction_schedule="us-irs", batch_size=2))
    assert amounts(server, store, ids) == {"june": 5850, "july": 6250, "km": 388, "personal": 0}


def test_uk_tier_boundary_inside_one_trip_and_tax_years_from_6_april(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory
) -> None:
    ids = {
        "old_year": add(store, "2023-04-05", "500"),  # 2022-23: 500 x 0.45 = 225.00
        "first": add(store, "2023-04-06", "9900"),  # 2023-24 starts: 9,900 x 0.45 = 4,455.00
        "crossing": add(store, "2023-05-01", "300"),  # 100 x 0.45 + 200 x 0.25 = 95.00
        "km": add(store, "2023-06-01", "100", "km"),  # 62.137.. mi x 0.25 = 15.534.. -> 15.53
    }
    # One trip a batch: every tier position comes from the store, not from the batch.
    push(make_engine(deduction_schedule="uk-hmrc", batch_size=1))
    got = amounts(server, store, ids)
    assert got == {"old_year": 22500, "first": 445500, "crossing": 9500, "km": 1553}
    # The same as tracker.rates.compute over the whole sequence, rounded per trip.
    uk = load_schedules()["uk-hmrc"]
    trips = [
        RateTrip("old_year", date(2023, 4, 5), Decimal(500), DistanceUnit.MILE),
        RateTrip("first", date(2023, 4, 6), Decimal(9900), DistanceUnit.MILE),
        RateTrip("crossing", date(2023, 5, 1), Decimal(300), DistanceUnit.MILE),
        RateTrip("km", date(2023, 6, 1), Decimal(100), DistanceUnit.KM),
    ]
    computed = compute(uk, trips, rounding=Rounding.PER_TRIP)
    assert got == {t.key: int((t.amount or 0) * 100) for t in computed.trips}


def test_canada_2023_across_5000_km(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory
) -> None:
    ids = {
        "first": add(store, "2023-03-01", "4990", "km"),  # 4,990 x 0.68 = 3,393.20
        "crossing": add(store, "2023-03-02", "20", "km"),  # 10 x 0.68 + 10 x 0.62 = 13.00
        "miles": add(store, "2023-03-03", "10"),  # 16.09344 km x 0.62 = 9.977.. -> 9.98
    }
    push(make_engine(deduction_schedule="ca-cra", batch_size=1))
    assert amounts(server, store, ids) == {"first": 339320, "crossing": 1300, "miles": 998}


@pytest.mark.parametrize(
    ("rate", "unit", "expected"),
    [("70", "mile", {"km": 435, "mile": 700}), ("43.5", "km", {"km": 435, "mile": 700})],
    ids=["per-mile", "per-km"],
)
def test_the_flat_rate_converts_the_trips_distance_to_its_unit(
    store: Tracker,
    server: SandboxServer,
    make_engine: EngineFactory,
    rate: str,
    unit: str,
    expected: dict[str, int],
) -> None:
    """The issue's case: 10 km at 70 per mile is 435, not 700 (10 x 70)."""
    ids = {"km": add(store, "2026-03-01", "10", "km"), "mile": add(store, "2026-03-02", "10")}
    # 10 mi at 43.5 per km: 16.09344 x 43.5 = 700.06 -> 700; 10 km x 43.5 = 435.
    push(make_engine(deduction_rate=Decimal(rate), deduction_rate_unit=unit))
    assert amounts(server, store, ids) == expected


def test_a_users_own_schedule(home: Path, store: Tracker, server: SandboxServer) -> None:
    rates = home.parent / "rates.toml"
    tiers = '[{ up_to = "1000", rate = "0.35" }, { rate = "0.20" }]'
    rates.write_text(schedule_toml("acme", "per-trip", "EUR", "km", tiers), encoding="utf-8")
    ids = {
        "first": add(store, "2025-02-01", "990", "km"),  # 990 x 0.35 = 346.50
        "crossing": add(store, "2025-02-02", "20", "km"),  # 10 x 0.35 + 10 x 0.20 = 5.50
    }
    settings = Settings(
        home=home,
        rate_schedules=rates,
        mileage=fast_mileage(server.tight_url, deduction_schedule="acme", batch_size=1),
    )
    with SyncEngine(settings, store) as engine:
        push(engine)
    assert amounts(server, store, ids) == {"first": 34650, "crossing": 550}


def test_an_old_trip_pushed_again_keeps_its_own_years_rate(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory
) -> None:
    old = add(store, "2022-03-01", "100")
    engine = make_engine(deduction_schedule="us-irs")
    push(engine)
    new = add(store, "2023-02-01", "100")  # 2023: 65.5 c
    store.trips.edit(old, {"description": "client visit"})
    push(engine)
    assert amounts(server, store, {"old": old, "new": new}) == {"old": 5850, "new": 6550}


@BOTH_BACKENDS
def test_a_tier_shift_requeues_the_later_trips_and_only_when_their_amount_changes(
    store: Tracker, server: SandboxServer, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    first = add(store, "2023-04-10", "9900")
    later = add(store, "2023-05-01", "300")  # 95.00 while 9,900 miles come before it
    other_year = add(store, "2024-05-01", "300")  # 2024-25: 135.00, whatever 2023-24 does
    engine = make_engine(deduction_schedule="uk-hmrc")
    push(engine)
    assert sent(server, store, later) == 9500
    # An edit that moves no amount: nothing else is sent again.
    store.trips.edit(first, {"description": "site visit"})
    report = push(engine)
    assert report.synced == 1
    assert deliveries(sandbox, later) == 1
    # 9,000 miles now come first: all 300 of the later trip are below 10,000 (135.00).
    store.trips.edit(first, {"distance": "9000"})
    report = push(engine)
    assert report.synced == 2
    assert amounts(server, store, {"first": first, "later": later, "other": other_year}) == {
        "first": 405000,
        "later": 13500,
        "other": 13500,
    }
    assert deliveries(sandbox, other_year) == 1
    history = store.journal.history(later)[1]
    assert any(
        "deduction changed: 9500 on the server, 13500 now" in (e.detail or "") for e in history
    )
    # Reclassified personal here: the later trip moves back (nothing before it).
    store.trips.edit(first, {"classification": "personal"})
    push(engine)
    assert amounts(server, store, {"first": first, "later": later}) == {"first": 0, "later": 13500}
    assert store.journal.counts().pending == 0


@BOTH_BACKENDS
def test_a_reclassification_pulled_from_the_server_sends_the_new_amount(
    store: Tracker, server: SandboxServer, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    first = add(store, "2023-04-10", "9900")
    later = add(store, "2023-05-01", "300")
    engine = make_engine(deduction_schedule="uk-hmrc", pull_since="all")
    push(engine)
    remote = store.trips.get(first).remote_id
    assert remote is not None
    sandbox.edit_record(remote, {"mileageStatus": "NOT_BUSINESS"})
    report = engine.run(push=True, pull=True)
    report.raise_for_failure()
    assert store.trips.get(first).classification == "personal"
    # The server's copy of the reclassified trip still said 4,455.00: it is sent 0, and the
    # later trip no longer has 9,900 miles before it: 135.00.
    assert amounts(server, store, {"first": first, "later": later}) == {"first": 0, "later": 13500}
    assert store.journal.counts().pending == 0


def test_a_trip_no_rate_covers_is_parked_saying_what_to_do(
    store: Tracker, sandbox: Sandbox, make_engine: EngineFactory
) -> None:
    covered = add(store, "2023-06-01", "10")
    uncovered = add(store, "2030-06-01", "10")  # us-irs ships no 2030 rate
    personal = add(store, "2030-06-02", "10", cls="personal")  # pays nothing: no rate needed
    report = push(make_engine(deduction_schedule="us-irs"))
    assert report.synced == 2
    assert [p.error_type for p in report.parked] == ["LOCAL_INVALID"]
    assert "us-irs" in report.parked[0].message and "2030-06-01" in report.parked[0].message
    assert store.trips.get(uncovered).sync_state == "parked"
    assert deliveries(sandbox, uncovered) == 0
    assert {store.trips.get(t).sync_state for t in (covered, personal)} == {"synced"}


def test_no_schedule_no_deduction_and_a_wrong_name_is_a_config_error(
    store: Tracker, server: SandboxServer, make_engine: EngineFactory, home: Path
) -> None:
    trip = add(store, "2023-06-01", "10")
    push(make_engine())
    assert sent(server, store, trip) is None
    wrong = Settings(home=home, mileage=fast_mileage("http://x", deduction_schedule="us-irz"))
    with pytest.raises(ConfigError, match="us-irz is not a rate schedule; use one of"):
        deduction_schedule(wrong)


def test_a_schedule_in_the_config_file_is_found_for_the_deduction(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        schedule_toml("acme", "per-trip", "EUR", "km", '[{ rate = "0.30" }]'), encoding="utf-8"
    )
    config.chmod(0o600)
    settings = Settings(config=config, mileage={"deduction_schedule": "acme"})
    assert settings.config_path == config
    found = deduction_schedule(settings)
    assert found is not None and found.id == "acme"
    elsewhere = Settings(home=tmp_path / "other", mileage={"deduction_schedule": "acme"})
    with pytest.raises(ConfigError, match=r"config file's \[\[schedules\]\]"):
        deduction_schedule(elsewhere)

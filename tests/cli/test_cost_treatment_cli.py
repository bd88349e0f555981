"""``tracker costs list`` shows each cost's tax treatment and what counts: costs pulled from
the sandbox over loopback into a real database, linked to real business and personal trips;
``TRACKER_COSTS_TREATMENTS`` reclassifies a type by id, and a bad value exits 78."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxServer, serve
from sync.settings import CostTreatmentName, Settings, unreadable_env
from tests.helpers.cli import run, run_json
from tests.helpers.remote import pull
from tracker.costs import CostTreatment
from tracker.store import Tracker

KINDS = {
    # id: (labels, type id, which trip)
    1: ({"en": "Motorway toll", "it": "Pedaggio"}, 10, "business"),
    2: ({"en": "Parking"}, 11, "personal"),
    3: ({"en": "Fuel"}, 12, "business"),
    4: ({"en": "Speed Fine"}, 13, "business"),
    5: ({"en": "Cleaning fee"}, 14, "business"),
    6: ({"de": "Parkgebühr"}, 11, None),
}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with serve(Sandbox()) as running:
        yield running


@pytest.fixture
def settings(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TRACKER_COSTS_URL", server.costs_url)
    monkeypatch.setenv("TRACKER_COSTS_TOKEN", DEFAULT_TOKEN)
    settings = Settings()
    with Tracker.open(settings.db_path, timezone="UTC") as store:
        trips = {
            kind: store.trips.add(
                {"date": "2025-03-04", "distance": "12.5", "classification": kind}
            ).id
            for kind in ("business", "personal")
        }
        for cost_id, (labels, type_id, kind) in KINDS.items():
            server.sandbox.add_cost(
                {
                    "ID": cost_id,
                    "Amount": Decimal(f"{cost_id}.50"),
                    "LastUpdated": "2025-03-04 10:00:00",
                    "Labels": json.dumps(labels),
                    "TypeID": type_id,
                    "CostType": 0,
                    "TripGuid": None if kind is None else trips[kind],
                }
            )
        with SyncEngine(settings, store, clock=ManualClock()) as engine:
            assert pull(engine).inserted == len(KINDS)
    return settings


def _by_id(docs: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {doc["id"]: doc for doc in docs}


@pytest.mark.usefixtures("settings")
def test_list_shows_each_treatment_and_only_business_tolls_and_parking_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    docs = _by_id(run_json(capsys, "costs", "list"))
    assert {i: d["treatment"] for i, d in docs.items()} == {
        1: "deductible",
        2: "deductible",
        3: "in_rate",
        4: "never",
        5: "unclassified",
        6: "deductible",
    }
    assert {i for i, d in docs.items() if d["counted"]} == {1}
    assert docs[2]["not_counted_reason"] == "its trip is not a business trip (personal)"
    assert docs[6]["not_counted_reason"] == "not linked to a trip"
    assert docs[4]["not_counted_reason"] == "a fine or penalty: never deductible"
    assert all(d["treatment_source"] == "labels" for d in docs.values())

    code, out, _ = run(capsys, "costs", "list")
    assert code == 0
    assert "deductible, counted" in out
    assert "never deductible" in out and "in the rate" in out and "not classified" in out
    assert "deductible (linked to business trips): 1.50 EUR; 1 counted, 5 not counted" in out


@pytest.mark.usefixtures("settings")
def test_a_type_configured_by_id_wins_over_its_labels(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_COSTS_TREATMENTS", '{"14": "deductible", "10": "never"}')
    docs = _by_id(run_json(capsys, "costs", "list"))
    assert (docs[5]["treatment"], docs[5]["treatment_source"]) == ("deductible", "setting")
    assert (docs[1]["treatment"], docs[1]["treatment_source"]) == ("never", "setting")
    assert {i for i, d in docs.items() if d["counted"]} == {5}
    shown = run_json(capsys, "costs", "show", "5")
    assert (shown["treatment"], shown["counted"]) == ("deductible", True)


@pytest.mark.usefixtures("settings")
@pytest.mark.parametrize("value", ['{"14": "sometimes"}', "not json", '{"x": "never"}'])
def test_a_bad_treatment_setting_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TRACKER_COSTS_TREATMENTS", value)
    code, out, err = run(capsys, "costs", "list")
    assert code == 78, err
    assert "TREATMENTS" in err.upper() and "Traceback" not in err
    assert out == ""


def test_the_setting_accepts_exactly_the_treatments() -> None:
    assert set(typing.get_args(CostTreatmentName)) == {t.value for t in CostTreatment}


def test_unreadable_json_settings_are_named() -> None:
    env = {"TRACKER_COSTS_TREATMENTS": "{12: never}", "TRACKER_COSTS_URL": "not json either"}
    assert unreadable_env("costs", env) == ["TRACKER_COSTS_TREATMENTS"]
    assert unreadable_env("costs", {"TRACKER_COSTS_TREATMENTS": '{"12": "never"}'}) == []
    assert unreadable_env("nonsense", env) == []

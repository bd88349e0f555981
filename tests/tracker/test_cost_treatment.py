"""Tax treatment of pulled costs: defaults from labels, configuration by type id, the tally."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tracker.costs.treatment import (
    CostTreatment,
    TaxCost,
    cost_treatment,
    tally_costs,
    treatment_from_labels,
)

DEDUCTIBLE = [
    {"en": "Toll"},
    {"en": "Motorway tolls"},
    {"en": "Parking"},
    {"en": "Car park fee"},
    {"de": "Maut"},
    {"de": "Autobahnmaut"},
    {"de": "Parkgebühren"},
    {"de": "Parkhaus"},
    {"fr": "Péage"},
    {"fr": "Stationnement"},
    {"it": "Pedaggio autostradale"},
    {"it": "Parcheggio"},
    {"es": "Peaje"},
    {"es": "Aparcamiento"},
    {"nl": "Parkeren"},
    {"en": "TOLL", "it": "PEDAGGIO"},
]
IN_RATE = [
    {"en": "Fuel"},
    {"en": "Gas"},
    {"en": "EV charging"},
    {"de": "Kraftstoff"},
    {"de": "Tanken"},
    {"de": "Ladestrom"},
    {"fr": "Carburant"},
    {"it": "Rifornimento carburante"},
    {"es": "Gasolina"},
    {"nl": "Brandstof"},
]
NEVER = [
    {"en": "Speed Fine"},  # the one label the platform's documentation shows (CostType 0)
    {"en": "Fines"},
    {"en": "Late return penalty"},
    {"en": "Parking fine"},  # a fine, not parking
    {"en": "Parking ticket"},
    {"de": "Bußgeld"},
    {"de": "Bussgeldbescheid"},
    {"de": "Strafzettel"},
    {"de": "Verwarnungsgeld Parken"},
    {"fr": "Amende de stationnement"},
    {"it": "Multa per eccesso di velocità"},
    {"it": "Sanzione"},
    {"es": "Multa"},
    {"nl": "Boete"},
]
UNCLASSIFIED = [{}, {"en": ""}, {"en": "Cleaning fee"}, {"en": "Toddler seat"}, {"it": "Extra"}]


@pytest.mark.parametrize("labels", DEDUCTIBLE)
def test_tolls_and_parking_are_deductible(labels: dict[str, str]) -> None:
    assert treatment_from_labels(labels) is CostTreatment.DEDUCTIBLE


@pytest.mark.parametrize("labels", IN_RATE)
def test_fuel_and_charging_are_inside_the_rate(labels: dict[str, str]) -> None:
    assert treatment_from_labels(labels) is CostTreatment.IN_RATE


@pytest.mark.parametrize("labels", NEVER)
def test_fines_and_penalties_are_never_deductible(labels: dict[str, str]) -> None:
    assert treatment_from_labels(labels) is CostTreatment.NEVER


@pytest.mark.parametrize("labels", UNCLASSIFIED)
def test_anything_else_is_not_classified(labels: dict[str, str]) -> None:
    assert treatment_from_labels(labels) is CostTreatment.UNCLASSIFIED


def test_labels_that_disagree_take_the_least_deductible() -> None:
    # One language says parking, another a fine: never counted by mistake.
    assert treatment_from_labels({"en": "Parking", "de": "Bußgeld"}) is CostTreatment.NEVER
    assert treatment_from_labels({"en": "Toll", "it": "Carburante"}) is CostTreatment.IN_RATE


def test_a_configured_treatment_wins_over_the_labels() -> None:
    labels = {"en": "Speed Fine"}
    assert cost_treatment(7, labels) == (CostTreatment.NEVER, "labels")
    assert cost_treatment(7, labels, {7: "deductible"}) == (CostTreatment.DEDUCTIBLE, "setting")
    assert cost_treatment(8, labels, {7: "deductible"}) == (CostTreatment.NEVER, "labels")
    assert cost_treatment(None, {"en": "x"}, {7: "never"}) == (
        CostTreatment.UNCLASSIFIED,
        "labels",
    )


def _cost(
    cost_id: int,
    amount: str,
    treatment: CostTreatment,
    trip: str | None = "b",
    kind: str | None = "business",
    currency: str = "EUR",
) -> TaxCost:
    return TaxCost(cost_id, Decimal(amount), currency, treatment, trip, kind)


def test_only_deductible_costs_of_business_trips_count() -> None:
    costs = [
        _cost(1, "4.10", CostTreatment.DEDUCTIBLE),
        _cost(2, "2.20", CostTreatment.DEDUCTIBLE),
        _cost(3, "-1.00", CostTreatment.DEDUCTIBLE),  # a refund of a counted kind
        _cost(4, "50.00", CostTreatment.IN_RATE),
        _cost(5, "80.00", CostTreatment.NEVER),
        _cost(6, "9.99", CostTreatment.UNCLASSIFIED),
        _cost(7, "3.00", CostTreatment.DEDUCTIBLE, kind="personal"),
        _cost(8, "3.00", CostTreatment.DEDUCTIBLE, kind="unclassified"),
        _cost(9, "3.00", CostTreatment.DEDUCTIBLE, trip=None, kind=None),
        _cost(10, "3.00", CostTreatment.DEDUCTIBLE, kind="deleted"),
        _cost(11, "7.00", CostTreatment.DEDUCTIBLE, currency="CHF"),
    ]
    tally = tally_costs(costs)
    assert tally.totals == {"EUR": Decimal("5.30"), "CHF": Decimal("7.00")}
    assert [c.cost.id for c in tally.counted] == [1, 2, 3, 11]
    why = {c.cost.id: c.reason for c in tally.not_counted}
    assert why == {
        4: "fuel or charging: already inside the mileage rate",
        5: "a fine or penalty: never deductible",
        6: "not classified: set its type in TRACKER_COSTS_TREATMENTS to count it",
        7: "its trip is not a business trip (personal)",
        8: "its trip is not a business trip (unclassified)",
        9: "not linked to a trip",
        10: "its trip is not a business trip (deleted)",
    }


def test_nothing_counted_is_an_empty_total() -> None:
    tally = tally_costs([_cost(1, "1", CostTreatment.NEVER)])
    assert tally.totals == {} and tally.counted == [] and len(tally.not_counted) == 1

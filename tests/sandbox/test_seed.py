"""The cost generator: reproducible, realistic, in the documented shape."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sync.sandbox import SeedTrip, generate_costs, generate_trips
from sync.sandbox.jsonbody import dumps

FIELDS = [
    "ID", "CreatedDate", "LastUpdated", "Amount", "Notes", "TripGuid", "StartLocationName",
    "EndLocationName", "StartTimestamp", "EndTimestamp", "TypeID", "CostType", "Labels",
    "ExtUserGuid", "PaymentID", "PaymentStatus", "PaymentExecutionAttemt", "PaymentExecutionUser",
    "PaymentNotes",
]  # fmt: skip
SPACE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
PAYMENT = ("PaymentID", "PaymentStatus", "PaymentExecutionAttemt", "PaymentExecutionUser")


def test_same_seed_same_costs_other_seed_other_costs() -> None:
    assert dumps(generate_costs(40, seed=5)) == dumps(generate_costs(40, seed=5))
    assert generate_costs(40, seed=5) != generate_costs(40, seed=6)
    assert generate_costs(0) == []


def test_documented_fields_and_types() -> None:
    costs = generate_costs(200, seed=1)
    assert [c["ID"] for c in costs] == list(range(1, 201))
    for cost in costs:
        assert list(cost) == FIELDS
        for name in ("CreatedDate", "LastUpdated", "StartTimestamp", "EndTimestamp"):
            assert SPACE.fullmatch(cost[name]), name
        assert cost["CreatedDate"] <= cost["LastUpdated"]
        assert cost["StartTimestamp"] <= cost["EndTimestamp"] < cost["CreatedDate"]
        assert isinstance(cost["Amount"], Decimal)
        assert cost["Amount"] > 0
        assert cost["Amount"].as_tuple().exponent == -2
        uuid.UUID(cost["TripGuid"])
        uuid.UUID(cost["ExtUserGuid"])
        labels = json.loads(cost["Labels"])
        assert isinstance(cost["Labels"], str)
        assert "en" in labels
        assert "it" in labels
        paid = cost["PaymentID"] is not None
        assert all((cost[name] is not None) == paid for name in PAYMENT)
        if paid:
            assert ISO_Z.fullmatch(cost["PaymentExecutionAttemt"])
    assert {c["CostType"] for c in costs} == {0, 1, 2, 3, 4, 5, 6}
    assert any(c["PaymentID"] is None for c in costs)
    assert any(c["PaymentID"] is not None for c in costs)
    assert any(c["Notes"] is None for c in costs)
    assert any(c["Notes"] is not None for c in costs)
    assert any(len(json.loads(c["Labels"])) > 2 for c in costs)


def test_costs_tie_to_given_trips_and_their_times() -> None:
    trips = generate_trips(["a1", "b2", "c3"], seed=4, start=datetime(2025, 1, 6, 8, 0, tzinfo=UTC))
    assert trips[0].start > datetime(2025, 1, 6, 8, 0)
    costs = generate_costs(9, seed=4, trips=trips)
    by_guid = {trip.guid: trip for trip in trips}
    assert {c["TripGuid"] for c in costs} == {"a1", "b2", "c3"}
    for cost in costs:
        trip = by_guid[cost["TripGuid"]]
        assert trip.start.strftime("%Y-%m-%d %H:%M:%S") <= cost["StartTimestamp"]
        assert cost["EndTimestamp"] <= trip.end.strftime("%Y-%m-%d %H:%M:%S")
        assert cost["StartLocationName"] == trip.start_name


def test_explicit_trip_and_guid_list() -> None:
    trip = SeedTrip(
        "g-1",
        datetime(2024, 1, 1, 9),
        datetime(2024, 1, 1, 10),
        "Here",
        "There",
    )
    costs = generate_costs(3, trips=[trip], first_id=100)
    assert [c["ID"] for c in costs] == [100, 101, 102]
    assert {c["EndLocationName"] for c in costs} == {"There"}
    guids = [str(uuid.UUID(int=n)) for n in (1, 2)]
    assert {c["TripGuid"] for c in generate_costs(10, trip_guids=guids)} == set(guids)

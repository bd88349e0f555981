"""POST /v6/mileage: create/update, per-item results, HTTP 200/207/400, the sandbox's validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sync.sandbox import Rules, Sandbox
from tests.helpers.remote import in_process, save_item


def save(client: httpx.Client, *items: Any) -> httpx.Response:
    return client.post("/v6/mileage", json={"data": list(items)})


def test_create_assigns_mlg_ids_and_echoes_the_read_shape(any_client: httpx.Client) -> None:
    response = save(any_client, save_item("a"), save_item("b", customerId="cus_9", carId="car_2"))
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "SUCCESS"
    assert body["error"] == []
    first, second = body["data"]
    assert first["result"] == "SUCCESS"
    assert first["statusCode"] == 200
    assert first["error"] == []
    record = first["data"]
    assert record["id"].startswith("mlg_")
    assert record["id"] != second["data"]["id"]
    assert list(record) == [
        "id", "date", "status", "mileageStatus", "description", "notes", "customer",
        "classSegments", "distance", "start", "end", "duration", "deduction", "route", "car",
        "customData",
    ]  # fmt: skip
    assert record["customData"] == {"trackerLocalId": "a"}
    assert record["distance"] == {"type": "KILOMETER", "value": "42.7"}
    assert record["start"]["location"] is None
    assert second["data"]["customer"] == {"id": "cus_9", "name": None, "email": None}
    assert second["data"]["car"]["id"] == "car_2"


def test_read_shape_expands_ids_and_normalises_times_to_utc(client: httpx.Client) -> None:
    item = save_item(
        classSegmentIds=["cls_1"],
        start={
            "time": "2024-05-02T09:15:00.250+02:00",
            "lat": "45.4642",
            "lng": "9.19",
            "locationId": "loc_7",
            "address": {"city": "Milano", "zip": "20121"},
        },
        deduction={"amount": 6775},
        notes="ünïcødé ✓",
    )
    record = save(client, item).json()["data"][0]["data"]
    assert record["start"]["time"] == "2024-05-02T07:15:00.250Z"
    assert record["start"]["location"] == {"id": "loc_7", "name": None}
    assert record["start"]["address"]["city"] == "Milano"
    assert record["start"]["address"]["countryCode"] is None
    assert record["classSegments"] == [{"id": "cls_1", "label": None, "name": None, "child": None}]
    assert record["deduction"] == {"amount": 6775}
    assert record["notes"] == "ünïcødé ✓"


def test_custom_data_is_echoed_exactly(client: httpx.Client) -> None:
    raw = b'{"data":[{"date":"2024-05-02","distance":{"type":"MILE","value":"1"},' \
        b'"customData":{"trackerLocalId":"x","rate":0.10,"n":[1,2.50]}}]}'  # fmt: skip
    response = client.post("/v6/mileage", content=raw, headers={"content-type": "application/json"})
    assert b'"customData":{"trackerLocalId":"x","rate":0.10,"n":[1,2.50]}' in response.content


def test_update_merges_the_fields_sent(sandbox: Sandbox, client: httpx.Client) -> None:
    record_id = save(client, save_item()).json()["data"][0]["data"]["id"]
    response = save(client, {"id": record_id, "notes": "edited", "mileageStatus": "PENDING"})
    assert response.status_code == 200
    updated = response.json()["data"][0]["data"]
    assert updated["notes"] == "edited"
    assert updated["mileageStatus"] == "PENDING"
    assert updated["description"] == "Client visit"  # kept
    assert sandbox.record(record_id) == updated
    assert [d.outcome for d in sandbox.deliveries] == ["created", "updated"]


def test_update_can_replace_instead(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.update_mode = "replace"
    record_id = save(client, save_item()).json()["data"][0]["data"]["id"]
    replacement = {
        "id": record_id,
        "date": "2024-05-03",
        "distance": {"type": "MILE", "value": "1"},
    }
    updated = save(client, replacement).json()["data"][0]["data"]
    assert updated["description"] is None
    assert updated["customData"] is None
    assert updated["id"] == record_id


def test_207_when_some_items_fail_and_order_is_kept(any_client: httpx.Client) -> None:
    response = save(
        any_client, save_item("ok-1"), save_item("bad", date="02/05/2024"), save_item("ok-2")
    )
    assert response.status_code == 207
    body = response.json()
    assert body["result"] == "FAILURE"
    results = body["data"]
    assert [r["result"] for r in results] == ["SUCCESS", "FAILURE", "SUCCESS"]
    assert results[1]["statusCode"] == 400
    assert results[1]["data"] is None
    assert results[1]["error"] == [
        {"type": "INVALID_FORMAT", "message": "date must be a date YYYY-MM-DD", "param": "date"}
    ]
    assert [r["data"]["customData"]["trackerLocalId"] for r in (results[0], results[2])] == [
        "ok-1",
        "ok-2",
    ]


def test_all_failing_is_still_207(client: httpx.Client) -> None:
    response = save(client, {"date": "2024-01-01"})
    assert response.status_code == 207
    assert response.json()["data"][0]["error"][0] == {
        "type": "REQUIRED",
        "message": "distance is required",
        "param": "distance",
    }


def test_unknown_id_is_a_404_item(client: httpx.Client) -> None:
    result = save(client, save_item(id="mlg_000")).json()["data"][0]
    assert result["statusCode"] == 404
    assert result["error"][0]["type"] == "INVALID_VALUE"
    assert result["error"][0]["param"] == "id"


def test_locked_record_is_not_modifiable(sandbox: Sandbox, client: httpx.Client) -> None:
    record_id = save(client, save_item()).json()["data"][0]["data"]["id"]
    sandbox.lock(record_id)
    result = save(client, {"id": record_id, "notes": "x"}).json()["data"][0]
    assert result["statusCode"] == 409
    assert result["error"][0]["type"] == "NOT_MODIFIABLE"
    sandbox.unlock(record_id)
    assert save(client, {"id": record_id, "notes": "x"}).status_code == 200


@pytest.mark.parametrize(
    ("raw", "content_type", "error_type"),
    [
        (b'{"data": [', "application/json", "JSON_ERROR"),
        (b'{"data": [NaN]}', "application/json", "JSON_ERROR"),
        (b"\xff\xfe", "application/json", "JSON_ERROR"),
        (b'{"data": {}}', "application/json", "BAD_REQUEST"),
        (b'{"items": []}', "application/json", "BAD_REQUEST"),
        (b"[]", "application/json", "BAD_REQUEST"),
        (b'{"data": []}', "application/json", "BAD_REQUEST"),
        (b'{"data": [{}]}', "text/plain", "BAD_REQUEST"),
    ],
)
def test_unusable_bodies_are_400(
    any_client: httpx.Client, raw: bytes, content_type: str, error_type: str
) -> None:
    response = any_client.post("/v6/mileage", content=raw, headers={"content-type": content_type})
    assert response.status_code == 400
    body = response.json()
    assert body["result"] == "FAILURE"
    assert body["data"] is None
    assert body["error"][0]["type"] == error_type


def test_batch_too_large_is_a_detectable_400(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.max_batch = 2
    response = save(client, save_item("1"), save_item("2"), save_item("3"))
    assert response.status_code == 400
    assert response.json()["error"] == [
        {
            "type": "BAD_REQUEST",
            "message": "batch too large: 3 items, at most 2 per request",
            "param": "data",
        }
    ]
    assert sandbox.deliveries == []
    assert save(client, save_item("1"), save_item("2")).status_code == 200


def test_non_object_item_fails_alone(client: httpx.Client) -> None:
    response = save(client, "nope", save_item())
    assert response.status_code == 207
    assert response.json()["data"][0]["error"][0]["type"] == "BAD_REQUEST"


# Every rule the sandbox enforces, as (item changes, expected (type, param) in the errors).
INVALID: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({"date": None}, ("REQUIRED", "date")),
    ({"distance": None}, ("REQUIRED", "distance")),
    ({"date": "2024-5-2"}, ("INVALID_FORMAT", "date")),
    ({"date": "2024-02-30"}, ("INVALID_FORMAT", "date")),
    ({"date": 20240502}, ("INVALID_FORMAT", "date")),
    ({"status": "DELETED"}, ("INVALID_VALUE", "status")),
    ({"mileageStatus": "PERSONAL"}, ("INVALID_VALUE", "mileageStatus")),
    ({"mileageStatus": 1}, ("INVALID_FORMAT", "mileageStatus")),
    ({"description": 5}, ("INVALID_FORMAT", "description")),
    ({"notes": ["x"]}, ("INVALID_FORMAT", "notes")),
    ({"customerId": "42"}, ("INVALID_VALUE", "customerId")),
    ({"carId": 7}, ("INVALID_FORMAT", "carId")),
    ({"classSegmentIds": "cls_1"}, ("INVALID_FORMAT", "classSegmentIds")),
    ({"classSegmentIds": ["dv_1"]}, ("INVALID_VALUE", "classSegmentIds")),
    ({"distance": {"type": "MILE", "value": 12.5}}, ("INVALID_FORMAT", "distance.value")),
    ({"distance": {"type": "MILE", "value": "12,5"}}, ("INVALID_FORMAT", "distance.value")),
    ({"distance": {"type": "MILE", "value": "-1"}}, ("INVALID_VALUE", "distance.value")),
    ({"distance": {"type": "MILES", "value": "1"}}, ("INVALID_VALUE", "distance.type")),
    ({"distance": {"value": "1"}}, ("REQUIRED", "distance.type")),
    ({"distance": {"type": "MILE"}}, ("REQUIRED", "distance.value")),
    ({"distance": {"type": "MILE", "value": "1", "unit": "km"}}, ("BAD_REQUEST", "distance.unit")),
    ({"distance": "12.5"}, ("INVALID_FORMAT", "distance")),
    ({"start": {"time": "2024-05-02 07:15:00"}}, ("INVALID_FORMAT", "start.time")),
    ({"start": {"time": "2024-05-02T07:15:00"}}, ("INVALID_FORMAT", "start.time")),
    ({"start": {"time": 1714634100}}, ("INVALID_FORMAT", "start.time")),
    ({"start": {"lat": "91"}}, ("INVALID_VALUE", "start.lat")),
    ({"end": {"lng": "-180.5"}}, ("INVALID_VALUE", "end.lng")),
    ({"end": {"lat": 45.1}}, ("INVALID_FORMAT", "end.lat")),
    ({"end": {"lat": "NaN"}}, ("INVALID_FORMAT", "end.lat")),
    ({"start": {"locationId": "home"}}, ("INVALID_VALUE", "start.locationId")),
    ({"start": {"address": {"city": 5}}}, ("INVALID_FORMAT", "start.address.city")),
    ({"start": {"address": {"country": "IT"}}}, ("BAD_REQUEST", "start.address.country")),
    ({"start": {"latitude": "45"}}, ("BAD_REQUEST", "start.latitude")),
    ({"end": {"time": "2024-05-02T07:00:00Z"}}, ("INVALID_VALUE", "end.time")),
    ({"duration": "3600000"}, ("INVALID_FORMAT", "duration")),
    ({"duration": 1.5}, ("INVALID_FORMAT", "duration")),
    ({"duration": True}, ("INVALID_FORMAT", "duration")),
    ({"duration": -1}, ("INVALID_VALUE", "duration")),
    ({"deduction": {"amount": "67.75"}}, ("INVALID_FORMAT", "deduction.amount")),
    ({"deduction": {}}, ("REQUIRED", "deduction.amount")),
    ({"customData": "x"}, ("INVALID_FORMAT", "customData")),
    ({"customData": {f"k{i}": i for i in range(51)}}, ("INVALID_VALUE", "customData")),
    ({"customData": {"blob": "x" * 1990}}, ("INVALID_VALUE", "customData")),
    ({"mileage_status": "BUSINESS"}, ("BAD_REQUEST", "mileage_status")),
    ({"localId": "t-1"}, ("BAD_REQUEST", "localId")),
]


@pytest.mark.parametrize(("changes", "expected"), INVALID, ids=[str(e) for _, e in INVALID])
def test_validation_rejects_what_the_documented_api_would(
    sandbox: Sandbox, client: httpx.Client, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    result = save(client, save_item(**changes)).json()["data"][0]
    assert result["result"] == "FAILURE"
    assert result["statusCode"] == 400
    assert expected in [(error["type"], error["param"]) for error in result["error"]]
    assert sandbox.records == {}


def test_all_problems_of_an_item_are_reported_at_once(client: httpx.Client) -> None:
    item = {"date": "x", "distance": {"type": "FURLONG", "value": 3}, "status": "?"}
    errors = save(client, item).json()["data"][0]["error"]
    assert {(e["type"], e["param"]) for e in errors} == {
        ("INVALID_FORMAT", "date"),
        ("INVALID_VALUE", "distance.type"),
        ("INVALID_FORMAT", "distance.value"),
        ("INVALID_VALUE", "status"),
    }


VALID: list[dict[str, Any]] = [
    {"distance": {"type": "MILE", "value": "0"}},
    {"status": "INACTIVE", "mileageStatus": "NOT_BUSINESS"},
    {"mileageStatus": "PENDING", "description": None, "notes": ""},
    {"start": {"time": "2024-05-02T07:15:00.926Z", "lat": "-90", "lng": "180"}},
    {"start": None, "end": None, "duration": 0, "customData": {}},
    {"customData": {f"k{i}": i for i in range(50)}},
    {"customData": {"blob": "x" * 1980}},
]


@pytest.mark.parametrize("changes", VALID)
def test_edge_values_the_docs_allow_are_stored(
    client: httpx.Client, changes: dict[str, Any]
) -> None:
    assert save(client, save_item(**changes)).status_code == 200


def test_vocabulary_is_configurable() -> None:
    sandbox = Sandbox(rules=Rules(mileage_statuses=frozenset({"BUSINESS", "PERSONAL"})))
    with in_process(sandbox) as client:
        assert save(client, save_item(mileageStatus="PERSONAL")).status_code == 200
        assert save(client, save_item(mileageStatus="PENDING")).status_code == 207
        result = save(client, {"date": "2024-01-01", "distance": {"type": "MILE", "value": "1"}})
    assert result.json()["data"][0]["data"]["mileageStatus"] == "PENDING"  # the default


def test_add_record_plants_server_side_data(sandbox: Sandbox, client: httpx.Client) -> None:
    record_id = sandbox.add_record(save_item("planted"))
    assert client.get(f"/v6/mileage/{record_id}").json()["data"]["customData"] == {
        "trackerLocalId": "planted"
    }
    with pytest.raises(ValueError, match="distance"):
        sandbox.add_record({"date": "2024-01-01"})


# ------------------------------------------------------------------- dedupe and deliveries


def test_dedupe_is_off_by_default(sandbox: Sandbox, client: httpx.Client) -> None:
    save(client, save_item("same"))
    save(client, save_item("same"))
    assert sandbox.stored_count_by_custom("trackerLocalId", "same") == 2
    assert sandbox.duplicates_by_custom("trackerLocalId") == {
        "same": list(sandbox.records),
    }


def test_dedupe_switch_answers_duplicate_with_the_existing_record(
    sandbox: Sandbox, any_client: httpx.Client
) -> None:
    sandbox.dedupe_key = "trackerLocalId"
    first = save(any_client, save_item("same")).json()["data"][0]["data"]
    response = save(any_client, save_item("other"), save_item("same"))
    assert response.status_code == 207
    duplicate = response.json()["data"][1]
    assert duplicate["result"] == "FAILURE"
    assert duplicate["statusCode"] == 409
    assert duplicate["error"][0]["type"] == "DUPLICATE"
    assert duplicate["error"][0]["param"] == "customData.trackerLocalId"
    assert duplicate["data"]["id"] == first["id"]
    assert sandbox.stored_count_by_custom("trackerLocalId", "same") == 1
    assert sandbox.deliveries[-1].outcome == "duplicate"
    assert sandbox.deliveries[-1].record_id == first["id"]
    # an update of the same record is not a duplicate
    assert save(any_client, {"id": first["id"], "notes": "n"}).status_code == 200


def test_delivery_log_counts_receipts_and_storage(sandbox: Sandbox, client: httpx.Client) -> None:
    save(client, save_item("a"), save_item("b", date="bad"))
    save(client, save_item("a"))
    deliveries = sandbox.deliveries
    assert [(d.request, d.position, d.outcome, d.stored) for d in deliveries] == [
        (1, 0, "created", True),
        (1, 1, "rejected", False),
        (2, 0, "created", True),
    ]
    assert deliveries[1].errors == ("INVALID_FORMAT",)
    assert deliveries[1].status_code == 400
    assert deliveries[0].custom("trackerLocalId") == "a"
    assert deliveries[0].item == save_item("a")
    assert sandbox.delivery_counts_by_custom("trackerLocalId") == {"a": 2, "b": 1}
    assert sandbox.stored_counts_by_custom("trackerLocalId") == {"a": 2}
    assert sandbox.stored_count_by_custom("trackerLocalId", "b") == 0
    assert len(sandbox.records_with_custom("trackerLocalId", "a")) == 2
    assert sandbox.request_count("/v6/mileage", method="POST", status=207) == 1

"""POST /v6/mileage/query (filters, sort, cursor paging) and GET/DELETE /v6/mileage/{id}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sync.sandbox import Sandbox
from tests.helpers.remote import save_item

DAYS = ["2024-05-03", "2024-05-01", "2024-05-02", "2024-05-01", "2024-05-05", "2024-05-04"]
STATUSES = ["BUSINESS", "PENDING", "NOT_BUSINESS", "BUSINESS", "PENDING", "BUSINESS"]


@pytest.fixture
def stored(sandbox: Sandbox) -> list[str]:
    """Six records; returns their local ids in creation order."""
    names = []
    for index, (day, kind) in enumerate(zip(DAYS, STATUSES, strict=True)):
        name = f"r{index}"
        sandbox.add_record(save_item(name, date=day, mileageStatus=kind))
        names.append(name)
    return names


def query(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/v6/mileage/query", json=body)


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["customData"]["trackerLocalId"] for r in response.json()["data"]]


def walk(client: httpx.Client, **body: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        response = query(client, cursor=cursor, **body)
        pages.append(names(response))
        cursor = response.json()["cursor"]["after"]
        if cursor is None:
            return pages


@pytest.mark.usefixtures("stored")
def test_cursor_paging_by_date_then_creation(any_client: httpx.Client) -> None:
    first = query(any_client, limit=4, sort={"orderBy": "DATE", "direction": "ASC"})
    body = first.json()
    assert body["result"] == "SUCCESS"
    assert body["cursor"]["before"] is None
    assert body["cursor"]["after"] is not None
    assert walk(any_client, limit=4) == [["r1", "r3", "r2", "r0"], ["r5", "r4"]]


@pytest.mark.usefixtures("stored")
def test_before_cursor_goes_back(client: httpx.Client) -> None:
    first = query(client, limit=2).json()
    second = query(client, limit=2, cursor=first["cursor"]["after"]).json()
    back = query(client, limit=2, cursor=second["cursor"]["before"])
    assert names(back) == ["r1", "r3"]
    assert back.json()["cursor"]["before"] is None


@pytest.mark.usefixtures("stored")
def test_descending_and_array_sort(client: httpx.Client) -> None:
    assert walk(client, limit=5, sort={"orderBy": "DATE", "direction": "DESC"}) == [
        ["r4", "r5", "r0", "r2", "r3"],
        ["r1"],
    ]
    as_array = query(client, sort=[{"orderBy": "DATE", "direction": "DESC"}])
    assert names(as_array)[0] == "r4"


@pytest.mark.usefixtures("stored")
def test_inserts_between_pages_neither_skip_nor_repeat(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    first = query(client, limit=3).json()
    sandbox.add_record(save_item("early", date="2024-04-01"))
    sandbox.add_record(save_item("late", date="2024-06-01"))
    second = query(client, limit=10, cursor=first["cursor"]["after"])
    assert names(second) == ["r0", "r5", "r4", "late"]


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"mileageStatus": {"equal": "BUSINESS"}}, ["r3", "r0", "r5"]),
        ({"mileageStatus": {"in": ["PENDING", "NOT_BUSINESS"]}}, ["r1", "r2", "r4"]),
        ({"mileageStatus": {"notIn": ["BUSINESS"]}}, ["r1", "r2", "r4"]),
        ({"mileageStatus": {"notEqual": "PENDING"}}, ["r3", "r2", "r0", "r5"]),
        ({"status": {"equal": "ACTIVE"}}, ["r1", "r3", "r2", "r0", "r5", "r4"]),
        ({"status": {"equal": "INACTIVE"}}, []),
        ({"date": {"greaterThanEqual": "2024-05-02", "lessThan": "2024-05-04"}}, ["r2", "r0"]),
        ({"date": {"greaterThan": "2024-05-04"}, "mileageStatus": {"equal": "PENDING"}}, ["r4"]),
        ({"date": {"lessThanEqual": "2024-05-01"}}, ["r1", "r3"]),
    ],
)
def test_filters(client: httpx.Client, filters: dict[str, Any], expected: list[str]) -> None:
    assert names(query(client, filter=filters)) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"limit": 0}, ("INVALID_VALUE", "limit")),
        ({"limit": "10"}, ("INVALID_FORMAT", "limit")),
        ({"cursor": "garbage"}, ("INVALID_VALUE", "cursor")),
        ({"cursor": 5}, ("INVALID_VALUE", "cursor")),
        ({"sort": {"orderBy": "DISTANCE"}}, ("INVALID_VALUE", "sort.orderBy")),
        ({"sort": {"orderBy": "DATE", "direction": "UP"}}, ("INVALID_VALUE", "sort.direction")),
        ({"sort": "DATE"}, ("INVALID_FORMAT", "sort")),
        ({"filter": {"customData": {"equal": "x"}}}, ("INVALID_VALUE", "filter.customData")),
        ({"filter": {"status": {"like": "A%"}}}, ("INVALID_VALUE", "filter.status.like")),
        ({"filter": {"status": {"in": "ACTIVE"}}}, ("INVALID_FORMAT", "filter.status.in")),
        ({"filter": {"date": {"lessThan": "1/5/24"}}}, ("INVALID_FORMAT", "filter.date.lessThan")),
        ({"filter": {"status": "ACTIVE"}}, ("INVALID_FORMAT", "filter.status")),
        ({"filters": {}}, ("BAD_REQUEST", "filters")),
    ],
)  # fmt: skip
def test_bad_queries_are_400(
    any_client: httpx.Client, body: dict[str, Any], expected: tuple[str, str]
) -> None:
    response = query(any_client, **body)
    assert response.status_code == 400
    assert response.json()["result"] == "FAILURE"
    assert expected in [(e["type"], e["param"]) for e in response.json()["error"]]


def test_date_filter_can_be_switched_off(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.query_date_filter = False
    response = query(client, filter={"date": {"greaterThan": "2024-01-01"}})
    assert response.status_code == 400
    assert response.json()["error"][0]["param"] == "filter.date"


@pytest.mark.usefixtures("stored")
def test_limit_is_clamped_to_the_maximum(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.query_max_limit = 4
    response = query(client, limit=100)
    assert len(names(response)) == 4
    assert response.json()["cursor"]["after"] is not None


def test_empty_store_and_empty_body(client: httpx.Client) -> None:
    response = client.post(
        "/v6/mileage/query", content=b"{}", headers={"content-type": "application/json"}
    )
    assert response.json() == {
        "result": "SUCCESS",
        "data": [],
        "cursor": {"after": None, "before": None},
    }


def test_get_and_delete_one(sandbox: Sandbox, any_client: httpx.Client) -> None:
    record_id = sandbox.add_record(save_item("x"))
    got = any_client.get(f"/v6/mileage/{record_id}")
    assert got.status_code == 200
    assert got.json() == {"result": "SUCCESS", "data": sandbox.record(record_id)}
    deleted = any_client.delete(f"/v6/mileage/{record_id}")
    assert deleted.status_code == 200
    assert deleted.json()["data"]["id"] == record_id
    assert sandbox.records == {}
    for method in ("GET", "DELETE"):
        missing = any_client.request(method, f"/v6/mileage/{record_id}")
        assert missing.status_code == 404
        assert missing.json()["error"][0]["type"] == "INVALID_VALUE"
        assert missing.json()["error"][0]["param"] == "id"
    assert names(query(any_client)) == []


def test_unknown_tight_paths_and_methods(any_client: httpx.Client) -> None:
    missing = any_client.post("/v6/mileages", json={})
    assert missing.status_code == 404
    assert missing.json()["result"] == "FAILURE"
    wrong_method = any_client.put("/v6/mileage", json={})
    assert wrong_method.status_code == 405

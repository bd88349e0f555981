"""Business-mobile: the three cost endpoints, auth, and every paging convention."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sync.sandbox import IgnorePaging, Paging, Sandbox
from tests.helpers.remote import in_process

BASE = "/api/business-mobile/v1"
LIST = f"{BASE}/additional-costs/list"


def ids(payload: Any, key: str | None = None) -> list[int]:
    items = payload if key is None else payload[key]
    return [item["ID"] for item in items]


@pytest.fixture
def seeded(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.seed_costs(7, seed=3)


@pytest.mark.usefixtures("seeded")
def test_default_is_one_based_pages_of_a_bare_array(any_client: httpx.Client) -> None:
    first = any_client.get(LIST, params={"page": 1, "pageSize": 3})
    assert first.status_code == 200
    assert ids(first.json()) == [1, 2, 3]
    assert ids(any_client.get(LIST, params={"page": 3, "pageSize": 3}).json()) == [7]
    assert any_client.get(LIST, params={"page": 4, "pageSize": 3}).json() == []
    assert ids(any_client.get(LIST).json()) == [1, 2, 3, 4, 5, 6, 7]  # default size 20


@pytest.mark.usefixtures("seeded")
def test_zero_based_pages_with_other_names(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.paging = Paging(first_page=0, page_param="p", size_param="n")
    assert ids(client.get(LIST, params={"p": 0, "n": 5}).json()) == [1, 2, 3, 4, 5]
    assert ids(client.get(LIST, params={"p": 1, "n": 5}).json()) == [6, 7]
    # the names it does not know are ignored, like any unknown query parameter
    assert ids(client.get(LIST, params={"page": 1, "pageSize": 2}).json())[:3] == [1, 2, 3]


@pytest.mark.usefixtures("seeded")
def test_offset_limit_envelope_and_total_header(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.paging = Paging(
        style="offset",
        offset_param="skip",
        limit_param="take",
        envelope=True,
        items_key="Data",
        total_key="Count",
        has_next_key="HasMore",
        total_header="X-Total-Count",
    )
    page = any_client.get(LIST, params={"skip": 5, "take": 4})
    assert page.headers["x-total-count"] == "7"
    body = page.json()
    assert set(body) == {"Data", "Count", "HasMore"}
    assert ids(body, "Data") == [6, 7]
    assert body["Count"] == 7
    assert body["HasMore"] is False
    assert any_client.get(LIST, params={"skip": 0, "take": 4}).json()["HasMore"] is True


@pytest.mark.usefixtures("seeded")
def test_page_size_is_clamped(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.paging = Paging(max_size=2, envelope=True)
    body = client.get(LIST, params={"pageSize": 50}).json()
    assert ids(body, "Items") == [1, 2]
    assert body["Total"] == 7


@pytest.mark.parametrize(
    "params", [{"page": "two"}, {"page": 0}, {"pageSize": 0}, {"pageSize": "1.5"}]
)
def test_bad_paging_parameters_are_400(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get(LIST, params=params)
    assert response.status_code == 400
    assert response.json()["Error"] == "err_InvalidElement"


@pytest.mark.usefixtures("seeded")
def test_ignore_page_fault_repeats_the_first_page(
    sandbox: Sandbox, any_client: httpx.Client
) -> None:
    armed = sandbox.add_fault(IgnorePaging())
    pages = [ids(any_client.get(LIST, params={"page": n, "pageSize": 2}).json()) for n in (1, 2, 3)]
    assert pages == [[1, 2], [1, 2], [1, 2]]
    assert armed.hits == 3
    sandbox.clear_faults()
    assert ids(any_client.get(LIST, params={"page": 2, "pageSize": 2}).json()) == [3, 4]


def test_single_cost_and_404(sandbox: Sandbox, any_client: httpx.Client) -> None:
    seeded = sandbox.seed_costs(2, seed=1)
    one = any_client.get(f"{BASE}/additional-costs/2")
    assert one.status_code == 200
    assert one.json()["ID"] == 2
    assert one.json()["TripGuid"] == seeded[1]["TripGuid"]
    missing = any_client.get(f"{BASE}/additional-costs/99")
    assert missing.status_code == 404
    assert missing.json()["Error"] == "err_InvalidElement"
    assert any_client.get(f"{BASE}/additional-costs/abc").status_code == 404


def test_costs_of_one_trip_are_a_bare_array(sandbox: Sandbox, any_client: httpx.Client) -> None:
    guid = str(uuid.UUID(int=7))
    sandbox.seed_costs(4, seed=2, trip_guids=[guid, str(uuid.UUID(int=8))])
    mine = any_client.get(f"{BASE}/trips/{guid}/additional-costs/list")
    assert mine.status_code == 200
    assert isinstance(mine.json(), list)
    assert mine.json()
    assert {cost["TripGuid"] for cost in mine.json()} == {guid}
    upper = any_client.get(f"{BASE}/trips/{guid.upper()}/additional-costs/list")
    assert upper.json() == mine.json()
    other = str(uuid.UUID(int=9))
    assert any_client.get(f"{BASE}/trips/{other}/additional-costs/list").json() == []
    bad = any_client.get(f"{BASE}/trips/not-a-guid/additional-costs/list")
    assert bad.status_code == 400


@pytest.mark.parametrize("value", ["", "Bearer nope", "sandbox-token"])
def test_costs_need_the_token(any_client: httpx.Client, value: str) -> None:
    headers = {"Authorization": value}
    for path in (
        LIST,
        f"{BASE}/additional-costs/1",
        f"{BASE}/trips/{uuid.UUID(int=1)}/additional-costs/list",
    ):
        response = any_client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json()["Error"] == "err_Unauthorized"


def test_auth_header_and_scheme_are_configurable() -> None:
    sandbox = Sandbox(costs_tokens=["k-1"], costs_auth_header="X-Api-Key", costs_auth_scheme="")
    with in_process(sandbox) as client:
        assert client.get(LIST, headers={"X-Api-Key": "k-1"}).status_code == 200
        assert client.get(LIST).status_code == 401  # the default bearer is not enough now
        sandbox.costs_tokens.add("k-2")
        assert client.get(LIST, headers={"X-Api-Key": "k-2"}).status_code == 200


def test_amounts_are_exact_json_decimals(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.add_cost({"ID": 1, "Amount": Decimal("10.30")})
    sandbox.add_cost({"ID": 2, "Amount": Decimal("0.10") + Decimal("0.20")})
    sandbox.add_cost({"ID": 3, "Amount": 10.3})
    raw = client.get(LIST).content
    assert b'"Amount":10.30' in raw
    assert b'"Amount":0.30' in raw
    assert b'"Amount":10.3}' in raw
    assert json.loads(raw, parse_float=Decimal)[0]["Amount"] == Decimal("10.30")


def test_planted_malformed_items_are_served_as_is(
    sandbox: Sandbox, any_client: httpx.Client
) -> None:
    sandbox.seed_costs(2)
    sandbox.add_cost({"ID": "3", "Amount": "ten", "Labels": "{not json", "TripGuid": None})
    sandbox.add_cost(["not", "an", "object"])
    body = any_client.get(LIST).json()
    assert len(body) == 4
    assert body[2]["Amount"] == "ten"
    assert body[3] == ["not", "an", "object"]


def test_costs_can_change_between_pages(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.seed_costs(4)
    assert ids(client.get(LIST, params={"pageSize": 2}).json()) == [1, 2]
    assert sandbox.remove_cost(1)
    assert not sandbox.remove_cost(1)
    assert sandbox.update_cost(3, Amount=Decimal("1.00"), LastUpdated="2030-01-01 00:00:00")
    assert not sandbox.update_cost(42, Amount=1)
    second = client.get(LIST, params={"page": 2, "pageSize": 2}).json()
    assert ids(second) == [4]
    changed = sandbox.cost(3)
    assert changed is not None
    assert changed["Amount"] == Decimal("1.00")
    assert sandbox.seed_costs(1)[0]["ID"] == 5  # ids continue after the highest


def test_unknown_business_mobile_path(any_client: httpx.Client) -> None:
    response = any_client.get(f"{BASE}/nothing-here")
    assert response.status_code == 404
    assert response.json()["Error"] == "err_NotFound"

"""Tight auth: client-credential tokens that expire, bearer checks, scopes, the rate limit."""

from __future__ import annotations

import httpx
import pytest

from sync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ManualClock, Sandbox
from tests.helpers.remote import in_process, save_item

CREDENTIALS = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


def mint(client: httpx.Client, auth: tuple[str, str] = CREDENTIALS, **form: str) -> httpx.Response:
    form.setdefault("grant_type", "client_credentials")
    return client.post("/v6/auth/token", data=form, auth=auth, headers={"Authorization": ""})


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    body = response.json()
    assert body["result"] == "FAILURE"
    assert body["data"] is None
    first = body["error"][0]
    return first["type"], first["param"]


def test_minted_token_works_and_has_the_documented_shape(any_client: httpx.Client) -> None:
    response = mint(any_client, userId="usr_1", scope="write")
    assert response.status_code == 200
    body = response.json()
    assert body.keys() == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "write"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    saved = any_client.post("/v6/mileage", json={"data": [save_item()]}, headers=headers)
    assert saved.status_code == 200


@pytest.mark.parametrize(
    ("auth", "form", "status", "expected"),
    [
        (("sandbox-client", "wrong"), {}, 401, ("INVALID_TOKEN", None)),
        (("nobody", "sandbox-secret"), {}, 401, ("INVALID_TOKEN", None)),
        (CREDENTIALS, {"grant_type": ""}, 400, ("REQUIRED", "grant_type")),
        (CREDENTIALS, {"grant_type": "authorization_code"}, 400, ("INVALID_VALUE", "grant_type")),
        (CREDENTIALS, {"scope": "admin"}, 400, ("INVALID_VALUE", "scope")),
    ],
)
def test_token_endpoint_refusals(
    client: httpx.Client,
    auth: tuple[str, str],
    form: dict[str, str],
    status: int,
    expected: tuple[str, str | None],
) -> None:
    response = mint(client, auth, **form)
    assert response.status_code == status
    assert error_of(response) == expected


def test_token_endpoint_wants_a_form_and_basic_auth(client: httpx.Client) -> None:
    as_json = client.post(
        "/v6/auth/token", json={"grant_type": "client_credentials"}, auth=CREDENTIALS
    )
    assert as_json.status_code == 400
    assert error_of(as_json) == ("BAD_REQUEST", None)
    no_basic = client.post(
        "/v6/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": ""}
    )
    assert no_basic.status_code == 401


def test_minted_token_expires_on_the_injected_clock(clock: ManualClock) -> None:
    sandbox = Sandbox(clock=clock, token_ttl=60)
    with in_process(sandbox) as client:
        token = mint(client).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/v6/mileage/query", json={}, headers=headers).status_code == 200
        clock.advance(60)
        expired = client.post("/v6/mileage/query", json={}, headers=headers)
    assert expired.status_code == 401
    assert error_of(expired) == ("EXPIRED_TOKEN", None)
    assert expired.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer nope", "Basic c2FuZGJveDp4", "sandbox-token"]
)
def test_missing_or_unknown_bearer_is_invalid_token(
    any_client: httpx.Client, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {"Authorization": ""}
    response = any_client.post("/v6/mileage", json={"data": [save_item()]}, headers=headers)
    assert response.status_code == 401
    assert error_of(response) == ("INVALID_TOKEN", None)
    assert response.json()["error"][0]["message"] == "Invalid access token"


def test_expire_and_revoke_from_a_test(sandbox: Sandbox, client: httpx.Client) -> None:
    token = sandbox.issue_token()
    other = sandbox.issue_token()
    sandbox.expire_token(token)
    sandbox.revoke_token(other)
    for value, kind in ((token, "EXPIRED_TOKEN"), (other, "INVALID_TOKEN")):
        response = client.get("/v6/mileage/mlg_x", headers={"Authorization": f"Bearer {value}"})
        assert response.status_code == 401
        assert error_of(response) == (kind, None)
    sandbox.expire_token("sandbox-token")
    assert client.post("/v6/mileage/query", json={}).status_code == 401


def test_read_scope_cannot_write(sandbox: Sandbox, client: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {sandbox.issue_token(scopes=['read'])}"}
    assert client.post("/v6/mileage/query", json={}, headers=headers).status_code == 200
    saved = client.post("/v6/mileage", json={"data": [save_item()]}, headers=headers)
    assert saved.status_code == 403
    deleted = client.delete("/v6/mileage/mlg_1", headers=headers)
    assert deleted.status_code == 403
    read_token = mint(client, scope="read").json()
    assert read_token["scope"] == "read"


def test_rate_limit_per_token_on_a_sliding_window(clock: ManualClock) -> None:
    sandbox = Sandbox(clock=clock, rate_limit=3, rate_window=300)
    with in_process(sandbox) as client:
        statuses = [client.post("/v6/mileage/query", json={}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.post("/v6/mileage/query", json={})
        assert limited.status_code == 429
        assert "retry-after" not in limited.headers  # none documented
        assert error_of(limited)[0] == "UNKNOWN_ERROR"
        # another token has its own budget
        other = {"Authorization": f"Bearer {sandbox.issue_token()}"}
        assert client.post("/v6/mileage/query", json={}, headers=other).status_code == 200
        clock.advance(299.9)
        assert client.post("/v6/mileage/query", json={}).status_code == 429
        clock.advance(0.1)
        assert client.post("/v6/mileage/query", json={}).status_code == 200


def test_rate_limit_retry_after_is_optional(clock: ManualClock) -> None:
    sandbox = Sandbox(clock=clock, rate_limit=1, rate_window=300, rate_retry_after=True)
    with in_process(sandbox) as client:
        client.post("/v6/mileage/query", json={})
        clock.advance(100.5)
        limited = client.post("/v6/mileage/query", json={})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "200"


def test_token_endpoint_is_not_rate_limited(clock: ManualClock) -> None:
    sandbox = Sandbox(clock=clock, rate_limit=1)
    with in_process(sandbox) as client:
        assert [mint(client).status_code for _ in range(3)] == [200, 200, 200]

"""Every fault kind against the real app, in-process and over loopback, and what httpx sees."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx
import pytest

from sync.sandbox import (
    Drip,
    Drop,
    IgnorePaging,
    ItemRule,
    Latency,
    Rewrite,
    Sandbox,
    SandboxServer,
    Status,
    StoreThenDrop,
    Truncate,
    fewer_items,
    more_items,
    replace_body,
    retype_field,
    serve,
    truncated_json,
    without_field,
)
from sync.sandbox.faults import FaultBook
from tests.helpers.remote import AUTH, save_item
from tests.helpers.wait import wait_for

SAVE = "/v6/mileage"
LIST = "/api/business-mobile/v1/additional-costs/list"


def save(client: httpx.Client, *items: Any) -> httpx.Response:
    return client.post(SAVE, json={"data": list(items) or [save_item()]})


def stored(sandbox: Sandbox) -> int:
    return len(sandbox.records)


# -------------------------------------------------------------------------- statuses


def test_scripted_status_sequence_then_normal(sandbox: Sandbox, any_client: httpx.Client) -> None:
    armed = sandbox.fail_next(SAVE, [503, 500, 504], method="POST")
    statuses = [save(any_client).status_code for _ in range(4)]
    assert statuses == [503, 500, 504, 200]
    assert stored(sandbox) == 1
    assert [handle.hits for handle in armed] == [1, 1, 1]
    assert all(handle.spent for handle in armed)
    log = [(r.status, r.fault) for r in sandbox.requests]
    assert log == [(503, "Status"), (500, "Status"), (504, "Status"), (200, None)]


def test_status_fault_body_and_retry_after(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.add_fault(Status(status=429, retry_after="120", path=SAVE))
    sandbox.add_fault(Status(status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT", path=SAVE))
    sandbox.add_fault(Status(status=429, path=SAVE))
    first, second, third = (save(any_client) for _ in range(3))
    assert first.status_code == 429
    assert first.headers["retry-after"] == "120"
    assert first.json()["result"] == "FAILURE"
    assert first.json()["error"][0]["type"] == "UNKNOWN_ERROR"
    assert second.headers["retry-after"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert "retry-after" not in third.headers
    assert stored(sandbox) == 0


def test_html_proxy_page(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.add_fault(
        Status(status=502, body=b"<html><h1>502 Bad Gateway</h1></html>", content_type="text/html")
    )
    response = save(any_client)
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_status_faults_hit_costs_too(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.fail_next(LIST, [500], method="GET")
    sandbox.add_fault(Status(status=503, body={"Error": "err_Maintenance"}, path=LIST))
    assert any_client.get(LIST).status_code == 500
    third = any_client.get(LIST)
    assert third.status_code == 503
    assert third.json() == {"Error": "err_Maintenance"}
    assert any_client.get(LIST).status_code == 200


# ------------------------------------------------------------------ connection faults


def test_drop_before_response_stores_nothing(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.add_fault(Drop(path=SAVE))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        save(any_client)
    assert stored(sandbox) == 0
    assert sandbox.deliveries == []
    assert sandbox.requests[-1].status is None
    assert sandbox.requests[-1].fault == "Drop"
    assert save(any_client).status_code == 200  # consumed: the next one passes


def test_drop_is_a_clean_close_even_while_the_body_streams_in(
    sandbox: Sandbox, server: SandboxServer
) -> None:
    # The request's headers reach the app before its body has all arrived. Closing a socket
    # whose receive buffer still holds unread bytes sends an RST instead of a FIN, so a Drop
    # that closed on the headers alone would reach this client as "connection reset".
    sandbox.add_fault(Drop(path=SAVE))
    body = b" " * 2_000_000
    head = (
        f"POST {SAVE} HTTP/1.1\r\nHost: sandbox\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(head + body)
        assert sock.recv(1024) == b""  # a FIN and no answer; an RST raises ConnectionResetError
    assert sandbox.requests[-1].fault == "Drop"
    assert stored(sandbox) == 0


def test_drop_with_reset(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.add_fault(Drop(path=SAVE, reset=True))
    # A RST surfaces as ReadError ("Connection reset by peer") over loopback.
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        save(any_client)
    assert stored(sandbox) == 0


def test_store_then_drop(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.add_fault(StoreThenDrop(path=SAVE))
    with pytest.raises(httpx.RemoteProtocolError):
        save(any_client, save_item("in-doubt"))
    assert sandbox.stored_count_by_custom("trackerLocalId", "in-doubt") == 1
    assert [d.outcome for d in sandbox.deliveries] == ["created"]
    assert sandbox.requests[-1].status is None
    # the blind retry a naive client would do creates the duplicate the tests must catch
    save(any_client, save_item("in-doubt"))
    assert sandbox.duplicates_by_custom("trackerLocalId").keys() == {"in-doubt"}


def test_truncated_body(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.add_fault(Truncate(path=SAVE, keep=0.3))
    with pytest.raises(httpx.RemoteProtocolError):
        save(any_client)
    assert stored(sandbox) == 1  # the endpoint ran


def test_truncated_costs_page(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.seed_costs(5)
    sandbox.add_fault(Truncate(path=LIST, keep=100))
    with pytest.raises(httpx.RemoteProtocolError):
        any_client.get(LIST)
    assert len(any_client.get(LIST).json()) == 5


def test_latency_in_process_just_waits(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.add_fault(Latency(seconds=0.2, path=SAVE))
    started = time.perf_counter()
    assert save(client).status_code == 200
    assert time.perf_counter() - started >= 0.2


def test_a_slow_server_says_whether_a_request_arrived_whole(server: SandboxServer) -> None:
    """``received``: the body arrived to its last byte. A client that dies halfway through
    its body leaves a request logged at its headers, never answered and never stored."""
    sandbox = server.sandbox
    sandbox.add_fault(Latency(seconds=0.05, path=SAVE, times=None))
    body = json.dumps({"data": [save_item("half")]}).encode()
    head = (
        f"POST {SAVE} HTTP/1.1\r\nHost: sandbox\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(head + body[: len(body) // 2])
        assert wait_for(lambda: len(sandbox.requests) == 1, 10)
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as client:
        assert save(client, save_item("whole")).status_code == 200
    half, whole = sandbox.requests
    assert (half.received, whole.received) == (False, True)
    assert half.status != 200 and whole.status == 200
    assert sandbox.stored_count_by_custom("trackerLocalId", "half") == 0
    assert sandbox.stored_count_by_custom("trackerLocalId", "whole") == 1


def test_latency_beyond_the_read_timeout_is_another_unknown_outcome() -> None:
    sandbox = Sandbox()
    sandbox.add_fault(Latency(seconds=0.4, path=SAVE))
    with serve(sandbox) as server:
        timeout = httpx.Timeout(5.0, read=0.1)
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=timeout) as client:
            with pytest.raises(httpx.ReadTimeout):
                save(client, save_item("late"))
    # Leaving `serve` waits for the request in flight: the server finished it after all.
    assert sandbox.stored_count_by_custom("trackerLocalId", "late") == 1


def test_drip_over_loopback_defeats_a_read_timeout(sandbox: Sandbox, live: httpx.Client) -> None:
    sandbox.add_record(save_item("x"))
    sandbox.add_fault(Drip(path="/v6/mileage/query", chunk=100, interval=0.05))
    started = time.perf_counter()
    response = live.post("/v6/mileage/query", json={}, timeout=httpx.Timeout(5.0, read=0.5))
    elapsed = time.perf_counter() - started
    chunks = -(-len(response.content) // 100)
    assert response.json()["data"][0]["customData"] == {"trackerLocalId": "x"}
    assert elapsed >= (chunks - 1) * 0.05
    assert chunks >= 5


def test_drip_client_gives_up_at_its_total_deadline(sandbox: Sandbox, live: httpx.Client) -> None:
    sandbox.seed_costs(20)
    sandbox.add_fault(Drip(path=LIST, chunk=1, interval=0.02))
    received = b""
    started = time.perf_counter()
    with live.stream("GET", LIST, timeout=httpx.Timeout(5.0, read=0.5)) as response:
        for piece in response.iter_bytes():
            received += piece
            if time.perf_counter() - started > 0.3:
                break
    assert 0 < len(received) < int(response.headers["content-length"])


def test_drip_in_process_delivers_the_body(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.add_fault(Drip(path=SAVE, chunk=200, interval=0.01))
    assert save(client).json()["result"] == "SUCCESS"


# --------------------------------------------------------------- malformed responses


def test_truncated_json_is_a_complete_http_response(
    sandbox: Sandbox, any_client: httpx.Client
) -> None:
    sandbox.add_fault(truncated_json(path=SAVE))
    response = save(any_client)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert stored(sandbox) == 1


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        (fewer_items(path=SAVE), lambda body: len(body["data"]) == 1),
        (more_items(path=SAVE), lambda body: len(body["data"]) == 3),
        (without_field("result", path=SAVE), lambda body: "result" not in body["data"][0]),
        (without_field("data", top=True, path=SAVE), lambda body: "data" not in body),
        (
            retype_field("statusCode", "200", path=SAVE),
            lambda body: body["data"][1]["statusCode"] == "200",
        ),
        (
            retype_field("data", {"oops": 1}, top=True, path=SAVE),
            lambda body: body["data"] == {"oops": 1},
        ),
        (
            replace_body({"result": "SUCCESS"}, path=SAVE),
            lambda body: body == {"result": "SUCCESS"},
        ),
        (
            Rewrite(transform=lambda body: body["data"][::-1], path=SAVE),  # a bare, reversed list
            lambda body: body[0]["data"]["customData"]["trackerLocalId"] == "b",
        ),
    ],
)
def test_malformed_save_responses(
    sandbox: Sandbox, any_client: httpx.Client, fault: Rewrite, check: Any
) -> None:
    sandbox.add_fault(fault)
    response = save(any_client, save_item("a"), save_item("b"))
    assert response.status_code == 200
    assert check(response.json())
    assert stored(sandbox) == 2  # the work was done; only the answer lies


def test_rewrite_can_change_status_and_type(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.add_fault(
        replace_body(b"Service Unavailable", status=503, content_type="text/plain", path=SAVE)
    )
    response = save(client)
    assert response.status_code == 503
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "Service Unavailable"
    assert response.headers["content-length"] == str(len("Service Unavailable"))


def test_malformed_costs_pages(sandbox: Sandbox, any_client: httpx.Client) -> None:
    sandbox.seed_costs(3)
    sandbox.add_fault(fewer_items(path=LIST))
    sandbox.add_fault(retype_field("Amount", "10,30", path=LIST))
    sandbox.add_fault(truncated_json(path=LIST, keep=0.5))
    assert len(any_client.get(LIST).json()) == 2
    assert {cost["Amount"] for cost in any_client.get(LIST).json()} == {"10,30"}
    with pytest.raises(json.JSONDecodeError):
        any_client.get(LIST).json()


# --------------------------------------------------------------------- item rules


def test_description_rule_fails_matching_items_only(
    sandbox: Sandbox, any_client: httpx.Client
) -> None:
    sandbox.add_fault(ItemRule.description_contains("REJECT ME"))
    response = save(
        any_client, save_item("a"), save_item("b", description="please REJECT ME"), save_item("c")
    )
    assert response.status_code == 207
    failed = response.json()["data"][1]
    assert failed["statusCode"] == 400
    assert failed["error"] == [
        {
            "type": "INVALID_VALUE",
            "message": "description must not contain 'REJECT ME'",
            "param": "description",
        }
    ]
    assert sandbox.stored_counts_by_custom("trackerLocalId") == {"a": 1, "c": 1}
    # sticky by default: the item keeps failing
    assert save(any_client, save_item("b", description="REJECT ME")).status_code == 207


def test_generic_rule_consumed_per_item(sandbox: Sandbox, client: httpx.Client) -> None:
    armed = sandbox.add_fault(
        ItemRule(
            predicate=lambda item: item.get("customData", {}).get("trackerLocalId") == "flaky",
            error_type="UNKNOWN_ERROR",
            message="try again",
            status_code=500,
            times=1,
        )
    )
    first = save(client, save_item("flaky")).json()["data"][0]
    assert (first["statusCode"], first["error"][0]["type"], first["error"][0]["param"]) == (
        500,
        "UNKNOWN_ERROR",
        None,
    )
    assert save(client, save_item("flaky")).status_code == 200
    assert armed.hits == 1


def test_rules_only_see_valid_items(sandbox: Sandbox, client: httpx.Client) -> None:
    armed = sandbox.add_fault(ItemRule(predicate=lambda item: True, times=None))
    result = save(client, save_item(date="bad")).json()["data"][0]
    assert result["error"][0]["type"] == "INVALID_FORMAT"
    assert armed.hits == 0


def test_rule_can_script_not_modifiable(sandbox: Sandbox, client: httpx.Client) -> None:
    record_id = sandbox.add_record(save_item())
    sandbox.add_fault(
        ItemRule(predicate=lambda item: "id" in item, error_type="NOT_MODIFIABLE", status_code=409)
    )
    result = save(client, {"id": record_id, "notes": "x"}).json()["data"][0]
    assert (result["statusCode"], result["error"][0]["type"]) == (409, "NOT_MODIFIABLE")


# ------------------------------------------------------------------ matching rules


def test_faults_match_method_and_path_patterns(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.add_fault(Status(status=500, method="GET", path="/v6/mileage/*", times=None))
    record_id = sandbox.add_record(save_item())
    assert client.get(f"/v6/mileage/{record_id}").status_code == 500
    assert client.get(f"/v6/mileage/{record_id}").status_code == 500  # sticky
    assert client.delete(f"/v6/mileage/{record_id}").status_code == 200
    assert save(client).status_code == 200
    sandbox.clear_faults()
    assert sandbox.faults == []


def test_latency_combines_with_an_outcome(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.add_fault(Latency(seconds=0.1, path=SAVE))
    sandbox.add_fault(Status(status=503, path=SAVE))
    started = time.perf_counter()
    assert save(client).status_code == 503
    assert time.perf_counter() - started >= 0.1


def test_first_armed_wins_and_times_counts() -> None:
    book = FaultBook()
    first = book.add(Status(status=500, times=2))
    book.add(Drop())
    taken = [book.take((Status, Drop), "GET", "/x") for _ in range(4)]
    assert [type(fault).__name__ for fault in taken] == ["Status", "Status", "Drop", "NoneType"]
    assert first.hits == 2
    with pytest.raises(ValueError, match="times"):
        book.add(Drop(times=0))


def test_ignore_paging_is_sticky_by_default() -> None:
    fault = IgnorePaging()
    assert fault.times is None
    assert fault.matches("GET", LIST)
    assert not fault.matches("GET", "/v6/mileage")

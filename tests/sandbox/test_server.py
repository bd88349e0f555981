"""Running the sandbox: loopback server lifecycle, in-process transports, no import side effects."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.sandbox import (
    Drip,
    Sandbox,
    SandboxServer,
    SandboxTransport,
    create_app,
    serve,
)
from sync.sandbox.server import bind_loopback, check_loopback
from tests.helpers.remote import AUTH, save_item
from tests.helpers.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]


def sandbox_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("sandbox-")]


def test_starts_fast_on_a_free_port_and_stops_cleanly() -> None:
    before = len(sandbox_threads())
    started = time.perf_counter()
    with serve() as server:
        startup = time.perf_counter() - started
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.costs_url == server.url + "/api/business-mobile"
        assert server.tight_url == server.url
        response = httpx.get(server.url + "/v6/mileage/mlg_x", headers=AUTH)
        assert response.status_code == 404
        assert len(sandbox_threads()) == before + 1
    assert startup < 1.0
    assert len(sandbox_threads()) == before
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/v6/mileage/mlg_x", timeout=1)


def test_fixed_port_and_other_loopback_addresses() -> None:
    probe = bind_loopback("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    with serve(Sandbox(), port=port) as server:
        assert server.port == port
    with serve(Sandbox(), host="127.0.0.2") as server:
        assert httpx.get(server.costs_url + "/v1/additional-costs/list", headers=AUTH).json() == []


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        bind_loopback("::1", 0).close()
    except OSError:
        pytest.skip("::1 is not configured here")
    with serve(host="::1") as server:
        assert server.url.startswith("http://[::1]:")
        assert httpx.get(server.url + "/v6/mileage/x", headers=AUTH).status_code == 404


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", ""])
def test_only_loopback_addresses_are_accepted(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        check_loopback(host)
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(Sandbox(), host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_addresses(host: str) -> None:
    check_loopback(host)


def test_a_server_starts_once_and_port_must_be_free() -> None:
    with serve() as server:
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
        with pytest.raises(OSError, match="in use"):
            SandboxServer(Sandbox(), port=server.port).start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = SandboxServer(Sandbox()).port


def test_use_swaps_the_sandbox(server: SandboxServer) -> None:
    first, second = Sandbox(), Sandbox()
    second.seed_costs(2)
    server.use(first)
    url = server.costs_url + "/v1/additional-costs/list"
    assert httpx.get(url, headers=AUTH).json() == []
    server.use(second)
    assert len(httpx.get(url, headers=AUTH).json()) == 2
    assert server.sandbox is second
    assert first.request_count() == 1
    assert second.request_count() == 1


@pytest.mark.slow
def test_stop_does_not_hang_on_a_response_in_flight() -> None:
    sandbox = Sandbox()
    sandbox.add_record(save_item())
    sandbox.add_fault(Drip(path="/v6/mileage/query", chunk=1, interval=1.0))
    done = threading.Event()

    def slow_reader(url: str) -> None:
        try:
            httpx.post(url + "/v6/mileage/query", json={}, headers=AUTH, timeout=10)
        except httpx.HTTPError:
            pass
        finally:
            done.set()

    with serve(sandbox) as server:
        reader = threading.Thread(target=slow_reader, args=(server.url,))
        reader.start()
        # The request must be in flight before we stop.
        assert wait_for(lambda: sandbox.request_count() > 0, 10)
        stopping = time.perf_counter()
    assert time.perf_counter() - stopping < 3.0
    assert done.wait(5)
    reader.join(5)


# ------------------------------------------------------------------------- in-process


def test_sandbox_transport_sends_streamed_bodies(sandbox: Sandbox) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"data": ['
        yield httpx.Request("POST", "/", json=save_item()).content
        yield b"]}"

    with httpx.Client(
        transport=SandboxTransport(create_app(sandbox)), base_url="http://sandbox", headers=AUTH
    ) as client:
        response = client.post(
            "/v6/mileage", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 200
    assert sandbox.stored_count_by_custom("trackerLocalId", "t-1") == 1


def test_asgi_transport_works_with_async_clients(sandbox: Sandbox) -> None:
    async def run() -> int:
        transport = httpx.ASGITransport(app=create_app(sandbox))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", headers=AUTH
        ) as client:
            response = await client.post("/v6/mileage", json={"data": [save_item()]})
            return response.status_code

    assert asyncio.run(run()) == 200


def test_starlette_testclient_works_but_warns_on_import(sandbox: Sandbox) -> None:
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    with TestClient(create_app(sandbox), headers=dict(AUTH)) as client:
        assert client.post("/v6/mileage", json={"data": [save_item()]}).status_code == 200


def test_importing_has_no_side_effects() -> None:
    code = (
        "import os, sys, threading\n"
        "def sockets():\n"
        "    links = []\n"
        "    for fd in os.listdir('/proc/self/fd'):\n"
        "        try:\n"
        "            links.append(os.readlink(f'/proc/self/fd/{fd}'))\n"
        "        except OSError:\n"
        "            pass  # the descriptor listdir itself used\n"
        "    return sum(link.startswith('socket:') for link in links)\n"
        "before = sockets()\n"
        "import sync.sandbox, sync.cli.sandbox\n"
        "sync.sandbox.Sandbox().seed_costs(3)\n"
        "print(threading.active_count(), sockets() - before, 'uvicorn' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["1", "0", "False"]

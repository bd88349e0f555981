"""The outermost ASGI layer: logs every request and applies the transport-level faults.

Dropping a connection is not something ASGI can express (an app that raises before answering
gets a 500 from the server). Over loopback this layer therefore reaches the socket itself:
uvicorn's ``send`` is a bound method of its request cycle, whose ``transport`` is the asyncio
transport of the connection, and closing that transport is a real FIN (or, with ``SO_LINGER``
0, an RST). ``tests/sandbox`` pins this against the installed uvicorn. In-process (TestClient,
``httpx.ASGITransport``) there is no socket, so the layer raises the exception a client would see
over a real connection, ``httpx.RemoteProtocolError``, and both test clients re-raise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.sandbox.faults import Drip, Drop, Fault, Latency, Rewrite, Status, StoreThenDrop, Truncate
from sync.sandbox.jsonbody import JsonError, dumps, loads
from sync.sandbox.logs import REQUEST_KEY
from sync.sandbox.state import Sandbox

OUTCOMES: tuple[type[Fault], ...] = (Status, Drop, StoreThenDrop, Drip, Truncate, Rewrite)
Headers = list[tuple[bytes, bytes]]


class FaultLayer:
    """Wraps the routed app: request log, then Latency, then at most one outcome fault."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        method, path = scope["method"], scope["path"]
        entry = sandbox.log_request(method, path, scope.get("query_string", b"").decode("latin-1"))
        scope = {**scope, REQUEST_KEY: entry.number}

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        latency = sandbox.take_fault((Latency,), method, path)
        if isinstance(latency, Latency):
            # A slow server has the request already: read it first, so the work still happens
            # when the client gives up during the wait (another outcome it cannot know).
            receive, entry.received = await _buffered(receive)
            await asyncio.sleep(latency.seconds)
        fault = sandbox.take_fault(OUTCOMES, method, path)
        if fault is None:
            await self.app(scope, receive, logged)
            return
        entry.fault = type(fault).__name__
        if isinstance(fault, Status):
            body, headers = fault.render()
            await _respond(logged, fault.status, headers, body)
            return
        if type(fault) is Drop:
            # Take the whole request in first. A client sends the headers and the body in
            # separate writes; closing before the body has arrived makes the kernel answer
            # the late bytes with an RST, so a FIN drop would now and then reach the client
            # as "connection reset" (about 1 in 50 over loopback, more under load).
            receive, _ = await _buffered(receive)
            await _drop(receive, send, reset=fault.reset)
            return
        status, headers, body = await _capture(self.app, scope, receive)
        if isinstance(fault, StoreThenDrop):
            await _drop(receive, send, reset=fault.reset)
        elif isinstance(fault, Drip):
            await _drip(logged, send, status, headers, body, fault)
        elif isinstance(fault, Truncate):
            await logged({"type": "http.response.start", "status": status, "headers": headers})
            await logged({"type": "http.response.body", "body": fault.cut(body), "more_body": True})
            await _drop(receive, send, reset=False, after_body=True)
        elif isinstance(fault, Rewrite):
            await _rewrite(logged, status, headers, body, fault)


async def _buffered(receive: Receive) -> tuple[Receive, bool]:
    """Read the whole request body now; replay it to the app, then pass ``receive`` through.
    The flag: the whole body arrived (False: the client went away before its last byte)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return receive, False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    pending: list[Message] = [
        {"type": "http.request", "body": b"".join(chunks), "more_body": False}
    ]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay, True


def _transport(send: Send) -> asyncio.Transport | None:
    """The connection's transport when served by uvicorn (see the module docstring)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


async def _drop(receive: Receive, send: Send, *, reset: bool, after_body: bool = False) -> None:
    transport = _transport(send)
    if transport is None:
        if after_body:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete body")
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.close()
    # Return only once uvicorn has noticed the disconnect; otherwise it would try to answer 500.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            while (await receive())["type"] != "http.disconnect":
                pass


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, Headers, bytes]:
    """Run the endpoint to completion and keep its response instead of sending it."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return int(start.get("status", 500)), list(start.get("headers", [])), b"".join(chunks)


def _with_length(headers: Headers, body: bytes, content_type: str | None = None) -> Headers:
    drop = {b"content-length"} | ({b"content-type"} if content_type else set())
    kept = [(name, value) for name, value in headers if name.lower() not in drop]
    kept.append((b"content-length", str(len(body)).encode()))
    if content_type:
        kept.append((b"content-type", content_type.encode("latin-1")))
    return kept


async def _respond(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": _with_length(headers, body)}
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drip(
    logged: Send, raw_send: Send, status: int, headers: Headers, body: bytes, fault: Drip
) -> None:
    transport = _transport(raw_send)
    await logged({"type": "http.response.start", "status": status, "headers": headers})
    step = max(1, fault.chunk)
    for offset in range(0, len(body), step):
        if transport is not None and transport.is_closing():
            return  # the client gave up; stop instead of sleeping into the void
        last = offset + step >= len(body)
        await logged(
            {
                "type": "http.response.body",
                "body": body[offset : offset + step],
                "more_body": not last,
            }
        )
        if not last:
            await asyncio.sleep(fault.interval)
    if not body:
        await logged({"type": "http.response.body", "body": b"", "more_body": False})


async def _rewrite(
    logged: Send, status: int, headers: Headers, body: bytes, fault: Rewrite
) -> None:
    try:
        parsed: Any = loads(body)
    except JsonError:
        parsed = body
    result = fault.transform(parsed)
    new_body = result if isinstance(result, bytes) else dumps(result)
    await _respond(
        logged,
        fault.status or status,
        _with_length(headers, new_body, fault.content_type),
        new_body,
    )

"""A synchronous in-process httpx transport for the sandbox app (no socket, no thread).

httpx's own ``ASGITransport`` is async-only, and Starlette's ``TestClient`` (a sync
``httpx.Client``) warns ``StarletteDeprecationWarning`` on import since Starlette 1.x when
``httpx2`` is not installed, which fails a ``filterwarnings = error`` test run. This transport
drives ``httpx.ASGITransport`` on a private event loop per request, so any code that accepts an
``httpx.BaseTransport`` can talk to the sandbox in-process::

    client = httpx.Client(transport=SandboxTransport(create_app(sb)), base_url="http://sandbox")

Faults that need a socket behave as documented in ``transport``: drops raise
``httpx.RemoteProtocolError``; latency and drip just take their time.
"""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp


class SandboxTransport(httpx.BaseTransport):
    """``httpx.BaseTransport`` that hands each request to an ASGI app in this thread.

    Not for use from a thread that is already running an event loop (use
    ``httpx.AsyncClient(transport=httpx.ASGITransport(app))`` there).
    """

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run the app for ``request`` and return the complete response."""
        request.read()  # the async transport needs a replayable body, not a sync iterator
        return asyncio.run(self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            extensions=response.extensions,
        )

"""``create_app(sandbox)``: the ASGI app serving both APIs from one Sandbox."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp

from sync.sandbox.control import control_routes
from sync.sandbox.costs import BASE_PATH, costs_routes
from sync.sandbox.mileage import ItemError
from sync.sandbox.mileagebook import failure
from sync.sandbox.replies import json_reply
from sync.sandbox.state import Sandbox
from sync.sandbox.tight import tight_routes
from sync.sandbox.transport import FaultLayer


def create_app(sandbox: Sandbox) -> ASGIApp:
    """The sandbox as an ASGI app: Tight v6 at ``/v6/...``, business-mobile at
    ``/api/business-mobile/...``, "another client" at ``/_sandbox/...`` (``sync.sandbox.control``),
    wrapped by the fault layer.

    In-process with a *synchronous* ``httpx.Client`` pass ``transport=SandboxTransport(app)``;
    ``httpx.ASGITransport(app)`` works only with ``httpx.AsyncClient``. Starlette's TestClient
    works too but warns on import (see ``sync.sandbox.inprocess``).
    """

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = f"no endpoint {request.method} {request.url.path}"
        if request.url.path.startswith(BASE_PATH):
            code = "err_NotFound" if status == 404 else "err_MethodNotAllowed"
            return json_reply({"Error": code, "Message": message}, status)
        return json_reply(failure([ItemError("BAD_REQUEST", message)]), status)

    app = Starlette(
        routes=[
            *tight_routes(sandbox),
            Mount(BASE_PATH, routes=costs_routes(sandbox)),
            *control_routes(sandbox),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )
    return FaultLayer(app, sandbox)

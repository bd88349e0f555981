"""Starlette responses carrying exact JSON (see ``jsonbody``), and the early-exit helper."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from sync.sandbox.jsonbody import dumps


def json_reply(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``payload`` as exact JSON (``Decimal`` written digit for digit)."""
    return Response(
        dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


class Refused(Exception):
    """Raised inside an endpoint to answer ``response`` at once (auth, bad body, ...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


Endpoint = Callable[[Request], Awaitable[Response]]


def answering_refusals(endpoint: Endpoint) -> Endpoint:
    """Wrap an endpoint so that :class:`Refused` becomes its response."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Refused as refusal:
            return refusal.response
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening; keeps the server log quiet

    run.__name__ = endpoint.__name__
    run.__doc__ = endpoint.__doc__
    return run

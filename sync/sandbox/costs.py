"""Henshin business-mobile routes (mounted at ``/api/business-mobile``).

Neither the auth scheme nor the negative-response shape is documented. The sandbox checks a
configurable header (default ``Authorization: Bearer <token>``) and answers problems as
``{"Error": "err_<Name>", "Message": "..."}`` with an HTTP status (401, 400, 404), using the
documented ``err_InvalidElement`` where one fits and ``err_Unauthorized`` (invented) for auth.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sync.sandbox.faults import IgnorePaging
from sync.sandbox.paging import PagingError
from sync.sandbox.replies import Refused, answering_refusals, json_reply
from sync.sandbox.state import Sandbox

BASE_PATH = "/api/business-mobile"


def negative(status: int, code: str, message: str) -> Refused:
    """A Henshin-style negative response."""
    return Refused(json_reply({"Error": code, "Message": message}, status))


def costs_routes(sandbox: Sandbox) -> list[Route]:
    """The business-mobile routes bound to ``sandbox`` (paths relative to :data:`BASE_PATH`)."""

    def guard(request: Request) -> str:
        """The caller's token (whose list it reads), or 401."""
        token = sandbox.costs_token(request.headers.get(sandbox.costs_auth_header))
        if token is None:
            raise negative(401, "err_Unauthorized", "missing or invalid token")
        return token

    @answering_refusals
    async def listing(request: Request) -> Response:
        """GET /v1/additional-costs/list: the current user's costs, paged."""
        token = guard(request)
        paging = sandbox.paging
        ignore = sandbox.take_fault((IgnorePaging,), "GET", request.url.path) is not None
        try:
            offset, size = paging.window(request.query_params, ignore_page=ignore)
        except PagingError as err:
            raise negative(400, "err_InvalidElement", str(err)) from None
        page, total = sandbox.costs_page(offset, size, token)
        body, headers = paging.render(page, offset, total)
        return json_reply(body, headers=headers)

    @answering_refusals
    async def single(request: Request) -> Response:
        """GET /v1/additional-costs/{id}."""
        token = guard(request)
        cost_id = request.path_params["cost_id"]
        found = sandbox.cost(cost_id, token=token)
        if found is None:
            raise negative(404, "err_InvalidElement", f"no additional cost with ID {cost_id}")
        return json_reply(found)

    @answering_refusals
    async def of_trip(request: Request) -> Response:
        """GET /v1/trips/{guid}/additional-costs/list: a bare JSON array, unpaged."""
        token = guard(request)
        guid = request.path_params["guid"]
        try:
            uuid.UUID(guid)
        except ValueError:
            raise negative(400, "err_InvalidElement", f"{guid!r} is not a GUID") from None
        return json_reply(sandbox.costs_of_trip(guid, token=token))

    return [
        Route("/v1/additional-costs/list", listing, methods=["GET"]),
        Route("/v1/additional-costs/{cost_id:int}", single, methods=["GET"]),
        Route("/v1/trips/{guid}/additional-costs/list", of_trip, methods=["GET"]),
    ]

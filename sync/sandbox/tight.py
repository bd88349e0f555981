"""Tight v6 routes: ``/v6/auth/token`` and the mileage endpoints, with the documented guards.

Every route but ``/v6/auth/token`` needs ``Authorization: Bearer <token>`` (401 ``INVALID_TOKEN``
or ``EXPIRED_TOKEN`` otherwise), a ``write``-scoped token for save and delete (403), and a slot
in the per-token rate budget (429). Bodies must be ``application/json``; unparseable JSON is 400
``JSON_ERROR``, a body without a ``data`` list 400 ``BAD_REQUEST``.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sync.sandbox.jsonbody import JsonError, loads
from sync.sandbox.logs import REQUEST_KEY
from sync.sandbox.mileage import ItemError
from sync.sandbox.mileagebook import failure
from sync.sandbox.replies import Refused, answering_refusals, json_reply
from sync.sandbox.state import Sandbox
from sync.sandbox.tokens import CredentialsRefused

_AUTH_MESSAGES = {
    "INVALID_TOKEN": "Invalid access token",  # nosec B105 - an error message, not a secret
    "EXPIRED_TOKEN": "Access token expired",  # nosec B105
}


def _error(status: int, type_: str, message: str, param: str | None = None) -> Refused:
    return Refused(json_reply(failure([ItemError(type_, message, param)]), status))


def _guard(sandbox: Sandbox, request: Request, *, write: bool) -> str | None:
    """Raise :class:`Refused` unless the bearer token is valid, allowed and within budget;
    return the token's userId (None: a partner-level token, which sees every record)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    verdict = (
        sandbox.check_token(value) if scheme.lower() == "bearer" and value else "INVALID_TOKEN"
    )
    if isinstance(verdict, str):
        refusal = _error(401, verdict, _AUTH_MESSAGES[verdict])
        refusal.response.headers["www-authenticate"] = "Bearer"
        raise refusal
    if write and not verdict.can_write:
        raise _error(403, "INVALID_TOKEN", "this token's scope does not allow writes")
    wait = sandbox.admit(value)
    if wait is not None:
        refusal = _error(
            429,
            "UNKNOWN_ERROR",
            f"rate limit exceeded: {sandbox.rate.limit} requests per "
            f"{sandbox.rate.window:g} s per access token",
        )
        if sandbox.rate_retry_after:
            refusal.response.headers["retry-after"] = str(max(1, math.ceil(wait)))
        raise refusal
    return verdict.user_id


async def _json_body(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise _error(400, "BAD_REQUEST", "Content-Type must be application/json")
    try:
        return loads(await request.body())
    except JsonError as err:
        raise _error(400, "JSON_ERROR", f"malformed JSON: {err}") from None


def _basic_credentials(request: Request) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "basic":
            raise ValueError("not Basic")
        client_id, colon, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        if not colon:
            raise ValueError("no colon")
    except (ValueError, binascii.Error):
        raise _error(401, "INVALID_TOKEN", "HTTP Basic client credentials are required") from None
    return client_id, secret


def tight_routes(sandbox: Sandbox) -> list[Route]:
    """The Tight v6 routes bound to ``sandbox``."""

    @answering_refusals
    async def token(request: Request) -> Response:
        """POST /v6/auth/token: form-encoded client-credentials grant."""
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise _error(
                400, "BAD_REQUEST", "Content-Type must be application/x-www-form-urlencoded"
            )
        client_id, secret = _basic_credentials(request)
        try:
            form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _error(400, "BAD_REQUEST", "the form is not UTF-8") from None

        def field(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        try:
            minted = sandbox.mint_token(
                client_id,
                secret,
                grant_type=field("grant_type"),
                scope=field("scope"),
                user_id=field("userId"),
            )
        except CredentialsRefused as refused:
            raise _error(refused.status, refused.type, refused.message, refused.param) from None
        return json_reply(
            {
                "access_token": minted.value,
                "token_type": "Bearer",  # nosec B105 - the OAuth token type
                "expires_in": int(sandbox.tokens.ttl),
                "scope": " ".join(sorted(minted.scopes)),
            }
        )

    @answering_refusals
    async def save(request: Request) -> Response:
        """POST /v6/mileage: batch create/update."""
        viewer = _guard(sandbox, request, write=True)
        body = await _json_body(request)
        status, payload = sandbox.save_batch(
            body, request=request.scope.get(REQUEST_KEY, 0), viewer=viewer
        )
        return json_reply(payload, status)

    @answering_refusals
    async def query(request: Request) -> Response:
        """POST /v6/mileage/query: filtered, sorted, cursor-paged read."""
        viewer = _guard(sandbox, request, write=False)
        status, payload = sandbox.query(await _json_body(request), viewer=viewer)
        return json_reply(payload, status)

    @answering_refusals
    async def one(request: Request) -> Response:
        """GET or DELETE /v6/mileage/{id}."""
        deleting = request.method == "DELETE"
        viewer = _guard(sandbox, request, write=deleting)
        record_id = request.path_params["record_id"]
        found = (
            sandbox.delete(record_id, viewer=viewer)
            if deleting
            else sandbox.record(record_id, viewer=viewer)
        )
        if found is None:
            raise _error(404, "INVALID_VALUE", f"no mileage with id {record_id!r}", "id")
        return json_reply({"result": "SUCCESS", "data": found})

    return [
        Route("/v6/auth/token", token, methods=["POST"]),
        Route("/v6/mileage", save, methods=["POST"]),
        Route("/v6/mileage/query", query, methods=["POST"]),
        Route("/v6/mileage/{record_id}", one, methods=["GET", "DELETE"]),
    ]

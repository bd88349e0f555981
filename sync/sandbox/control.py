"""The sandbox's control routes: play "another client" over HTTP (``tracker sandbox edit``).

``PATCH /_sandbox/mileage/{id}`` applies a save-shaped JSON object to a stored record as
Tight's own app would; ``DELETE /_sandbox/mileage/{id}`` deletes it. No token is asked: the
sandbox binds loopback addresses only and guards nothing of value.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sync.sandbox.replies import json_reply
from sync.sandbox.state import Sandbox

__all__ = ["CONTROL_PATH", "control_routes"]

CONTROL_PATH = "/_sandbox/mileage"


def control_routes(sandbox: Sandbox) -> list[Route]:
    """The control routes bound to ``sandbox``."""

    async def record(request: Request) -> Response:
        record_id = request.path_params["record_id"]
        if request.method == "DELETE":
            gone = sandbox.remove_record(record_id)
            return json_reply({"deleted": gone}, 200 if gone else 404)
        try:
            changes = await request.json()
        except ValueError:
            return json_reply({"error": "the body must be a JSON object"}, 400)
        if not isinstance(changes, dict):
            return json_reply({"error": "the body must be a JSON object"}, 400)
        try:
            stored = sandbox.edit_record(record_id, changes)
        except KeyError:
            return json_reply({"error": f"no mileage with id {record_id!r}"}, 404)
        except ValueError as err:
            return json_reply({"error": str(err)}, 400)
        return json_reply(stored)

    return [Route(CONTROL_PATH + "/{record_id}", record, methods=["PATCH", "DELETE"])]

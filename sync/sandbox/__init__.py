"""The bundled sandbox: Tight v6 mileage and Henshin business-mobile costs, faithful and faulty.

A real Starlette app with all state on a :class:`Sandbox` object::

    sb = Sandbox()
    sb.seed_costs(25, seed=7)
    with serve(sb) as server:            # real HTTP on 127.0.0.1, free port
        ...  # point the client at server.tight_url / server.costs_url, token "sandbox-token"
    assert sb.stored_count_by_custom("trackerLocalId", "t-1") == 1

In-process (no socket): ``httpx.Client(transport=SandboxTransport(create_app(sb)),
base_url="http://sandbox")``, or ``httpx.AsyncClient(transport=httpx.ASGITransport(
create_app(sb)), base_url=...)`` in async code. Importing this package opens no socket and starts
no thread; uvicorn is imported only when a server starts.
"""

from sync.sandbox.app import create_app
from sync.sandbox.clock import Clock, ManualClock
from sync.sandbox.costs import BASE_PATH as COSTS_BASE_PATH
from sync.sandbox.faults import (
    Armed,
    Drip,
    Drop,
    Fault,
    IgnorePaging,
    ItemRule,
    Latency,
    Rewrite,
    Status,
    StoreThenDrop,
    Truncate,
    fewer_items,
    more_items,
    replace_body,
    retype_field,
    truncated_json,
    without_field,
)
from sync.sandbox.inprocess import SandboxTransport
from sync.sandbox.logs import Delivery, RequestRecord
from sync.sandbox.mileage import Rules
from sync.sandbox.paging import Paging
from sync.sandbox.seed import SeedTrip, generate_costs, generate_trips
from sync.sandbox.server import SandboxServer, serve
from sync.sandbox.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    Sandbox,
)

__all__ = [
    "COSTS_BASE_PATH",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TOKEN",
    "Armed",
    "Clock",
    "Delivery",
    "Drip",
    "Drop",
    "Fault",
    "IgnorePaging",
    "ItemRule",
    "Latency",
    "ManualClock",
    "Paging",
    "RequestRecord",
    "Rewrite",
    "Rules",
    "Sandbox",
    "SandboxServer",
    "SandboxTransport",
    "SeedTrip",
    "Status",
    "StoreThenDrop",
    "Truncate",
    "create_app",
    "fewer_items",
    "generate_costs",
    "generate_trips",
    "more_items",
    "replace_body",
    "retype_field",
    "serve",
    "truncated_json",
    "without_field",
]

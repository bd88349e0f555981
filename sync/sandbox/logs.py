"""What the sandbox saw: one record per HTTP request and one per mileage item received.

Tests read these to count requests ("no request after the 401") and deliveries ("stored exactly
once", "redelivered at most K × batch times") without parsing server output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

REQUEST_KEY = "sandbox.request"
"""ASGI scope key holding the number the app gave the request (see :class:`RequestRecord`)."""

Outcome = Literal["created", "updated", "rejected", "duplicate"]


@dataclass
class RequestRecord:
    """One HTTP request, numbered from 1 in arrival order."""

    number: int
    method: str
    path: str
    query: str
    status: int | None = None
    """Status sent; ``None`` when the connection was dropped before any response."""
    fault: str | None = None
    """Class name of the transport fault applied, if any."""
    received: bool = False
    """The whole body has arrived (known when a fault read it ahead: ``Latency``): a request
    logged at its headers may still lose its body to a client that dies meanwhile."""


@dataclass(frozen=True)
class Delivery:
    """One element of ``data[]`` received by ``POST /v6/mileage``."""

    request: int
    """Number of the HTTP request (see :class:`RequestRecord`) that carried it."""
    position: int
    item: Any
    """The element as received (a deep copy)."""
    outcome: Outcome
    record_id: str | None
    """Id stored under (created/updated), or the existing one for a duplicate."""
    status_code: int
    errors: tuple[str, ...] = ()
    """Error types reported for the item."""

    @property
    def stored(self) -> bool:
        """Whether this delivery created or changed a record."""
        return self.outcome in ("created", "updated")

    @property
    def custom_data(self) -> Any:
        """The item's ``customData`` as received (``None`` if absent or not an object item)."""
        return self.item.get("customData") if isinstance(self.item, dict) else None

    def custom(self, key: str) -> Any:
        """``customData[key]`` of the item, or ``None``."""
        data = self.custom_data
        return data.get(key) if isinstance(data, dict) else None

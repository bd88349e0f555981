"""The sandbox's business-mobile costs: the list it serves, and who may read it.

A part of :class:`~sync.sandbox.state.Sandbox` (a mixin: its state lives on the Sandbox,
guarded by the Sandbox's lock).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sync.sandbox.seed import DEFAULT_START, SeedTrip, generate_costs

__all__ = ["CostBook"]


class CostBook:
    """The costs list (see the module docstring)."""

    _lock: threading.RLock
    _costs: list[Any]
    costs_tokens: set[str]
    costs_auth_header: str
    costs_auth_scheme: str

    @property
    def costs(self) -> list[Any]:
        """The additional costs served, in list order (copies; raw, so possibly malformed)."""
        with self._lock:
            return copy.deepcopy(self._costs)

    def seed_costs(
        self,
        n: int,
        *,
        seed: int = 0,
        trip_guids: Sequence[str] | None = None,
        trips: Sequence[SeedTrip] | None = None,
        start: datetime = DEFAULT_START,
    ) -> list[dict[str, Any]]:
        """Append ``n`` generated costs (IDs continue after the highest present); returns them."""
        with self._lock:
            first = 1 + max(
                (
                    cost["ID"]
                    for cost in self._costs
                    if isinstance(cost, dict) and type(cost.get("ID")) is int
                ),
                default=0,
            )
            made = generate_costs(
                n, seed, trip_guids=trip_guids, trips=trips, start=start, first_id=first
            )
            self._costs.extend(copy.deepcopy(made))
            return made

    def costs_page(self, offset: int, size: int) -> tuple[list[Any], int]:
        """Copies of ``size`` costs from ``offset`` on, and the total (one consistent view)."""
        with self._lock:
            return copy.deepcopy(self._costs[offset : offset + size]), len(self._costs)

    def add_cost(self, raw: Any) -> None:
        """Append any JSON value as a cost item, as is (plant malformed items this way)."""
        with self._lock:
            self._costs.append(copy.deepcopy(raw))

    def update_cost(self, cost_id: int, **fields: Any) -> bool:
        """Change fields of the cost with this ``ID``; ``False`` if there is none."""
        with self._lock:
            for cost in self._costs:
                if isinstance(cost, dict) and cost.get("ID") == cost_id:
                    cost.update(copy.deepcopy(fields))
                    return True
            return False

    def remove_cost(self, cost_id: int) -> bool:
        """Delete the cost with this ``ID``; ``False`` if there is none."""
        with self._lock:
            for index, cost in enumerate(self._costs):
                if isinstance(cost, dict) and cost.get("ID") == cost_id:
                    del self._costs[index]
                    return True
            return False

    def cost(self, cost_id: int) -> Any | None:
        """The cost with this ``ID`` (a copy), or ``None``."""
        with self._lock:
            for cost in self._costs:
                if isinstance(cost, dict) and cost.get("ID") == cost_id:
                    return copy.deepcopy(cost)
            return None

    def costs_of_trip(self, guid: str) -> list[Any]:
        """Costs whose ``TripGuid`` equals ``guid`` (case-insensitive), copies."""
        with self._lock:
            return [
                copy.deepcopy(cost)
                for cost in self._costs
                if isinstance(cost, dict)
                and isinstance(cost.get("TripGuid"), str)
                and cost["TripGuid"].lower() == guid.lower()
            ]

    def costs_authorized(self, header_value: str | None) -> bool:
        """Whether the configured auth header carries a costs token."""
        if header_value is None:
            return False
        scheme = self.costs_auth_scheme
        if scheme:
            given_scheme, _, value = header_value.partition(" ")
            if given_scheme.lower() != scheme.lower():
                return False
        else:
            value = header_value
        with self._lock:
            return value.strip() in self.costs_tokens

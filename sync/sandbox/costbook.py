"""The sandbox's business-mobile costs: the lists it serves, and who may read them.

The platform's list is "the current user's additional costs" (api-facts 2): each token added
with :meth:`CostBook.add_costs_user` reads its own list; every other costs token reads the
shared list (one user, as before fleet mode). Cost IDs are the platform's: unique across
every list. A part of :class:`~sync.sandbox.state.Sandbox` (a mixin: its state lives on the
Sandbox, guarded by the Sandbox's lock).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sync.sandbox.seed import DEFAULT_START, SeedTrip, generate_costs

__all__ = ["CostBook"]


def _has_id(cost: Any, cost_id: int) -> bool:
    return isinstance(cost, dict) and cost.get("ID") == cost_id


class CostBook:
    """The costs lists (see the module docstring). ``token``: whose list (None: the shared
    one; a token without a list of its own reads the shared one too)."""

    _lock: threading.RLock
    _costs: list[Any]
    _user_costs: dict[str, list[Any]]
    costs_tokens: set[str]
    costs_auth_header: str
    costs_auth_scheme: str

    def _list(self, token: str | None) -> list[Any]:
        return self._user_costs.get(token, self._costs) if token is not None else self._costs

    def add_costs_user(self, token: str) -> None:
        """Accept ``token`` for the costs API as a user of its own, with an empty list."""
        with self._lock:
            self.costs_tokens.add(token)
            self._user_costs.setdefault(token, [])

    @property
    def costs(self) -> list[Any]:
        """The shared list's additional costs, in list order (copies; raw, so possibly
        malformed)."""
        return self.costs_of(None)

    def costs_of(self, token: str | None) -> list[Any]:
        """The additional costs ``token`` reads, in list order (copies)."""
        with self._lock:
            return copy.deepcopy(self._list(token))

    def seed_costs(
        self,
        n: int,
        *,
        seed: int = 0,
        trip_guids: Sequence[str] | None = None,
        trips: Sequence[SeedTrip] | None = None,
        start: datetime = DEFAULT_START,
        token: str | None = None,
    ) -> list[dict[str, Any]]:
        """Append ``n`` generated costs to ``token``'s list (IDs continue after the highest
        present in any list); returns them."""
        with self._lock:
            every = [self._costs, *self._user_costs.values()]
            first = 1 + max(
                (
                    cost["ID"]
                    for costs in every
                    for cost in costs
                    if isinstance(cost, dict) and type(cost.get("ID")) is int
                ),
                default=0,
            )
            made = generate_costs(
                n, seed, trip_guids=trip_guids, trips=trips, start=start, first_id=first
            )
            self._list(token).extend(copy.deepcopy(made))
            return made

    def costs_page(self, offset: int, size: int, token: str | None = None) -> tuple[list[Any], int]:
        """Copies of ``size`` costs from ``offset`` on, and the total (one consistent view)."""
        with self._lock:
            costs = self._list(token)
            return copy.deepcopy(costs[offset : offset + size]), len(costs)

    def add_cost(self, raw: Any, *, token: str | None = None) -> None:
        """Append any JSON value as a cost item, as is (plant malformed items this way)."""
        with self._lock:
            self._list(token).append(copy.deepcopy(raw))

    def update_cost(self, cost_id: int, *, token: str | None = None, **fields: Any) -> bool:
        """Change fields of the cost with this ``ID``; ``False`` if there is none."""
        with self._lock:
            for cost in self._list(token):
                if _has_id(cost, cost_id):
                    cost.update(copy.deepcopy(fields))
                    return True
            return False

    def remove_cost(self, cost_id: int, *, token: str | None = None) -> bool:
        """Delete the cost with this ``ID``; ``False`` if there is none."""
        with self._lock:
            costs = self._list(token)
            for index, cost in enumerate(costs):
                if _has_id(cost, cost_id):
                    del costs[index]
                    return True
            return False

    def cost(self, cost_id: int, *, token: str | None = None) -> Any | None:
        """The cost with this ``ID`` (a copy), or ``None``."""
        with self._lock:
            for cost in self._list(token):
                if _has_id(cost, cost_id):
                    return copy.deepcopy(cost)
            return None

    def costs_of_trip(self, guid: str, *, token: str | None = None) -> list[Any]:
        """Costs whose ``TripGuid`` equals ``guid`` (case-insensitive), copies."""
        with self._lock:
            return [
                copy.deepcopy(cost)
                for cost in self._list(token)
                if isinstance(cost, dict)
                and isinstance(cost.get("TripGuid"), str)
                and cost["TripGuid"].lower() == guid.lower()
            ]

    def costs_token(self, header_value: str | None) -> str | None:
        """The costs token the configured auth header carries, or None when it carries none
        the sandbox accepts."""
        if header_value is None:
            return None
        scheme = self.costs_auth_scheme
        if scheme:
            given_scheme, _, value = header_value.partition(" ")
            if given_scheme.lower() != scheme.lower():
                return None
        else:
            value = header_value
        value = value.strip()
        with self._lock:
            return value if value in self.costs_tokens else None

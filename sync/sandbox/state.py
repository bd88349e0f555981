"""The Sandbox: all state of one emulated Tight + business-mobile backend, and its operations.

Everything lives on a :class:`Sandbox` instance (no module globals), guarded by one lock
because uvicorn serves from another thread while the test thread plants data, arms faults and
reads the logs. Route modules translate HTTP to these methods; tests may call them directly.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sync.sandbox.clock import Clock
from sync.sandbox.faults import Armed, Fault, FaultBook, ItemRule, Status
from sync.sandbox.logs import Delivery, Outcome, RequestRecord
from sync.sandbox.mileage import ItemError, Rules, apply_item, blank_record, validate_item
from sync.sandbox.paging import Paging
from sync.sandbox.query import parse_query, run_query
from sync.sandbox.ratelimit import SlidingWindow
from sync.sandbox.seed import DEFAULT_START, SeedTrip, generate_costs
from sync.sandbox.tokens import Token, TokenBook, Verdict

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105  # nosec B105 - public test credential
"""Accepted by both APIs unless the Sandbox is built with other tokens."""
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105  # nosec B105 - public test credential

Reply = tuple[int, dict[str, Any]]
"""HTTP status and JSON body of a Tight answer."""


def failure(errors: Sequence[ItemError]) -> dict[str, Any]:
    """The documented error envelope ``{result: FAILURE, data: null, error: [...]}``."""
    return {"result": "FAILURE", "data": None, "error": [error.to_json() for error in errors]}


class Sandbox:
    """One in-memory backend for both remote APIs; pass it to ``create_app`` or ``serve``.

    Every keyword is also a public attribute that a test may change between requests
    (``sb.max_batch = 10``). Defaults follow the docs; where they are silent, docs/sandbox.md
    lists the choice.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        clients: Mapping[str, str] | None = None,
        token_ttl: float = 3600.0,
        clock: Clock = time.monotonic,
        rate_limit: int | None = 1000,
        rate_window: float = 300.0,
        rate_retry_after: bool = False,
        max_batch: int | None = None,
        dedupe_key: str | None = None,
        rules: Rules | None = None,
        update_mode: Literal["merge", "replace"] = "merge",
        query_max_limit: int = 1000,
        query_date_filter: bool = True,
        paging: Paging | None = None,
        costs_tokens: Iterable[str] = (DEFAULT_TOKEN,),
        costs_auth_header: str = "Authorization",
        costs_auth_scheme: str = "Bearer",
        seed: int = 0,
    ) -> None:
        self._lock = threading.RLock()
        # Seeded so ids and minted tokens repeat run to run; the sandbox guards nothing of value.
        self._rng = random.Random(seed)  # noqa: S311  # nosec B311
        self.clock = clock
        self.tokens = TokenBook(
            tokens,
            {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET} if clients is None else clients,
            token_ttl,
            clock,
            self._rng,
        )
        self.rate = SlidingWindow(rate_limit, rate_window, clock)
        """Per-token limit; change ``sb.rate.limit`` / ``sb.rate.window`` at will."""
        self.rate_retry_after = rate_retry_after
        """Send ``Retry-After`` (whole seconds) on 429; the docs document no such header."""
        self.max_batch = max_batch
        self.dedupe_key = dedupe_key
        """customData key that makes a second create a DUPLICATE; ``None`` (default): off."""
        self.rules = rules or Rules()
        self.update_mode: Literal["merge", "replace"] = update_mode
        self.query_max_limit = query_max_limit
        self.query_date_filter = query_date_filter
        self.paging = paging or Paging()
        self.costs_tokens = set(costs_tokens)
        self.costs_auth_header = costs_auth_header
        self.costs_auth_scheme = costs_auth_scheme
        self._records: dict[str, dict[str, Any]] = {}
        self._order: dict[str, int] = {}
        self._locked: set[str] = set()
        self._costs: list[Any] = []
        self._deliveries: list[Delivery] = []
        self._requests: list[RequestRecord] = []
        self._faults = FaultBook()
        self._sequence = 0

    # ------------------------------------------------------------------ tokens and limits

    def issue_token(self, *, scopes: Iterable[str] = ("write",), ttl: float | None = None) -> str:
        """A fresh valid token without the HTTP dance (``ttl=None``: no expiry by time)."""
        with self._lock:
            value = f"sbx_{self._rng.getrandbits(128):032x}"
            self.tokens.add(value, scopes=scopes, ttl=ttl)
            return value

    def expire_token(self, token: str) -> None:
        """The next call with ``token`` gets 401 ``EXPIRED_TOKEN``."""
        with self._lock:
            self.tokens.expire(token)

    def revoke_token(self, token: str) -> None:
        """The next call with ``token`` gets 401 ``INVALID_TOKEN``."""
        with self._lock:
            self.tokens.revoke(token)

    def mint_token(
        self,
        client_id: str,
        secret: str,
        *,
        grant_type: str | None,
        scope: str | None,
        user_id: str | None,
    ) -> Token:
        """What ``POST /v6/auth/token`` does; raises ``CredentialsRefused``."""
        with self._lock:
            return self.tokens.mint(
                client_id, secret, grant_type=grant_type, scope=scope, user_id=user_id
            )

    def check_token(self, token: str) -> Token | Verdict:
        """The token, or ``"EXPIRED_TOKEN"`` / ``"INVALID_TOKEN"``."""
        with self._lock:
            return self.tokens.check(token)

    def admit(self, token: str) -> float | None:
        """Count one request against ``token``'s budget; seconds to wait if it is spent."""
        with self._lock:
            return self.rate.admit(token)

    # ------------------------------------------------------------------------ mileage

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """Stored mileage records by id (copies, in creation order)."""
        with self._lock:
            return copy.deepcopy(self._records)

    def record(self, record_id: str) -> dict[str, Any] | None:
        """One stored record (a copy), or ``None``."""
        with self._lock:
            found = self._records.get(record_id)
            return copy.deepcopy(found) if found is not None else None

    def add_record(self, item: Mapping[str, Any]) -> str:
        """Store a save-shaped item directly (validated like a create); returns its new id."""
        with self._lock:
            errors = validate_item(item, creating=True, rules=self.rules)
            if errors:
                raise ValueError("; ".join(f"{e.param}: {e.type} {e.message}" for e in errors))
            return self._store(None, item)

    def lock(self, record_id: str) -> None:
        """Updates of ``record_id`` now fail with NOT_MODIFIABLE (statusCode 409)."""
        with self._lock:
            self._locked.add(record_id)

    def unlock(self, record_id: str) -> None:
        """Undo :meth:`lock`."""
        with self._lock:
            self._locked.discard(record_id)

    def save_batch(self, body: Any, *, request: int = 0) -> Reply:
        """``POST /v6/mileage`` on a parsed body: 200 all stored, 207 some failed, 400 unusable."""
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            message = "the body must be a JSON object with a 'data' list"
            return 400, failure([ItemError("BAD_REQUEST", message, "data")])
        items: list[Any] = body["data"]
        if not items:
            return 400, failure([ItemError("BAD_REQUEST", "data must not be empty", "data")])
        if self.max_batch is not None and len(items) > self.max_batch:
            message = f"batch too large: {len(items)} items, at most {self.max_batch} per request"
            return 400, failure([ItemError("BAD_REQUEST", message, "data")])
        with self._lock:
            results = [self._save_one(item, request, index) for index, item in enumerate(items)]
        failed = any(result["result"] == "FAILURE" for result in results)
        return (207 if failed else 200), {
            "result": "FAILURE" if failed else "SUCCESS",
            "data": results,
            "error": [],
        }

    def _save_one(self, item: Any, request: int, position: int) -> dict[str, Any]:
        def refuse(
            status: int, errors: list[ItemError], outcome: Outcome = "rejected", data: Any = None
        ) -> dict[str, Any]:
            self._deliveries.append(
                Delivery(
                    request,
                    position,
                    copy.deepcopy(item),
                    outcome,
                    data["id"] if isinstance(data, dict) else None,
                    status,
                    tuple(error.type for error in errors),
                )
            )
            return {
                "result": "FAILURE",
                "statusCode": status,
                "data": data,
                "error": [error.to_json() for error in errors],
            }

        if not isinstance(item, dict):
            return refuse(400, [ItemError("BAD_REQUEST", "each element of data must be an object")])
        record_id = item.get("id")
        if record_id is not None:
            if not isinstance(record_id, str):
                return refuse(400, [ItemError("INVALID_FORMAT", "id must be a string", "id")])
            if record_id not in self._records:
                message = f"no mileage with id {record_id!r} (creates must omit id)"
                return refuse(404, [ItemError("INVALID_VALUE", message, "id")])
            if record_id in self._locked:
                message = f"mileage {record_id} is locked and cannot be modified"
                return refuse(409, [ItemError("NOT_MODIFIABLE", message, "id")])
        errors = validate_item(item, creating=record_id is None, rules=self.rules)
        if errors:
            return refuse(400, errors)
        rule = self._faults.take(
            (ItemRule,),
            "POST",
            "/v6/mileage",
            accept=lambda fault: isinstance(fault, ItemRule) and fault.predicate(item),
        )
        if isinstance(rule, ItemRule):
            return refuse(rule.status_code, [ItemError(rule.error_type, rule.message, rule.param)])
        if record_id is None and self.dedupe_key is not None:
            twin = self._twin(item)
            if twin is not None:
                message = f"customData.{self.dedupe_key} already saved as {twin['id']}"
                error = ItemError("DUPLICATE", message, f"customData.{self.dedupe_key}")
                return refuse(409, [error], "duplicate", copy.deepcopy(twin))
        stored_id = self._store(record_id, item)
        self._deliveries.append(
            Delivery(
                request,
                position,
                copy.deepcopy(item),
                "created" if record_id is None else "updated",
                stored_id,
                200,
            )
        )
        return {
            "result": "SUCCESS",
            "statusCode": 200,
            "data": copy.deepcopy(self._records[stored_id]),
            "error": [],
        }

    def _twin(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        key = self.dedupe_key
        data = item.get("customData")
        if key is None or not isinstance(data, dict) or data.get(key) is None:
            return None
        for record in self._records.values():
            existing = record.get("customData")
            if isinstance(existing, dict) and existing.get(key) == data[key]:
                return record
        return None

    def _store(self, record_id: str | None, item: Mapping[str, Any]) -> str:
        if record_id is None:
            record_id = self._new_id()
            self._sequence += 1
            self._order[record_id] = self._sequence
            base = blank_record(record_id, self.rules)
        elif self.update_mode == "replace":
            base = blank_record(record_id, self.rules)
        else:
            base = self._records[record_id]
        self._records[record_id] = apply_item(base, item)
        return record_id

    def _new_id(self) -> str:
        while True:
            candidate = f"mlg_{self._rng.getrandbits(64):016x}"
            if candidate not in self._records:
                return candidate

    def query(self, body: Any) -> Reply:
        """``POST /v6/mileage/query`` on a parsed body."""
        parsed = parse_query(
            body, max_limit=self.query_max_limit, date_filter=self.query_date_filter
        )
        if isinstance(parsed, list):
            return 400, failure(parsed)
        with self._lock:
            rows = [
                ((record.get("date") or "", self._order[ident]), record)
                for ident, record in self._records.items()
            ]
            page = run_query(rows, parsed)
            data = copy.deepcopy(page.records)
        return 200, {
            "result": "SUCCESS",
            "data": data,
            "cursor": {"after": page.after, "before": page.before},
        }

    def delete(self, record_id: str) -> dict[str, Any] | None:
        """``DELETE /v6/mileage/{id}``: the removed record, or ``None`` if unknown."""
        with self._lock:
            self._order.pop(record_id, None)
            self._locked.discard(record_id)
            return self._records.pop(record_id, None)

    # --------------------------------------------------------------------- deliveries

    @property
    def deliveries(self) -> list[Delivery]:
        """Every mileage item received, in order (rejected and duplicate ones too)."""
        with self._lock:
            return list(self._deliveries)

    def records_with_custom(self, key: str, value: Any) -> list[dict[str, Any]]:
        """Stored records whose ``customData[key] == value`` (copies)."""
        with self._lock:
            return [
                copy.deepcopy(record)
                for record in self._records.values()
                if isinstance(record.get("customData"), dict)
                and record["customData"].get(key) == value
            ]

    def stored_count_by_custom(self, key: str, value: Any) -> int:
        """How many stored records carry ``customData[key] == value`` (1 = stored exactly once)."""
        return len(self.records_with_custom(key, value))

    def stored_counts_by_custom(self, key: str) -> Counter[Any]:
        """``customData[key]`` value → number of stored records carrying it."""
        with self._lock:
            return Counter(
                record["customData"][key]
                for record in self._records.values()
                if isinstance(record.get("customData"), dict) and key in record["customData"]
            )

    def duplicates_by_custom(self, key: str) -> dict[Any, list[str]]:
        """Values of ``customData[key]`` stored more than once → their record ids."""
        with self._lock:
            ids: dict[Any, list[str]] = {}
            for ident, record in self._records.items():
                data = record.get("customData")
                if isinstance(data, dict) and key in data:
                    ids.setdefault(data[key], []).append(ident)
            return {value: found for value, found in ids.items() if len(found) > 1}

    def delivery_counts_by_custom(self, key: str) -> Counter[Any]:
        """``customData[key]`` value → times an item carrying it was received (redeliveries)."""
        with self._lock:
            return Counter(
                delivery.custom(key)
                for delivery in self._deliveries
                if delivery.custom(key) is not None
            )

    # ----------------------------------------------------------------------- requests

    def log_request(self, method: str, path: str, query: str) -> RequestRecord:
        """Number and record an arriving request (called by the app)."""
        with self._lock:
            entry = RequestRecord(len(self._requests) + 1, method, path, query)
            self._requests.append(entry)
            return entry

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def request_count(
        self, path: str | None = None, *, method: str | None = None, status: int | None = None
    ) -> int:
        """Requests received, optionally only those with this path, method and status."""
        return sum(
            1
            for entry in self.requests
            if (path is None or entry.path == path)
            and (method is None or entry.method == method.upper())
            and (status is None or entry.status == status)
        )

    # -------------------------------------------------------------------------- costs

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

    # ------------------------------------------------------------------------- faults

    def add_fault(self, fault: Fault) -> Armed:
        """Arm a fault (see ``sync.sandbox.faults``); the handle counts its hits."""
        with self._lock:
            return self._faults.add(fault)

    def fail_next(
        self,
        path: str,
        statuses: Iterable[int],
        *,
        method: str = "*",
        retry_after: str | None = None,
    ) -> list[Armed]:
        """Script the next requests to ``path``: one :class:`Status` per entry, in order."""
        return [
            self.add_fault(Status(status=status, retry_after=retry_after, path=path, method=method))
            for status in statuses
        ]

    def take_fault(
        self,
        kinds: tuple[type[Fault], ...],
        method: str,
        path: str,
        accept: Callable[[Fault], bool] | None = None,
    ) -> Fault | None:
        """Consume the first armed fault of ``kinds`` matching the request (used by the app)."""
        with self._lock:
            return self._faults.take(kinds, method, path, accept)

    @property
    def faults(self) -> list[Armed]:
        """The armed faults, spent ones included."""
        with self._lock:
            return list(self._faults.armed)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

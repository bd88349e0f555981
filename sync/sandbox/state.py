"""The Sandbox: all state of one emulated Tight + business-mobile backend, and its operations.

Everything lives on a :class:`Sandbox` instance (no module globals), guarded by one lock
because uvicorn serves from another thread while the test thread plants data, arms faults and
reads the logs. Route modules translate HTTP to these methods; tests may call them directly.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from sync.sandbox.clock import Clock
from sync.sandbox.costbook import CostBook
from sync.sandbox.faults import Armed, Fault, FaultBook, Status
from sync.sandbox.logs import Delivery, RequestRecord
from sync.sandbox.mileage import Rules
from sync.sandbox.mileagebook import MileageBook
from sync.sandbox.paging import Paging
from sync.sandbox.ratelimit import SlidingWindow
from sync.sandbox.tokens import Token, TokenBook, Verdict

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105  # nosec B105 - public test credential
"""Accepted by both APIs unless the Sandbox is built with other tokens."""
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105  # nosec B105 - public test credential


class Sandbox(MileageBook, CostBook):
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
        self._owners: dict[str, str | None] = {}
        self._locked: set[str] = set()
        self._costs: list[Any] = []
        self._user_costs: dict[str, list[Any]] = {}  # a costs user's own list, by token
        self._deliveries: list[Delivery] = []
        self._requests: list[RequestRecord] = []
        self._faults = FaultBook()
        self._sequence = 0

    # ------------------------------------------------------------------ tokens and limits

    def issue_token(
        self,
        *,
        scopes: Iterable[str] = ("write",),
        ttl: float | None = None,
        user_id: str | None = None,
    ) -> str:
        """A fresh valid token without the HTTP dance (``ttl=None``: no expiry by time;
        ``user_id``: the user whose records it sees, None: every record)."""
        with self._lock:
            value = f"sbx_{self._rng.getrandbits(128):032x}"
            self.tokens.add(value, scopes=scopes, ttl=ttl, user_id=user_id)
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

"""Bearer tokens for Tight: a configured token, or minted with client credentials.

Tight's advice is to mint a new token per session rather than track expiry, so a token is
minted on first use and again after a 401 (at most once per request). The token only ever
goes into the ``Authorization`` header: it is never logged, stored or printed.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from sync.budget import RequestBudget
from sync.client import send
from sync.clock import Clock
from sync.errors import AuthError, ProtocolError
from sync.settings import MileageSettings
from sync.wire.tight import TokenResponse


class TokenSource:
    """Supplies the Authorization header value for Tight requests."""

    def __init__(
        self,
        cfg: MileageSettings,
        client: httpx.Client,
        clock: Clock,
        budget: RequestBudget | None = None,
    ) -> None:
        self._budget = budget
        self.minted = 0
        self._cfg = cfg
        self._client = client
        self._clock = clock
        self._token: str | None = cfg.token.get_secret_value() if cfg.token else None

    @property
    def can_mint(self) -> bool:
        """True when client credentials are configured."""
        return bool(self._cfg.client_id and self._cfg.client_secret)

    def header(self) -> str:
        """``Bearer <token>``, minting one first when needed."""
        if self._token is None:
            if not self.can_mint:
                raise AuthError(
                    "no Tight credentials: set TRACKER_MILEAGE_TOKEN, or "
                    "TRACKER_MILEAGE_CLIENT_ID and TRACKER_MILEAGE_CLIENT_SECRET"
                )
            self.mint()
        return f"Bearer {self._token}"

    def mint(self) -> None:
        """Get a fresh token through ``POST /v6/auth/token`` (client credentials)."""
        cfg = self._cfg
        if not (cfg.client_id and cfg.client_secret):
            raise AuthError("the token was refused and no client credentials are configured")
        if self._budget is not None:
            self._budget.acquire()  # token requests count against the same limit
        self.minted += 1
        form = {"grant_type": "client_credentials", "scope": "write"}
        if cfg.user_id:
            form["userId"] = cfg.user_id
        reply = send(
            self._client,
            "POST",
            "/v6/auth/token",
            clock=self._clock,
            deadline=cfg.deadline,
            form=form,
            auth=(cfg.client_id, cfg.client_secret.get_secret_value()),
        )
        if reply.status in (400, 401, 403):
            raise AuthError(
                f"Tight refused the client credentials (HTTP {reply.status}); "
                "check TRACKER_MILEAGE_CLIENT_ID and TRACKER_MILEAGE_CLIENT_SECRET"
            )
        if reply.status != 200:
            raise ProtocolError(f"token request answered HTTP {reply.status}")
        try:
            self._token = TokenResponse.model_validate(reply.body).access_token
        except ValidationError:
            raise ProtocolError("token response without an access_token") from None

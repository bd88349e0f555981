"""Tight's tokens as an ``httpx.Auth``: a configured token, an app's credentials provider, or
one minted with client credentials through ``POST /v6/auth/token``.

Tight's advice is to mint a new token per session rather than track expiry, so a token is
minted on first use and again after a 401 (at most once per request). Token requests count
against the same request budget as every other call (the limit is per token).
"""

from __future__ import annotations

import base64
from collections.abc import Generator
from datetime import timedelta

import httpx
from pydantic import ValidationError

from sync.budget import RequestBudget
from sync.clock import Clock
from sync.errors import AuthError, ProtocolError
from sync.http.auth import TokenAuth
from sync.http.credentials import Credentials, CredentialsProvider
from sync.settings import MileageSettings
from sync.tight.wire import TokenResponse

__all__ = ["TOKEN_PATH", "TightAuth"]

TOKEN_PATH = "/v6/auth/token"  # noqa: S105  # nosec B105 - a path, not a secret


class TightAuth(TokenAuth):
    """Bearer auth for Tight (see the module docstring for where the token comes from)."""

    def __init__(
        self,
        cfg: MileageSettings,
        *,
        clock: Clock,
        provider: CredentialsProvider | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            token=cfg.token.get_secret_value() if cfg.token else None,
            provider=provider,
            missing=(
                "no Tight credentials: set TRACKER_MILEAGE_TOKEN, or TRACKER_MILEAGE_CLIENT_ID "
                "and TRACKER_MILEAGE_CLIENT_SECRET, or give the engine a credentials provider"
            ),
        )
        self._cfg = cfg
        self._budget = budget
        self._mints = provider is None and bool(cfg.client_id and cfg.client_secret)
        self.minted = 0
        """Token requests sent so far (they count against the request budget)."""

    @property
    def can_refresh(self) -> bool:
        """A provider or client credentials can replace a refused token."""
        return self._mints or super().can_refresh

    def _obtain(self) -> Generator[httpx.Request, httpx.Response, str]:
        if not self._mints:
            return (yield from super()._obtain())
        if self._budget is not None:
            self._budget.acquire()  # token requests count against the same limit
        self.minted += 1
        try:
            response = yield self._token_request()
            response.read()
        finally:
            if self._budget is not None:
                self._budget.settle()
        return self._accept(response)

    def _token_request(self) -> httpx.Request:
        cfg = self._cfg
        assert cfg.client_id is not None
        assert cfg.client_secret is not None
        pair = f"{cfg.client_id}:{cfg.client_secret.get_secret_value()}".encode()
        form = {"grant_type": "client_credentials", "scope": "write"}
        if cfg.user_id:
            form["userId"] = cfg.user_id
        return httpx.Request(
            "POST",
            cfg.url.rstrip("/") + TOKEN_PATH,
            data=form,
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")},
        )

    def _accept(self, response: httpx.Response) -> str:
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"Tight refused the client credentials (HTTP {response.status_code}); "
                "check TRACKER_MILEAGE_CLIENT_ID and TRACKER_MILEAGE_CLIENT_SECRET"
            )
        if response.status_code != 200:
            raise ProtocolError(f"token request answered HTTP {response.status_code}")
        try:
            minted = TokenResponse.model_validate_json(response.content)
        except ValidationError:
            raise ProtocolError("token response without an access_token") from None
        expires = (
            None
            if minted.expires_in is None
            else self._clock.wall() + timedelta(seconds=minted.expires_in)
        )
        credentials = Credentials(minted.access_token, expires)
        self._keep(credentials)
        return credentials.token

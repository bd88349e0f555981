"""Token auth as an ``httpx.Auth`` flow: a header on every request, a fresh token when the
cached one is missing, about to expire, or refused by the server (one retry per request).

Where the token comes from is the subclass's business (``sync.tight.auth`` mints one with
client credentials; both remotes accept a static token or an app's credentials provider).
The token only ever travels in its header: it is never logged, stored or printed. Written
for the synchronous client the engine uses.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from datetime import datetime

import httpx

from sync.clock import Clock
from sync.errors import AuthError
from sync.http.credentials import EXPIRY_MARGIN, Credentials, CredentialsProvider

__all__ = ["TokenAuth"]

Flow = Generator[httpx.Request, httpx.Response, None]


class TokenAuth(httpx.Auth):
    """``header: scheme token`` on each request; a static token, or one from ``provider``.

    ``missing`` is the error message when no credentials are configured at all.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        token: str | None = None,
        provider: CredentialsProvider | None = None,
        header: str = "Authorization",
        scheme: str = "Bearer",
        missing: str = "no token configured",
    ) -> None:
        self._clock = clock
        self._provider = provider
        self._header = header
        self._scheme = scheme
        self._missing = missing
        self._lock = threading.Lock()
        self._token: str | None = None if provider is not None else token
        self._expires_at: datetime | None = None
        self.fetched = 0
        """Tokens fetched from the provider or minted so far."""

    # ------------------------------------------------------------------ the flow
    def auth_flow(self, request: httpx.Request) -> Flow:
        token = self._cached()
        if token is None:
            token = yield from self._obtain()
        self._apply(request, token)
        response = yield request
        if response.status_code == 401 and self.can_refresh:
            self._forget(token)
            self._apply(request, (yield from self._obtain()))
            yield request

    @property
    def can_refresh(self) -> bool:
        """True when a refused token can be replaced by a fresh one."""
        return self._provider is not None

    def _obtain(self) -> Generator[httpx.Request, httpx.Response, str]:
        """A fresh token: from the provider (no request), or the subclass's own flow."""
        yield from ()  # a generator like the subclasses' flows, which send requests
        if self._provider is None:
            raise AuthError(self._missing)
        try:
            given = self._provider()
        except Exception as err:
            raise AuthError(
                f"the credentials provider failed ({type(err).__name__}: {err}); "
                "every change stays queued"
            ) from None
        credentials = given if isinstance(given, Credentials) else Credentials(str(given))
        if not credentials.token:
            raise AuthError("the credentials provider returned an empty token")
        self._keep(credentials)
        return credentials.token

    # ------------------------------------------------------------------ the cache
    def _cached(self) -> str | None:
        with self._lock:
            if self._token is None:
                return None
            if self._expires_at is not None and self._clock.wall() >= (
                self._expires_at - EXPIRY_MARGIN
            ):
                return None
            return self._token

    def _keep(self, credentials: Credentials) -> None:
        with self._lock:
            self._token = credentials.token
            self._expires_at = credentials.expires_at
            self.fetched += 1

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _apply(self, request: httpx.Request, token: str) -> None:
        request.headers[self._header] = f"{self._scheme} {token}" if self._scheme else token

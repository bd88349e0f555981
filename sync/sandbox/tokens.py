"""Tight access tokens: static ones for tests and the demo, minted ones that expire.

Tight documents ``POST /v6/auth/token`` (HTTP Basic client credentials) answering
``expires_in`` seconds, and 401 ``EXPIRED_TOKEN`` / ``INVALID_TOKEN`` afterwards. Tokens here are
opaque random strings (the real ones look like JWTs; a client must not parse them either way).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sync.sandbox.clock import Clock

SCOPES = frozenset({"read", "write"})
"""Token scopes Tight documents (``write`` is the default)."""

Verdict = Literal["EXPIRED_TOKEN", "INVALID_TOKEN"]


@dataclass
class Token:
    """One access token the sandbox knows about."""

    value: str
    scopes: frozenset[str]
    client_id: str | None = None
    user_id: str | None = None
    expires_at: float | None = None
    """Monotonic deadline; ``None`` for static tokens, which never expire on their own."""
    expired: bool = False
    """Forced by :meth:`TokenBook.expire` (a test saying "this token is now too old")."""

    @property
    def can_write(self) -> bool:
        """Whether the token may save or delete (scope ``write``)."""
        return "write" in self.scopes


class CredentialsRefused(Exception):
    """``POST /v6/auth/token`` must answer an error; ``type``/``param``/``status`` say which."""

    def __init__(self, status: int, type_: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.param = param


class TokenBook:
    """All tokens, static and minted. Not thread-safe by itself: the Sandbox lock guards it."""

    def __init__(
        self,
        static: Iterable[str],
        clients: Mapping[str, str],
        ttl: float,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.clients = dict(clients)
        self.ttl = ttl
        self._clock = clock
        self._rng = rng
        self._tokens: dict[str, Token] = {}
        for value in static:
            self.add(value)

    def add(
        self,
        value: str,
        *,
        scopes: Iterable[str] = ("write",),
        ttl: float | None = None,
        user_id: str | None = None,
    ) -> Token:
        """Register ``value`` as a valid token (``ttl=None``: never expires by time) of
        ``user_id`` (None: partner level, it sees every record)."""
        expires_at = None if ttl is None else self._clock() + ttl
        token = Token(value, frozenset(scopes), expires_at=expires_at, user_id=user_id)
        self._tokens[value] = token
        return token

    def mint(
        self,
        client_id: str,
        secret: str,
        *,
        grant_type: str | None,
        scope: str | None,
        user_id: str | None,
    ) -> Token:
        """Check client credentials and the form, then issue a token living ``ttl`` seconds."""
        if self.clients.get(client_id) != secret:
            raise CredentialsRefused(401, "INVALID_TOKEN", "Invalid client credentials")
        if not grant_type:
            raise CredentialsRefused(400, "REQUIRED", "grant_type is required", "grant_type")
        if grant_type != "client_credentials":
            raise CredentialsRefused(
                400,
                "INVALID_VALUE",
                f"grant_type {grant_type!r} is not supported by the sandbox "
                "(only client_credentials)",
                "grant_type",
            )
        scopes = frozenset((scope or "write").split())
        if not scopes or not scopes <= SCOPES:
            raise CredentialsRefused(
                400, "INVALID_VALUE", "scope must be 'read', 'write' or both", "scope"
            )
        value = f"sbx_{self._rng.getrandbits(128):032x}"
        token = Token(
            value,
            scopes,
            client_id=client_id,
            user_id=user_id or None,
            expires_at=self._clock() + self.ttl,
        )
        self._tokens[value] = token
        return token

    def check(self, value: str) -> Token | Verdict:
        """The token, or why it is refused."""
        token = self._tokens.get(value)
        if token is None:
            return "INVALID_TOKEN"
        if token.expired or (token.expires_at is not None and self._clock() >= token.expires_at):
            return "EXPIRED_TOKEN"
        return token

    def expire(self, value: str) -> None:
        """From now on ``value`` answers 401 ``EXPIRED_TOKEN`` (registers it if unknown)."""
        token = self._tokens.get(value) or self.add(value)
        token.expired = True

    def revoke(self, value: str) -> None:
        """Forget ``value``: it now answers 401 ``INVALID_TOKEN``."""
        self._tokens.pop(value, None)

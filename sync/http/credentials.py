"""Tokens an app supplies on demand, so no client secret has to live on the device.

A :data:`CredentialsProvider` is any callable returning a fresh token (a ``str``) or
:class:`Credentials` with its expiry. The engine calls it when it first needs a token, when
the token is about to expire, and again after the server refused it (a 401). It is called
from the sync thread; it may block (e.g. ask the app's backend for a token) and may raise,
which ends the run with an authentication error (exit 77), every change kept queued. This is
the pattern PowerSync calls ``fetchCredentials``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["EXPIRY_MARGIN", "Credentials", "CredentialsProvider"]

EXPIRY_MARGIN = timedelta(seconds=30)
"""A token that expires within this margin is replaced before it is used."""


@dataclass(frozen=True)
class Credentials:
    """A token and, when known, when it expires (an aware datetime)."""

    token: str
    expires_at: datetime | None = None

    def __repr__(self) -> str:  # never show the token
        return f"Credentials(token='***', expires_at={self.expires_at!r})"


CredentialsProvider = Callable[[], "Credentials | str"]
"""Returns a fresh token, or :class:`Credentials` with its expiry."""

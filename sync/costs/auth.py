"""The costs API's auth: the configured token (or an app's provider) in the configured header.

The platform documents no auth scheme, so the header (default ``Authorization``) and the
scheme before the token (default ``Bearer``, empty for none) are settings.
"""

from __future__ import annotations

from sync.clock import Clock
from sync.errors import ConfigError
from sync.http.auth import TokenAuth
from sync.http.credentials import CredentialsProvider
from sync.settings import CostsSettings

__all__ = ["costs_auth"]


def costs_auth(
    cfg: CostsSettings, *, clock: Clock, provider: CredentialsProvider | None = None
) -> TokenAuth:
    """The auth flow of the costs API under ``cfg``; ConfigError for an empty header name."""
    header = cfg.auth_header.strip()
    if not header:
        raise ConfigError("TRACKER_COSTS_AUTH_HEADER is empty: name the header for the token")
    token = cfg.token.get_secret_value() if cfg.token else None
    return TokenAuth(
        clock=clock,
        token=token or None,
        provider=provider,
        header=header,
        scheme=cfg.auth_scheme,
        missing="no token for the costs API: set TRACKER_COSTS_TOKEN",
    )

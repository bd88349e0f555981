"""An account's settings: the store's settings with the account's Tight credentials.

The store keeps only references (``env:NAME``, ``file:/path``; ``tracker.accounts``); they
are read here, by the process about to sync, each time an engine is built for the account,
so a rotated secret is picked up by the next run without touching the database. Everything
but the credentials is the settings' (URL, batch size, rate limit per token...). The request
budget follows: it is keyed by URL and identity (``sync.budget.budget_key``), so each
account has its own window, shared by every worker through the database.

An account pulls its own costs when it has a costs token (``costs_token_ref``): the costs
API's other settings (URL, paging, header) are the settings', since the platform is one; an
account without one pulls no costs (the settings' token is the implicit account's):
docs/fleet.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from sync.errors import ConfigError
from sync.settings import Settings
from tracker.views import AccountView

if TYPE_CHECKING:
    from tracker.store import Tracker

__all__ = ["for_account", "read_secret", "settings_for"]

_CREDENTIALS = ("token", "client_id", "client_secret", "user_id")
"""The Tight settings an account replaces."""
# A secrets file holds one secret: more than this is not one.
_MAX_SECRET_BYTES = 64 * 1024


def read_secret(ref: str, *, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The secret a reference points at (``env:NAME`` or ``file:/path``), or ConfigError
    saying what to fix. A file's trailing newline is not part of the secret."""
    env = os.environ if environ is None else environ
    kind, _, where = ref.partition(":")
    if kind == "env":
        value = env.get(where)
        if not value:
            raise ConfigError(f"{ref}: environment variable {where} is not set; set it")
        return SecretStr(value)
    if kind == "file":
        path = Path(where)
        try:
            with path.open("rb") as handle:
                raw = handle.read(_MAX_SECRET_BYTES + 1)
        except OSError as err:
            raise ConfigError(f"{ref}: cannot read the file ({err.strerror}); fix it") from None
        if len(raw) > _MAX_SECRET_BYTES:
            raise ConfigError(f"{ref}: the file is too large to hold one secret; fix it")
        try:
            value = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise ConfigError(f"{ref}: the file is not UTF-8 text; fix it") from None
        if not value:
            raise ConfigError(f"{ref}: the file is empty; write the secret in it")
        return SecretStr(value)
    raise ConfigError(f"{ref}: not a secret reference (env:NAME or file:/path)")


def settings_for(
    settings: Settings, account: AccountView, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """``settings`` with ``account``'s credentials instead of the settings' own (the
    implicit account: ``settings`` as they are): its Tight credentials, and its costs token
    or, without one, no costs pull."""
    if account.tight_client_id is None and account.tight_token_ref is None:
        return settings  # the implicit account
    mileage = settings.mileage
    # Every credential field replaced: none of the settings' own may go with the account's.
    creds: dict[str, object] = dict.fromkeys(_CREDENTIALS)
    if account.tight_token_ref is not None:
        creds["token"] = read_secret(account.tight_token_ref, environ=environ)
    else:
        assert account.tight_secret_ref is not None  # AccountIn: all three or a token
        creds["client_id"] = account.tight_client_id
        creds["client_secret"] = read_secret(account.tight_secret_ref, environ=environ)
        creds["user_id"] = account.tight_user_id
    if account.costs_token_ref is not None:
        token = read_secret(account.costs_token_ref, environ=environ)
        costs = settings.costs.model_copy(update={"token": token})
    else:
        # No URL, no token (dict.fromkeys: bandit reads a literal None token as a password).
        costs = settings.costs.model_copy(update={"url": "", **dict.fromkeys(("token",))})
    return settings.model_copy(update={"mileage": mileage.model_copy(update=creds), "costs": costs})


def for_account(settings: Settings, store: Tracker, name: str) -> tuple[Settings, Tracker]:
    """What one account's sync runs with: ``settings`` with its credentials, and the store
    as the account sees it. An unknown (NotFoundError) or disabled (StateError) account, or
    a secret that cannot be read (ConfigError), is refused before anything is sent."""
    return settings_for(settings, store.accounts.active(name)), store.for_account(name)

"""``tracker account ...``: the Tight users a store syncs for (fleet mode)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store

if TYPE_CHECKING:
    from tracker.views import AccountView

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The account's name.")]
_REF = "a reference, never the secret: env:NAME or file:/absolute/path"


@app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Lower-case letters, digits, '.', '_', '-'.")
    ],
    client_id: Annotated[
        str | None, typer.Option("--tight-client-id", help="OAuth client id.")
    ] = None,
    user_id: Annotated[
        str | None, typer.Option("--tight-user-id", help="The Tight userId tokens are for.")
    ] = None,
    secret_ref: Annotated[
        str | None, typer.Option("--tight-secret-ref", help=f"The client secret: {_REF}.")
    ] = None,
    token_ref: Annotated[
        str | None, typer.Option("--tight-token-ref", help=f"A static token instead: {_REF}.")
    ] = None,
    costs_ref: Annotated[
        str | None,
        typer.Option("--costs-token-ref", help=f"Its costs API token (its own costs): {_REF}."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an account: client credentials (id, user id, secret reference) or a token
    reference, and optionally its costs API token. Secrets are read when a sync runs,
    never stored."""
    data = {
        "name": name,
        "tight_client_id": client_id,
        "tight_user_id": user_id,
        "tight_secret_ref": secret_ref,
        "tight_token_ref": token_ref,
        "costs_token_ref": costs_ref,
    }
    with open_store(load_settings()) as store:
        account = store.accounts.add({k: v for k, v in data.items() if v is not None})
    _one(account, as_json, "added")


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the accounts (the implicit one first) with their trips and open changes."""
    with open_store(load_settings()) as store:
        accounts = store.accounts.list()
    if as_json:
        output.emit_json([a.to_json() for a in accounts])
        return
    output.table(
        f"{len(accounts)} account{'s' if len(accounts) != 1 else ''}",
        ["name", "state", "credentials", "trips", "pending"],
        ((a.name, _state(a), _credentials(a), a.trips, a.pending) for a in accounts),
    )


@app.command("show")
def show(name: NameArg, as_json: JsonOpt = False) -> None:
    """One account: its credentials (by reference), state and counts."""
    with open_store(load_settings()) as store:
        account = store.accounts.get(name)
    _one(account, as_json, "account")


@app.command("disable")
def disable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Stop syncing an account and giving it trips; its trips stay."""
    with open_store(load_settings()) as store:
        account = store.accounts.disable(name)
    _one(account, as_json, "disabled")


@app.command("enable")
def enable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Sync a disabled account again."""
    with open_store(load_settings()) as store:
        account = store.accounts.enable(name)
    _one(account, as_json, "enabled")


def _one(account: AccountView, as_json: bool, verb: str) -> None:
    if as_json:
        output.emit_json(account.to_json())
        return
    output.line(
        f"{verb} {output.safe(account.name)}: {_state(account)}, {_credentials(account)}, "
        f"{account.trips} trip(s), {account.pending} pending"
    )


def _state(account: AccountView) -> str:
    return "active" if account.active else "disabled"


def _credentials(account: AccountView) -> str:
    if account.tight_token_ref is not None:
        tight = f"token from {output.safe(account.tight_token_ref)}"
    elif account.tight_client_id is not None:
        tight = (
            f"client {output.safe(account.tight_client_id)} for user "
            f"{output.safe(account.tight_user_id or '')}, secret from "
            f"{output.safe(account.tight_secret_ref or '')}"
        )
    else:
        return "the settings' (TRACKER_MILEAGE_*, TRACKER_COSTS_*)"
    if account.costs_token_ref is None:
        return f"{tight}; no costs"
    return f"{tight}; costs token from {output.safe(account.costs_token_ref)}"

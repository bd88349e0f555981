"""``tracker sandbox``: run the bundled sandbox server (both remote APIs) in the foreground.

It binds loopback only, prints the base URLs, credentials and the ``TRACKER_*`` settings that
point the client at it, then serves until Ctrl+C. Starlette and uvicorn are imported inside the
command, so ``tracker --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sync.sandbox import Sandbox

app = typer.Typer(rich_markup_mode=None, add_completion=False)

_FAULTS = "Faults"
_PAGING = "Costs paging"


class PagingStyle(StrEnum):
    """How the sandbox pages the costs list."""

    PAGE = "page"
    OFFSET = "offset"


def _statuses(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        codes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            "a comma-separated list of HTTP statuses, e.g. 503,503,500"
        ) from None
    if any(not 100 <= code <= 599 for code in codes):
        raise typer.BadParameter("HTTP statuses are between 100 and 599")
    return codes


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Loopback address to bind (nothing else is allowed).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port; 0 picks a free one.")
    ] = 8765,
    seed_costs: Annotated[int, typer.Option(min=0, help="Additional costs to generate.")] = 25,
    seed: Annotated[int, typer.Option(help="Random seed (costs, ids, tokens).")] = 0,
    token: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TOKEN", help="Accepted static token (repeatable); default sandbox-token."
        ),
    ] = None,
    client_id: Annotated[
        str, typer.Option(help="OAuth client id for /v6/auth/token.")
    ] = "sandbox-client",
    # The public sandbox default, not a secret.
    client_secret: Annotated[str, typer.Option(help="OAuth client secret.")] = "sandbox-secret",  # noqa: S107  # nosec B107
    token_ttl: Annotated[float, typer.Option(min=1, help="Seconds a minted token lives.")] = 3600.0,
    rate_limit: Annotated[
        int, typer.Option(min=0, help="Requests per window per token; 0 = off.")
    ] = 1000,
    rate_window: Annotated[
        float, typer.Option(min=0.001, help="Rate-limit window, seconds.")
    ] = 300.0,
    max_batch: Annotated[
        int | None, typer.Option(min=1, help="Largest POST /v6/mileage batch (default: no limit).")
    ] = None,
    dedupe_key: Annotated[
        str | None, typer.Option(help="customData key that makes a second create a DUPLICATE.")
    ] = None,
    paging: Annotated[
        PagingStyle, typer.Option(help="page or offset.", rich_help_panel=_PAGING)
    ] = PagingStyle.PAGE,
    first_page: Annotated[int, typer.Option(min=0, max=1, rich_help_panel=_PAGING)] = 1,
    page_param: Annotated[str, typer.Option(rich_help_panel=_PAGING)] = "page",
    size_param: Annotated[str, typer.Option(rich_help_panel=_PAGING)] = "pageSize",
    offset_param: Annotated[str, typer.Option(rich_help_panel=_PAGING)] = "offset",
    limit_param: Annotated[str, typer.Option(rich_help_panel=_PAGING)] = "limit",
    page_size: Annotated[
        int,
        typer.Option(min=1, help="Items per page when none is asked for.", rich_help_panel=_PAGING),
    ] = 20,
    envelope: Annotated[
        bool,
        typer.Option(
            help="Wrap pages in an object (default: bare array).", rich_help_panel=_PAGING
        ),
    ] = False,
    items_key: Annotated[str, typer.Option(rich_help_panel=_PAGING)] = "Items",
    total_key: Annotated[
        str, typer.Option(help="Empty for none.", rich_help_panel=_PAGING)
    ] = "Total",
    has_next_key: Annotated[
        str, typer.Option(help="Empty for none.", rich_help_panel=_PAGING)
    ] = "",
    total_header: Annotated[
        str, typer.Option(help="e.g. X-Total-Count; empty for none.", rich_help_panel=_PAGING)
    ] = "",
    reject_description: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TEXT",
            help="Mileage items whose description contains this fail (INVALID_VALUE).",
            rich_help_panel=_FAULTS,
        ),
    ] = None,
    fail_next: Annotated[
        str | None,
        typer.Option(
            help="Statuses for the next POST /v6/mileage requests, e.g. 503,500.",
            rich_help_panel=_FAULTS,
        ),
    ] = None,
    latency: Annotated[
        float, typer.Option(min=0, help="Seconds added to every request.", rich_help_panel=_FAULTS)
    ] = 0.0,
    malformed_cost: Annotated[
        bool, typer.Option(help="Plant one malformed cost in the list.", rich_help_panel=_FAULTS)
    ] = False,
    ignore_page: Annotated[
        bool,
        typer.Option(help="The costs list ignores the page parameter.", rich_help_panel=_FAULTS),
    ] = False,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the start-up facts as one JSON line.")
    ] = False,
) -> None:
    """Run the sandbox (Tight v6 + business-mobile) on loopback until Ctrl+C."""
    if ctx.invoked_subcommand is not None:
        return
    from sync.cli.extras import SANDBOX, require

    require(SANDBOX, "tracker sandbox")
    from sync.sandbox import IgnorePaging, ItemRule, Latency, Paging, Sandbox, create_app
    from sync.sandbox.server import bind_loopback, check_loopback, uvicorn_config

    try:
        check_loopback(host)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--host") from None
    statuses = _statuses(fail_next)
    tokens = token or ["sandbox-token"]
    sandbox = Sandbox(
        tokens=tokens,
        clients={client_id: client_secret},
        token_ttl=token_ttl,
        rate_limit=rate_limit or None,
        rate_window=rate_window,
        max_batch=max_batch,
        dedupe_key=dedupe_key,
        paging=Paging(
            style=paging.value,
            first_page=first_page,
            page_param=page_param,
            size_param=size_param,
            offset_param=offset_param,
            limit_param=limit_param,
            default_size=page_size,
            envelope=envelope,
            items_key=items_key,
            total_key=total_key or None,
            has_next_key=has_next_key or None,
            total_header=total_header or None,
        ),
        costs_tokens=tokens,
        seed=seed,
    )
    sandbox.seed_costs(seed_costs, seed=seed)
    if malformed_cost:
        sandbox.add_cost({"ID": "not-a-number", "Amount": "ten", "Labels": "{not json"})
    for text in reject_description or []:
        sandbox.add_fault(ItemRule.description_contains(text))
    sandbox.fail_next("/v6/mileage", statuses, method="POST")
    if latency:
        sandbox.add_fault(Latency(seconds=latency, times=None))
    if ignore_page:
        sandbox.add_fault(IgnorePaging())

    try:
        sock = bind_loopback(host, port)
    except OSError as err:
        from sync.cli.exitcodes import ExitCode
        from sync.cli.output import error_line

        error_line(f"error: cannot bind {host}:{port}: {err.strerror or err}")
        raise typer.Exit(int(ExitCode.TEMPFAIL)) from None
    _announce(
        sandbox, host, int(sock.getsockname()[1]), tokens[0], client_id, client_secret, as_json
    )

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    config = uvicorn_config(
        create_app(sandbox),
        log_config=LOGGING_CONFIG,
        log_level="info" if access_log else "warning",
        access_log=access_log,
    )
    # On Ctrl+C uvicorn shuts down gracefully, then re-raises the SIGINT it captured: that
    # KeyboardInterrupt is the normal end of the command, not an interruption.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


def _announce(
    sandbox: Sandbox,
    host: str,
    port: int,
    token: str,
    client_id: str,
    client_secret: str,
    as_json: bool,
) -> None:
    from sync.sandbox import COSTS_BASE_PATH

    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    settings = _client_settings(sandbox, base, token)
    if as_json:
        facts: dict[str, Any] = {
            "url": base,
            "tight_url": base,
            "costs_url": base + COSTS_BASE_PATH,
            "token": token,
            "client_id": client_id,
            "client_secret": client_secret,
            "costs": len(sandbox.costs),
            "settings": settings,
        }
        typer.echo(json.dumps(facts))
        return
    typer.echo(f"trip-tracker sandbox on {base} (loopback only; Ctrl+C to stop)")
    typer.echo(f"  Tight v6         {base}/v6/...   bearer token {token}")
    typer.echo(f"                   POST /v6/auth/token with Basic {client_id}:{client_secret}")
    typer.echo(f"  business-mobile  {base}{COSTS_BASE_PATH}   {len(sandbox.costs)} costs")
    typer.echo("Point the client at it:")
    for name, value in settings.items():
        typer.echo(f"  export {name}={value}")


def _client_settings(sandbox: Sandbox, base: str, token: str) -> dict[str, str]:
    """``TRACKER_*`` variables for the client: URLs, tokens and non-default paging names."""
    from sync.sandbox import COSTS_BASE_PATH
    from sync.settings import CostsSettings

    found: dict[str, str] = {
        "TRACKER_MILEAGE_URL": base,
        "TRACKER_MILEAGE_TOKEN": token,
        "TRACKER_COSTS_URL": base + COSTS_BASE_PATH,
        "TRACKER_COSTS_TOKEN": token,
    }
    paging = sandbox.paging
    wanted: dict[str, Any] = {
        "paging": paging.style,
        "first_page": paging.first_page,
        "page_param": paging.page_param,
        "size_param": paging.size_param,
        "offset_param": paging.offset_param,
        "limit_param": paging.limit_param,
    }
    if paging.envelope:
        wanted |= {
            "items_key": paging.items_key,
            "total_key": paging.total_key,
            "has_next_key": paging.has_next_key,
        }
    wanted["total_header"] = paging.total_header
    defaults = CostsSettings()
    for name, value in wanted.items():
        if value is not None and getattr(defaults, name) != value:
            found[f"TRACKER_COSTS_{name.upper()}"] = str(value)
    return found


Url = Annotated[str, typer.Option("--url", help="The running sandbox's base URL.")]
RecordId = Annotated[str, typer.Argument(help="The record's Tight id (mlg_...).")]


@app.command("edit")
def edit(
    record_id: RecordId,
    changes: Annotated[
        list[str],
        typer.Option("--set", help="FIELD=VALUE as Tight spells it, e.g. mileageStatus=BUSINESS."),
    ],
    url: Url = "http://127.0.0.1:8765",
) -> None:
    """Edit a stored record as another client would (Tight's app, an accountant)."""
    body: dict[str, Any] = {}
    for change in changes:
        field, sep, value = change.partition("=")
        if not sep or not field:
            raise typer.BadParameter(f"{change!r} is not FIELD=VALUE", param_hint="--set")
        try:
            body[field] = json.loads(value)  # numbers, objects, null
        except ValueError:
            body[field] = value  # plain text
    _control(url, "PATCH", record_id, body)


@app.command("remove")
def remove(record_id: RecordId, url: Url = "http://127.0.0.1:8765") -> None:
    """Delete a stored record as another client would."""
    _control(url, "DELETE", record_id, None)


def _control(url: str, method: str, record_id: str, body: dict[str, Any] | None) -> None:
    import httpx

    from sync.errors import ConfigError
    from sync.sandbox.control import CONTROL_PATH

    target = f"{url.rstrip('/')}{CONTROL_PATH}/{record_id}"
    try:
        answer = httpx.request(method, target, json=body, timeout=10)
    except httpx.HTTPError as err:
        raise ConfigError(f"no sandbox answers at {url} ({type(err).__name__})") from None
    if answer.status_code != 200:
        raise ConfigError(f"the sandbox refused: HTTP {answer.status_code} {answer.text[:200]}")
    typer.echo(answer.text)

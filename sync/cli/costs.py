"""``tracker costs ...``: list, show and refresh the additional costs pulled from the platform.

Labels, notes and location names come from a server: every cell goes through
``sync.cli.output``, which escapes terminal control characters.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store

if TYPE_CHECKING:
    from tracker.costs import CostView, QuarantineView

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _digits(value: str) -> str:
    """A cost ID is a number: anything else is a usage error (exit 2), as for any choice."""
    if not value.strip().lstrip("-").isdigit():
        raise typer.BadParameter(f"{value!r} is not a cost ID (a number)")
    return value.strip()


CostId = Annotated[
    str,
    typer.Argument(
        metavar="COST",
        help="The platform's cost ID (or a unique prefix of 4+ of its digits).",
        callback=_digits,
    ),
]
RAW_PREVIEW = 80


def _trip(view: CostView) -> str:
    if view.trip_id is not None:
        return view.trip_id[:8]
    return "(several)" if view.link == "ambiguous" else "-"


@app.command("list")
def list_(
    trip: Annotated[
        str | None,
        typer.Option(
            "--trip", metavar="TRIP", help="Only costs linked to this trip (id or prefix)."
        ),
    ] = None,
    quarantined: Annotated[
        bool,
        typer.Option("--quarantined", help="List the items that failed validation instead."),
    ] = False,
    account: Annotated[
        str | None,
        typer.Option("--account", metavar="NAME", help="Fleet mode: that account's costs only."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List pulled costs, latest first, with how each counts for tax (or the quarantined
    items)."""
    settings = load_settings()
    with open_store(settings) as opened:
        store = opened if account is None else opened.for_account(account)
        zone = store.rules.timezone
        if quarantined:
            _print_quarantine(store.costs.quarantine(), as_json, zone)
            return
        views = store.costs.list(trip_id=trip, treatments=settings.costs.treatments)
    if as_json:
        output.emit_json([v.to_json(exclude={"raw"}) for v in views])
        return
    output.table(
        f"{len(views)} cost{'s' if len(views) != 1 else ''}",
        ["id", "start", "what", "amount", "trip", "link", "seen", "tax"],
        (
            (
                v.id,
                output.local_time(v.start_time, zone),
                v.label or "-",
                f"{v.amount} {v.currency}",
                _trip(v),
                v.link,
                "yes" if v.seen_in_last_pull else "no",
                _tax(v),
            )
            for v in views
        ),
    )
    output.line(_deductible_line(views))


def _tax(view: CostView) -> str:
    """The treatment, and whether the cost counts: "deductible, counted", "never"..."""
    shown = TREATMENT_WORDS.get(view.treatment, view.treatment)
    if view.counted:
        return f"{shown}, counted"
    if view.treatment == "deductible":
        return f"{shown}, not counted: {view.not_counted_reason}"
    return shown


TREATMENT_WORDS = {
    "deductible": "deductible",
    "in_rate": "in the rate",
    "never": "never deductible",
    "unclassified": "not classified",
}


def _deductible_line(views: list[CostView]) -> str:
    from tracker.costs import tally_costs

    tally = tally_costs(v.tax_cost() for v in views)
    totals = ", ".join(f"{amount} {cur}" for cur, amount in sorted(tally.totals.items()))
    return (
        f"deductible (linked to business trips): {totals or '0'}; "
        f"{len(tally.counted)} counted, {len(tally.not_counted)} not counted"
    )


def _print_quarantine(rows: list[QuarantineView], as_json: bool, zone: tzinfo) -> None:
    if as_json:
        output.emit_json([r.to_json() for r in rows])
        return
    output.table(
        f"{len(rows)} quarantined item{'s' if len(rows) != 1 else ''} (retried every pull)",
        ["cost id", "last seen", "reason", "raw"],
        (
            (
                r.cost_id or "-",
                output.local_time(r.last_seen_at, zone),
                r.reason,
                r.raw if len(r.raw) <= RAW_PREVIEW else r.raw[:RAW_PREVIEW] + "...",
            )
            for r in rows
        ),
    )


@app.command("show")
def show(cost_id: CostId, as_json: JsonOpt = False) -> None:
    """Show one cost with every field and the item as received."""
    settings = load_settings()
    with open_store(settings) as store:
        view = store.costs.get(cost_id, treatments=settings.costs.treatments)
    _print_cost(view, as_json, store.rules.timezone)


def _print_cost(view: CostView, as_json: bool, zone: tzinfo) -> None:
    if as_json:
        output.emit_json(view.to_json())
        return
    output.table("cost", ["field", "value"], _rows(view, zone))
    if view.labels:
        output.table("labels", ["language", "label"], sorted(view.labels.items()))
    output.table(
        "as received", ["field", "value"], ((k, _raw_value(v)) for k, v in view.raw.items())
    )


def _rows(view: CostView, zone: tzinfo) -> list[tuple[str, object]]:
    def named(value: int | None, name: str | None) -> str:
        return "-" if value is None else f"{value} ({name})"

    return [
        ("id", view.id),
        ("amount", f"{view.amount} {view.currency}"),
        ("label", view.label or "-"),
        ("type id", "-" if view.type_id is None else view.type_id),
        ("cost type", named(view.cost_type, view.cost_type_name)),
        ("start", output.local_time(view.start_time, zone)),
        ("end", output.local_time(view.end_time, zone)),
        ("from", view.start_location or "-"),
        ("to", view.end_location or "-"),
        ("trip guid", view.trip_guid or "-"),
        ("trip", view.trip_id or "-"),
        ("link", view.link),
        ("notes", view.notes or ""),
        ("last updated", output.local_time(view.last_updated, zone)),
        ("payment id", "-" if view.payment_id is None else view.payment_id),
        ("payment status", named(view.payment_status, view.payment_status_name)),
        ("payment attempt", output.local_time(view.payment_attempt, zone)),
        ("payment user", view.payment_user or "-"),
        ("payment notes", view.payment_notes or ""),
        ("seen in last pull", "yes" if view.seen_in_last_pull else "no"),
        ("tax treatment", f"{view.treatment} (from the {view.treatment_source})"),
        ("counted", "yes" if view.counted else f"no: {view.not_counted_reason}"),
        ("first seen", output.local_time(view.first_seen_at, zone)),
        ("updated", output.local_time(view.updated_at, zone)),
    ]


def _raw_value(value: Any) -> str:
    return "null" if value is None else str(value)


@app.command("refresh")
def refresh(cost_id: CostId, as_json: JsonOpt = False) -> None:
    """Fetch one cost from the platform again and store it."""
    from sync.engine import SyncEngine
    from tracker.errors import AmbiguousIdError, IdTooShortError, NotFoundError

    settings = load_settings()
    with open_store(settings) as store:
        account = None
        try:  # a stored cost may be named by a prefix; one not stored yet by its whole ID
            stored = store.costs.get(cost_id)
            number, account = stored.id, stored.account
        except (IdTooShortError, AmbiguousIdError):
            raise
        except NotFoundError:
            number = int(cost_id)
        # A stored cost is refreshed as the account that pulled it (with its costs token).
        with SyncEngine(settings, store, account=account) as engine:
            result = engine.refresh_cost(number)
    if as_json:
        output.emit_json(result.to_dict())
        return
    detail = f": {result.reason}" if result.reason else ""
    output.line(f"cost {number}: {result.outcome}{detail}")
    if result.cost is not None and result.outcome != "quarantined":
        _print_cost(result.cost, False, store.rules.timezone)

"""``tracker conflicts ...``: trips changed here and on Tight in different ways."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal, cast

import typer

from sync.cli import complete, output
from sync.cli.context import load_settings, open_store

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
TripId = Annotated[
    str,
    typer.Argument(
        metavar="TRIP", help="Trip id (or a unique prefix).", autocompletion=complete.trip_ids
    ),
]


def _value(value: Any) -> str:
    return "-" if value is None else value if isinstance(value, str) else json.dumps(value)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every trip held in a conflict, with the fields that differ."""
    with open_store(load_settings()) as store:
        held = store.conflicts.list()
    if as_json:
        output.emit_json([c.to_json() for c in held])
        return
    output.table(
        f"{len(held)} conflict{'s' if len(held) != 1 else ''}",
        ["trip", "kind", "fields", "description"],
        (
            (
                c.trip_id[:8],
                c.kind,
                ", ".join(f.name for f in c.fields) or "-",
                c.description or "",
            )
            for c in held
        ),
    )
    if held:
        output.line("see one with `tracker conflicts show TRIP`; nothing of it is pushed meanwhile")


@app.command("show")
def show(trip_id: TripId, as_json: JsonOpt = False) -> None:
    """One conflict: each field as it was (base), as it is here, and on Tight."""
    with open_store(load_settings()) as store:
        held = store.conflicts.get(trip_id)
    if as_json:
        output.emit_json(held.to_json())
        return
    if held.kind == "deleted":
        output.line(f"trip {held.trip_id} was deleted on Tight and edited here")
    else:
        output.table(
            f"conflict of trip {held.trip_id}",
            ["field", "before", "here", "on Tight"],
            ((f.name, _value(f.base), _value(f.local), _value(f.server)) for f in held.fields),
        )
    output.line(
        f"resolve: `tracker conflicts resolve {held.trip_id[:8]} --take local` (or remote), "
        "or per field: `--field NAME=local`"
    )


Side = Literal["local", "remote"]


class Take(StrEnum):
    """Which side a conflict keeps."""

    LOCAL = "local"
    REMOTE = "remote"


@app.command("resolve")
def resolve(
    trip_id: TripId,
    take: Annotated[
        Take | None,
        typer.Option("--take", help="Keep every field as it is here (local) or take Tight's."),
    ] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="NAME=SIDE",
            help="NAME=local or NAME=remote for one field (repeatable).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve a conflict; the merged trip is queued for the next push."""
    from tracker.errors import InvalidInputError

    choices: dict[str, Side] = {}
    for spec in fields or []:
        name, _, chosen = spec.partition("=")
        if chosen not in ("local", "remote") or not name:
            raise InvalidInputError("--field", f"{spec!r} is not NAME=local or NAME=remote")
        choices[name] = cast(Side, chosen)
    whole: Side | None = None if take is None else ("local" if take is Take.LOCAL else "remote")
    with open_store(load_settings()) as store:
        done = store.conflicts.resolve(trip_id, whole, choices)
        trip = store.trips.get(done.trip_id)
    if as_json:
        output.emit_json({"resolved": done.to_json(), "trip": trip.to_json()})
        return
    output.line(f"trip {done.trip_id}: resolved; it is {trip.sync_state} (`tracker sync` sends it)")

"""``tracker parked ...``: changes the server rejected, waiting for you."""

from __future__ import annotations

from typing import Annotated

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Seq = Annotated[
    str,
    typer.Argument(
        metavar="CHANGE",
        help="The parked change's number, or its trip's id (or a unique prefix of 4+); "
        "`tracker parked list` shows both.",
    ),
]


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every parked change with the server's words."""
    with open_store(load_settings()) as store:
        entries = store.parked.list()
    if as_json:
        output.emit_json([e.to_json() for e in entries])
        return
    output.table(
        f"{len(entries)} parked change{'s' if len(entries) != 1 else ''}",
        ["change", "trip", "type", "param", "message"],
        (
            (e.seq, e.trip_id[:8], e.error_type or "", e.error_param or "", e.error_message or "")
            for e in entries
        ),
    )
    if entries:
        output.line("fix the trip (`tracker trip edit`) and it is sent again, or retry/drop it")


@app.command("show")
def show(seq: Seq, as_json: JsonOpt = False) -> None:
    """One parked change."""
    with open_store(load_settings()) as store:
        entry = store.parked.get(seq)
        trip = store.trips.get(entry.trip_id)
    if as_json:
        output.emit_json({**entry.to_json(), "trip": trip.to_json()})
        return
    output.table(
        f"parked change {entry.seq}",
        ["field", "value"],
        [
            ("trip", trip.id),
            ("description", trip.description or ""),
            ("type", entry.error_type),
            ("param", entry.error_param or ""),
            ("message", entry.error_message),
            ("attempts", entry.attempts),
            ("since", output.local_time(entry.updated_at, store.rules.timezone)),
        ],
    )


@app.command("retry")
def retry(seq: Seq, as_json: JsonOpt = False) -> None:
    """Queue a parked change again as it is (e.g. after fixing something on the server)."""
    with open_store(load_settings()) as store:
        entry = store.parked.retry(seq)
    if as_json:
        output.emit_json(entry.to_json())
    else:
        output.line(f"change {entry.seq} (trip {entry.trip_id}) queued again")


@app.command("drop")
def drop(seq: Seq, as_json: JsonOpt = False) -> None:
    """Give up on a parked change; the trip stays as it is locally."""
    with open_store(load_settings()) as store:
        entry = store.parked.drop(seq)
    if as_json:
        output.emit_json(entry.to_json())
    else:
        output.line(f"change {entry.seq} (trip {entry.trip_id}) dropped; the trip stays local")

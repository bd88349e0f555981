"""``tracker verify``: recompute every trip's history hash chain (docs/verify.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store
from sync.cli.exitcodes import ExitCode


def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Recompute each trip's history hash chain and print the file's chain head. Exit 0:
    every trip matches its history; 65: trips were changed outside the tracker (the first
    is named); 74 storage error."""
    with open_store(load_settings()) as store:
        result = store.verify_history()
    if as_json:
        output.emit_json(result.to_json())
    else:
        output.line(f"chain head: {result.head}")
        output.line(f"{result.trips} trips, {result.links} history links")
        if result.ok:
            output.line("ok: every trip matches its history")
        else:
            first = result.first
            assert first is not None
            output.line(
                f"changed outside the tracker: {result.problems} trip(s); "
                f"first: trip {first.trip_id}: {first.reason}"
            )
            output.table(
                "trips changed outside the tracker",
                ["trip", "what"],
                ((f.trip_id, f.reason) for f in result.findings),
            )
            if result.problems > len(result.findings):
                output.line(f"... and {result.problems - len(result.findings)} more")
            output.line(
                "compare the chain head with the one on a printed log; restore the file "
                "from a backup to undo the changes"
            )
    if not result.ok:
        raise typer.Exit(int(ExitCode.DATAERR))

"""``tracker trip export``: the trips as CSV (what ``trip import`` reads) or GPX 1.1.

The file is written as the trips are read (a store of 100k trips streams through flat
memory); to a file it is written beside it and renamed into place at the end, so a failed
export never leaves half a file under the name asked for. Rules: docs/recording.md, "Export".
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store
from tracker.enums import ExportFormat
from tracker.errors import InvalidInputError, StorageError

if TYPE_CHECKING:
    from tracker.store import Tracker
    from tracker.tripexport import ExportReport


def parse_day(text: str | None, field: str) -> date | None:
    """A ``--from``/``--to`` value as a date (InvalidInputError, exit 65, when it is not)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(field, f"{text!r} is not a date as YYYY-MM-DD") from None


def export(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="csv (default) or gpx.")
    ] = ExportFormat.CSV,
    start: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="Only trips dated on or after."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", metavar="YYYY-MM-DD", help="Only trips dated on or before."),
    ] = None,
    out: Annotated[
        str, typer.Option("--out", "-o", metavar="FILE", help="Write to FILE ('-': stdout).")
    ] = "-",
    account: Annotated[
        str | None,
        typer.Option("--account", metavar="NAME", help="Fleet mode: only this account's trips."),
    ] = None,
) -> None:
    """Export finished trips, oldest first, as CSV or GPX (see docs/recording.md)."""
    first, last = parse_day(start, "from"), parse_day(end, "to")
    store = open_store(load_settings())
    with store:
        scope = Scope(first, last, account)
        if out == "-":
            report = _write(store, sys.stdout, fmt, scope)
            sys.stdout.flush()
        else:
            report = _to_file(store, Path(out), fmt, scope)
    said = f"exported {report.trips} trip{'s' if report.trips != 1 else ''}"
    if fmt is ExportFormat.GPX:
        said += f" ({report.fixes} points)"
        if report.without_fixes:
            said += (
                f"; {report.without_fixes} trip{'s' if report.without_fixes != 1 else ''} "
                "without GPS points left out (GPX needs points: export CSV for every trip)"
            )
    # On stderr: stdout may be the file itself.
    output.error_line(said if out == "-" else f"{said} to {out}")


@dataclass(frozen=True)
class Scope:
    """Which trips an export writes: those dated ``start``..``end`` (None: open) of
    ``account`` (None: every account's; an unknown name writes nothing: exit 65)."""

    start: date | None
    end: date | None
    account: str | None


def _write(store: Tracker, out: TextIO, fmt: ExportFormat, scope: Scope) -> ExportReport:
    return store.export_trips(out, fmt, start=scope.start, end=scope.end, account=scope.account)


def _to_file(store: Tracker, path: Path, fmt: ExportFormat, scope: Scope) -> ExportReport:
    """Written beside ``path`` and renamed into place: never half a file under its name."""
    part = path.with_name(f".{path.name}.part")
    try:
        with part.open("w", encoding="utf-8", newline="") as handle:
            report = _write(store, handle, fmt, scope)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, path)
    except OSError as err:
        part.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {err.strerror}; check the folder") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return report

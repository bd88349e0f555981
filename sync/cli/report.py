"""``tracker report``: the mileage log of a tax year, as CSV, JSON or PDF (docs/cli.md).

The report object is the library's (``Tracker.report``); this command picks the schedule and
writes it. To a file, it is written next to it and renamed into place when complete, so a
failure never leaves half a report under the name asked for. A PDF is binary: it goes to
``--out`` or to a stdout that is not a terminal (a pipe, a redirect), never onto a terminal.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated

import typer

from sync.cli import complete
from sync.cli.context import load_settings, open_store
from tracker.errors import InvalidInputError, StorageUnavailableError
from tracker.report.formats import ReportFormat


def report(
    year: Annotated[
        int | None,
        typer.Option(
            "--year", metavar="YYYY", help="The tax year that begins in this calendar year."
        ),
    ] = None,
    jurisdiction: Annotated[
        str | None,
        typer.Option(
            "--jurisdiction",
            metavar="us-irs|uk-hmrc|ca-cra|de|NAME",
            help="The rate schedule (default: TRACKER_MILEAGE_DEDUCTION_SCHEDULE).",
        ),
    ] = None,
    car: Annotated[
        str | None,
        typer.Option(
            "--car", metavar="ID", help="Only this car's trips.", autocompletion=complete.car_ids
        ),
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", metavar="ID", help="Only this customer's trips.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="First day (in the year).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", metavar="YYYY-MM-DD", help="Last day (in the year).")
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format.")] = (
        ReportFormat.CSV
    ),
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """The mileage log of a tax year: every trip with its rate and amount, the trips to
    classify apart, the totals and the odometer. PDF (the 'pdf' extra): a summary page with a
    chart per month, then the log; needs --out FILE or a redirected stdout."""
    from tracker.rates import load_schedules
    from tracker.report.renderers import render

    if fmt is ReportFormat.PDF:
        _pdf_allowed(out, sys.stdout.isatty())
        from sync.cli.extras import PDF, require

        require(PDF, "tracker report --format pdf")  # before the store is opened
    settings = load_settings()
    chosen = jurisdiction or settings.mileage.deduction_schedule
    if chosen is None:
        raise InvalidInputError(
            "jurisdiction",
            "give one (us-irs, uk-hmrc, ca-cra or your schedule's id), or set "
            "TRACKER_MILEAGE_DEDUCTION_SCHEDULE",
        )
    with open_store(settings) as store:
        made = store.report(
            jurisdiction=chosen,
            year=year,
            car=car,
            customer=customer,
            start=start,
            end=end,
            schedules=load_schedules(settings.rate_schedules, config=settings.config_path),
            treatments=settings.costs.treatments,
        )
        if out is None:
            render(made, fmt, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            _to_file(out, lambda stream: render(made, fmt, stream))


def _pdf_allowed(out: Path | None, stdout_is_terminal: bool) -> None:
    """A PDF needs ``--out`` or a redirected stdout: on a terminal its bytes would be noise
    (and could drive the terminal). A usage error, exit 2, before anything is read."""
    if out is None and stdout_is_terminal:
        raise typer.BadParameter(
            "a PDF cannot be shown on a terminal: give --out FILE (or redirect stdout to a file)",
            param_hint="'--format pdf'",
        )


def _to_file(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a temporary file in the same folder, renamed over ``path`` when done."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise StorageUnavailableError(
            f"cannot write the report to {path} ({err.strerror}): check the folder exists "
            "and is writable",
            path=str(path),
        ) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temp, path)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise StorageUnavailableError(
            f"cannot write the report to {path} ({err.strerror}): check the path and the "
            "free space",
            path=str(path),
        ) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise

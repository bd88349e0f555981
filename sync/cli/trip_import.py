"""``tracker trip import FILE``: a GPX track file, or a CSV file of trips (in bulk).

A CSV file is read twice, as a stream: first every row is checked (nothing written), then,
when no row is bad (or with ``--skip-invalid``), the trips are added a chunk per
transaction (``Tracker.add_trips``). Each row is keyed by the file's SHA-256 and its row
number, so the same file imported again (twice, or after a crash) adds nothing. The policy
is in docs/cli.md, "Moving from another app".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.cli import complete, output
from sync.cli.context import load_settings, open_store
from sync.cli.exitcodes import ExitCode
from tracker.enums import Classification as Kind
from tracker.errors import InvalidInputError

if TYPE_CHECKING:
    from tracker.bulkrows import BulkReport
    from tracker.csvtrips import Columns
    from tracker.store import Tracker

Tick = Callable[[str, "BulkReport", int | None], None]
SHOWN_ERRORS = 20  # rows listed on a terminal; --json lists up to tracker.bulkrows.KEPT_ERRORS


@dataclass(frozen=True)
class CsvImport:
    """What an import of a CSV file did: the report of its last pass, whether that pass
    wrote (``imported``), and the file's columns (to name them in errors)."""

    report: BulkReport
    imported: bool
    columns: Columns

    def to_json(self, path: Path) -> dict[str, Any]:
        """The ``--json`` document."""
        doc = {"file": str(path), "imported": self.imported, **self.report.to_json()}
        doc["errors"] = [
            {**e.to_json(), "column": self.columns.column_of(e.field)} for e in self.report.errors
        ]
        doc["ignored_columns"] = list(self.columns.ignored)
        return doc


def import_csv(
    store: Tracker,
    path: Path,
    *,
    rename: dict[str, str] | None = None,
    defaults: dict[str, Any] | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    chunk_size: int | None = None,
    tick: Tick | None = None,
) -> CsvImport:
    """Check every row of ``path``, then (unless ``dry_run``, and only when no row is bad
    or ``skip_invalid``) add its trips; rows imported before are skipped."""
    from tracker.bulk import DEFAULT_CHUNK
    from tracker.csvtrips import CsvTrips

    chunk_size = chunk_size or DEFAULT_CHUNK
    source = CsvTrips(path, store.rules.timezone, rename=rename, defaults=defaults)
    columns = source.header()
    stamp = _stamp(path)
    prefix = f"csv:{source.digest()}:"
    show = tick or (lambda _label, _report, _total: None)
    check = store.add_trips(
        source.rows(prefix),
        dry_run=True,
        chunk_size=chunk_size,
        on_progress=lambda r: show("checking", r, None),
    )
    if dry_run or (check.invalid and not skip_invalid):
        return CsvImport(check, False, columns)
    if _stamp(path) != stamp:
        raise InvalidInputError("file", f"{path} changed while it was checked; import it again")
    done = store.add_trips(
        source.rows(prefix),
        skip_invalid=skip_invalid,
        chunk_size=chunk_size,
        on_progress=lambda r: show("importing", r, check.rows),
    )
    return CsvImport(done, True, columns)


def _stamp(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="GPX files (each track a trip), or one CSV file of trips (.csv).",
        ),
    ],
    classification: Annotated[
        Kind | None, typer.Option("--classification", "-c", help="What the trips were for.")
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", "-d", metavar="TEXT", help="What they were for."),
    ] = None,
    car: Annotated[
        str | None,
        typer.Option(
            "--car",
            metavar="CAR",
            help="Car id or a unique prefix.",
            autocompletion=complete.car_ids,
        ),
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", metavar="ID", help="Tight customer id.")
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="CSV: import the good rows, report the others."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="CSV: check every row, write nothing.")
    ] = False,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="COLUMN=FIELD",
            help="CSV: read a column as a field ('COLUMN=' leaves it out); repeat for several.",
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size",
            min=1,
            metavar="N",
            help="CSV: trips per transaction (1000; at most 10000).",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", metavar="NAME", help="Fleet mode: whose trips they are."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="GPX: print only the ids (one per line).")
    ] = False,
) -> None:
    """Import trips: each track of a GPX file, or each row of a CSV file (see docs/cli.md)."""
    given = {
        "classification": None if classification is None else classification.value,
        "description": description,
        "car_id": car,
        "customer_id": customer,
    }
    details = {k: v for k, v in given.items() if v is not None}
    csv_files = [f for f in files if f.suffix.lower() == ".csv"]
    if not csv_files:
        if skip_invalid or dry_run or mapping or chunk_size:
            raise typer.BadParameter(
                "--skip-invalid, --dry-run, --map and --chunk-size are for CSV files"
            )
        _import_gpx(files, details, as_json, quiet, account)
        return
    if len(files) > 1:
        raise typer.BadParameter("import a CSV file on its own (GPX files may come together)")
    file = files[0]
    rename = _rename(mapping or [])
    store = open_store(load_settings())
    with store, _bar(output.interactive(as_json)) as tick:
        result = import_csv(
            store if account is None else store.for_account(account),
            file,
            rename=rename,
            defaults=details,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            chunk_size=chunk_size,
            tick=tick,
        )
    _render(file, result, as_json, dry_run)
    if result.report.invalid or not result.report.complete:
        raise typer.Exit(int(ExitCode.DATAERR))


def _rename(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip():
            raise typer.BadParameter(f"{pair!r}: give COLUMN=field, or COLUMN= to skip it")
        out[column] = field.strip()
    return out


@contextmanager
def _bar(enabled: bool) -> Iterator[Tick | None]:
    """Progress on a terminal: rows checked, then rows imported out of the rows checked."""
    if not enabled:
        yield None
        return
    with output.progress_bar() as bar:
        task = bar.add_task("checking", total=None)

        def tick(label: str, report: BulkReport, total: int | None) -> None:
            done = report.rows
            bar.update(task, description=f"{label}: {done} rows", completed=done, total=total)

        yield tick


def _render(path: Path, result: CsvImport, as_json: bool, asked_dry_run: bool) -> None:
    if as_json:
        output.emit_json(result.to_json(path))
        return
    r = result.report
    skipped = f", {r.skipped} imported before (skipped)" if r.skipped else ""
    if result.imported:
        invalid = f", {r.invalid} invalid (not imported)" if r.invalid else ""
        stopped = f"; stopped at row {r.stopped_at}" if r.stopped_at is not None else ""
        output.line(f"imported {r.added} trips from {path}{skipped}{invalid}{stopped}")
    elif r.invalid and not asked_dry_run:
        output.line(
            f"nothing imported: {r.invalid} of {r.rows} rows are invalid (below); fix them and "
            f"run again, or add --skip-invalid to import the other {r.added}"
        )
    else:
        output.line(f"checked {r.rows} rows: {r.added} to add{skipped}, {r.invalid} invalid")
    if r.errors:
        output.table(
            "invalid rows",
            ["row", "column", "problem"],
            (
                (e.row, result.columns.column_of(e.field), e.message)
                for e in r.errors[:SHOWN_ERRORS]
            ),
        )
        more = r.invalid - min(len(r.errors), SHOWN_ERRORS)
        if more:
            output.line(f"{more} more invalid rows: --json lists them")


def _import_gpx(
    gpx_files: list[Path],
    details: dict[str, Any],
    as_json: bool,
    quiet: bool,
    account: str | None,
) -> None:
    """Each file in its own transaction, in order; a file (or track) imported before adds
    nothing and says so. ``account``: as a CSV import's (an unknown name is refused before
    any file is read, a disabled one by the first file's transaction)."""
    from sync.cli.trips import print_trip

    store = open_store(load_settings())
    made: list[Any] = []
    with store:
        owner = store if account is None else store.for_account(account)
        for gpx_file in gpx_files:
            views = owner.trips.import_gpx(gpx_file, details)
            made += views
            if as_json:
                continue
            for view in views:
                print_trip(view, False, "imported", quiet)
            if not views and not quiet:
                output.line(f"already imported: {output.safe(gpx_file)} (nothing added)")
    if as_json:
        output.emit_json([v.to_json() for v in made])

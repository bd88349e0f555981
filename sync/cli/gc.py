"""``tracker gc``: compact the change journal, and shrink the file when asked."""

from __future__ import annotations

from typing import Annotated

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store


def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; change nothing.")
    ] = False,
    vacuum: Annotated[
        bool, typer.Option("--vacuum", help="Then shrink the file (VACUUM: rewrites it).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Remove synced journal entries older than TRACKER_JOURNAL_RETENTION_DAYS and their
    attempt-level history (each trip's history stays). Exit 0 done; 75 a sync is running
    (try again when it is done); 74 storage error."""
    from sync.clock import SystemClock
    from sync.gc import collect_garbage

    settings = load_settings()
    with open_store(settings) as store:
        report = collect_garbage(store, settings, SystemClock(), dry_run=dry_run, vacuum=vacuum)
    if as_json:
        output.emit_json(report.to_dict())
        return
    would = "would remove" if report.dry_run else "removed"
    output.table(
        f"gc: {would} what was synced before {report.cutoff:%Y-%m-%d %H:%M} UTC",
        ["", "count"],
        [
            ("journal entries", report.entries),
            ("history rows", report.events),
            ("pages freed in the file", report.pages_freed),
            ("file bytes before", report.bytes_before),
            ("file bytes after", report.bytes_after),
        ],
    )
    if report.dry_run:
        output.line(f"dry run: nothing changed ({report.bytes_freed} bytes would be freed)")
    elif report.vacuumed:
        output.line(f"vacuumed: the file shrank by {report.bytes_freed} bytes")
    elif report.pages_freed:
        output.line(
            "freed pages are reused by later writes; `tracker gc --vacuum` shrinks the file"
        )

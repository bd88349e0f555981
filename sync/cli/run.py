"""``tracker sync``: push (and pull) now, with progress and a summary."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store
from sync.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from sync.pull import PullReport
    from sync.push import PushReport
    from sync.settings import Settings
    from tracker.store import Tracker


app = typer.Typer(rich_markup_mode=None, add_completion=False)


@app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    push: Annotated[bool, typer.Option("--push", help="Push local changes to Tight.")] = False,
    pull: Annotated[bool, typer.Option("--pull", help="Pull additional costs.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Sync now. Exit 0: all done; 65: some records need you (parked); 75: temporary
    failure, work kept queued; 77: authentication; 69: endpoint missing."""
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings()
    # Neither flag: both directions (the pull only when a costs URL is configured).
    do_push = push or not pull
    do_pull = pull or (not push and bool(settings.costs.url))
    with open_store(settings) as store:
        store.check_integrity()  # a damaged file is neither pushed from nor pulled into
        if dry_run:
            _dry_run(settings, store, as_json)
            return
        doc: dict[str, Any] = {}
        code = ExitCode.OK
        if do_push:
            report = _push(settings, store, as_json)
            doc["push"] = report.to_dict()
            code = max(code, _push_code(report, store))
        if do_pull:
            pulled = _pull(settings, store, as_json)
            doc["pull"] = pulled.to_dict()
            code = max(code, _pull_code(pulled))
        doc["journal"] = store.journal_counts().to_dict()
    if as_json:
        output.emit_json(doc)
    else:
        _summary(doc)
    if code:
        raise typer.Exit(int(code))


def _push_code(report: PushReport, store: Tracker) -> ExitCode:
    counts = store.journal_counts()
    if counts.parked or report.parked:
        return ExitCode.DATAERR
    if counts.pending or counts.in_flight or report.stopped:
        return ExitCode.TEMPFAIL
    return ExitCode.OK


def _pull_code(report: PullReport) -> ExitCode:
    if report.quarantined:
        return ExitCode.DATAERR
    if report.stopped or not report.complete:
        return ExitCode.TEMPFAIL
    return ExitCode.OK


def _pull(settings: Settings, store: Tracker, quiet: bool) -> PullReport:
    from sync.pull import pull_costs

    with _progress(quiet) as progress:
        report = pull_costs(settings, store, progress=progress)
    if report.warning and not quiet:
        output.error_line(f"warning: {report.warning}")
    return report


def _push(settings: Settings, store: Tracker, quiet: bool) -> PushReport:
    from sync.engine import SyncEngine

    engine = SyncEngine(settings, store)
    try:
        with _progress(quiet) as progress:
            # Asked for by hand: changes waiting for a retry are tried now as well.
            return engine.push(progress=progress, retry_waiting=True)
    finally:
        engine.close()


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str, int], None]]:
    """A Rich progress bar on a terminal (stderr), plain lines otherwise."""
    if quiet:
        yield lambda _event, _n: None
        return
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True, console=output.console(stderr=True)) as bar:
            task = bar.add_task("pushing", total=None)
            done = 0

            def tick(event: str, n: int) -> None:
                nonlocal done
                if event == "done":
                    done += n
                    bar.update(task, completed=done, description=f"pushed {done} items")

            yield tick
        return

    def plain(event: str, n: int) -> None:
        if event in ("claimed", "reconciled"):
            output.error_line(f"{event} {n}")

    yield plain


def _summary(doc: dict[str, Any]) -> None:
    rows: list[tuple[str, object]] = []
    push = doc.get("push")
    if push:
        rows += [
            ("pushed", push["synced"]),
            ("deleted on server", push["deleted"]),
            ("parked (need you)", len(push["parked"])),
            ("retry later", push["retried"]),
            ("in doubt", push["in_doubt"]),
            ("reconciled: found", push["reconciled_found"]),
            ("reconciled: absent, resent", push["reconciled_absent"]),
            ("requests", push["requests"]),
        ]
    pull = doc.get("pull")
    if pull:
        rows += [
            (f"pull: {k.replace('_', ' ')}", v)
            for k, v in pull.items()
            if isinstance(v, int) and not isinstance(v, bool)
        ]
    journal = doc["journal"]
    rows += [("still pending", journal["pending"]), ("parked in total", journal["parked"])]
    output.table("sync", ["what", "count"], rows)
    if push and push["parked"]:
        output.table(
            "parked by the server",
            ["trip", "type", "param", "message"],
            (
                (p["trip_id"][:8], p["error_type"], p["param"] or "", p["message"])
                for p in push["parked"]
            ),
        )
    if push and push.get("stopped"):
        output.error_line(f"stopped early: {push['stopped']}")


def _dry_run(settings: Settings, store: Tracker, as_json: bool) -> None:
    from sync.preview import preview_push

    plan = preview_push(settings, store)
    if as_json:
        output.emit_json(plan)
        return
    for request in plan["requests"]:
        output.line(f"{request['method']} {request['url']}  ({request['note']})")
    output.line(f"{len(plan['requests'])} request(s) would be sent; nothing was changed")


def daemon(
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Append logs to this file (mode 0600).")
    ] = None,
) -> None:
    """Run the sync service in the foreground until SIGTERM/SIGINT (exit 0)."""
    from sync.daemon import run_daemon
    from sync.pull import pull_costs

    settings = load_settings()
    with open_store(settings) as store:
        store.check_integrity()
        pull = None
        if settings.costs.url:

            def pull(stop: Any) -> dict[str, Any]:
                return pull_costs(settings, store, stop=stop).to_dict()

        code = run_daemon(settings, store, log_file=log_file, pull=pull)
    raise typer.Exit(code)


@app.command("explain")
def explain(
    trip_id: Annotated[str, typer.Argument(help="Trip id (or a unique prefix).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """A trip's journal and attempt history, in words."""
    from sync.explain import explain_trip

    with open_store(load_settings()) as store:
        story = explain_trip(store, trip_id)
    if as_json:
        output.emit_json(story)
        return
    for sentence in story["sentences"]:
        output.line(sentence)

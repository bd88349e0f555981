"""``tracker sync``: push (and pull) now, with progress and a summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store
from sync.cli.exitcodes import ExitCode, exit_code_for

if TYPE_CHECKING:
    from sync.events import Listener, SyncEvent
    from sync.report import SyncReport
    from tracker.store import Tracker


app = typer.Typer(rich_markup_mode=None, add_completion=False)


@app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    push: Annotated[bool, typer.Option("--push", help="Push local changes to Tight.")] = False,
    pull: Annotated[
        bool, typer.Option("--pull", help="Pull what changed on Tight, and additional costs.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    account: Annotated[
        str | None,
        typer.Option("--account", help="Fleet mode: sync this account's trips only."),
    ] = None,
) -> None:
    """Sync now. Exit 0: all done; 65: some records need you (parked, or held in a
    conflict); 75: temporary failure, work kept queued; 77: authentication; 69: endpoint
    missing. With --account, that account's trips only (without it: the implicit
    account's)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings()
    # Neither flag: both directions (each remote that is configured).
    do_push = push or not pull
    do_pull = pull or not push
    with open_store(settings) as whole:
        whole.check_integrity()  # a damaged file is neither pushed from nor pulled into
        store = whole
        if account is not None:
            from sync.accountsettings import for_account

            settings, store = for_account(settings, whole, account)
        if dry_run:
            # Sends nothing, so it loads no HTTP stack: what SyncEngine.preview does.
            from sync.clock import SystemClock
            from sync.preview import preview_run
            from sync.steps import run_steps

            steps = run_steps(settings, do_push, do_pull)
            _dry_run(preview_run(settings, store, steps, SystemClock().wall().date()), as_json)
            return
        from sync.engine import SyncEngine
        from sync.rotation import engine_for

        with (
            _progress(as_json) as listener,
            (
                SyncEngine(settings, store, listener=listener)
                if account is not None
                else engine_for(settings, store, listener=listener)
            ) as engine,
        ):
            # Changes recorded while this run works are new work, not work it left undone.
            mark = store.journal.mark()
            # Asked for by hand: changes waiting for a retry are tried now as well, and a
            # person waits at most the manual budget for an answer (what is left stays queued).
            report = engine.run(
                push=do_push,
                pull=do_pull,
                retry_waiting=True,
                budget=settings.manual_budget,
                connect_tries=settings.manual_connect_tries,
            )
        doc = report.to_dict()
        doc["journal"] = store.journal.counts().to_dict()
        code = _exit_code(report, store, mark)
    if as_json:
        output.emit_json(doc)
    else:
        urls = {
            "TRACKER_MILEAGE_URL": settings.mileage.url,
            "TRACKER_COSTS_URL": settings.costs.url,
        }
        _summary(doc, report, urls)
    if code:
        raise typer.Exit(int(code))


def _exit_code(report: SyncReport, store: Tracker, mark: int) -> ExitCode:
    """The highest of: each failed step's code, records needing the user (65), work left
    for later (75): what the push retried, held or stopped before, or changes that were
    already queued at ``mark`` (the run's start) and are still queued. A change recorded
    during the run (a trip added meanwhile) is the next run's work, not a failure."""
    codes = [exit_code_for(error) for error in report.failures.values()]
    if report.stopped:
        codes.append(ExitCode.TEMPFAIL)  # a step was not reached: its work waits
    if store.conflicts.count():
        codes.append(ExitCode.DATAERR)  # held until resolved: `tracker conflicts`
    if report.mileage is not None and report.mileage.unreadable:
        codes.append(ExitCode.DATAERR)
    if report.push is not None:
        counts = store.journal.counts()
        if counts.parked or report.push.parked:
            codes.append(ExitCode.DATAERR)
        elif (
            report.push.stopped
            or report.push.retried
            or report.push.updates_held
            or store.journal.unfinished_through(mark, every_account=bool(report.accounts))
        ):
            codes.append(ExitCode.TEMPFAIL)
    if report.costs is not None:
        if report.costs.quarantined:
            codes.append(ExitCode.DATAERR)
        elif report.costs.stopped or not report.costs.complete:
            codes.append(ExitCode.TEMPFAIL)
    return max(codes, default=ExitCode.OK)


@contextmanager
def _progress(quiet: bool) -> Iterator[Listener]:
    """A Rich progress bar on a terminal (stderr), plain lines otherwise."""
    from sync.cli.summary import STEP_NAMES
    from sync.events import Progress, StepStarted

    if quiet:
        yield lambda _event: None
        return
    if output.interactive(False):
        with output.progress_bar() as bar, output.logs_above(bar):
            tasks: dict[str, Any] = {}

            def tick(event: SyncEvent) -> None:
                if isinstance(event, StepStarted):
                    label = STEP_NAMES.get(event.step, event.step)
                    tasks[event.step] = bar.add_task(label, total=event.total)
                elif isinstance(event, Progress) and event.step in tasks:
                    label = STEP_NAMES.get(event.step, event.step)
                    bar.update(
                        tasks[event.step],
                        completed=event.done,
                        total=event.total,
                        description=f"{label}: {event.done} {event.unit}",
                    )

            yield tick
        return
    yield lambda _event: None


def _summary(doc: dict[str, Any], report: SyncReport, urls: dict[str, str]) -> None:
    from sync.cli.summary import offline_lines, summary_lines
    from sync.http.failures import Unreachable

    for text in summary_lines(doc):
        output.line(text)
    push = doc.get("push")
    pull = doc.get("costs")
    journal = doc["journal"]
    if push and push["parked"]:
        output.table(
            "parked by the server",
            ["trip", "type", "param", "message"],
            (
                (p["trip_id"][:8], p["error_type"], p["param"] or "", p["message"])
                for p in push["parked"]
            ),
        )
    offline = offline_lines(doc, urls)
    for text in offline:  # the cause, the address, the setting, what happens next
        output.error_line(text)
    if push and push.get("stopped"):
        output.error_line(f"stopped early: {push['stopped']}")
    if push and push["retried"] and push.get("retry_reason") and not offline:
        output.error_line(f"{push['retried']} change(s) kept for later: {push['retry_reason']}")
    if report.stopped:
        output.error_line(f"stopped early: {report.stopped}; the rest stays queued")
    if pull and pull.get("warning"):
        output.error_line(f"warning: {pull['warning']}")
    if journal["conflicts"]:
        output.error_line(
            f"{journal['conflicts']} trip(s) changed here and on Tight differently: "
            "`tracker conflicts list`, then `tracker conflicts resolve TRIP --take local|remote`"
        )
    for error in report.failures.values():
        if not isinstance(error, Unreachable):  # said once above, with what to do
            output.error_line(f"error: {error}")  # the summary says which step it stopped


def _dry_run(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.emit_json(plan)
        return
    for request in plan["requests"]:
        # As it would go on the wire: the request line, its headers (token redacted), the
        # body; then a blank line.
        output.line(f"{request['method']} {request['url']}  ({request['note']})")
        for name, value in (request.get("headers") or {}).items():
            output.line(f"{name}: {value}")
        if request.get("body") is not None:
            output.line(_body_text(request["body"]))
        output.line("")
    push = plan.get("push")
    hidden = plan.get("not_shown", 0)
    if push and hidden:
        output.line(
            f"... and {hidden} more request(s) not shown; in all the push sends "
            f"{push['saves']} save POST(s), {push['deletes_sent']} DELETE(s) and "
            f"{push['reconciles']} reconcile query(ies) for {push['creates']} create(s), "
            f"{push['updates']} update(s) and {push['deletes']} delete(s) "
            f"in {push['batches']} batch(es)"
        )
    total = len(plan["requests"]) + hidden
    due = f" for {push['entries']} change(s) due" if push else ""
    output.line(f"{total} request(s) would be sent{due}; nothing was changed")
    if any(request.get("pull") for request in plan["requests"]):
        output.line(
            "a dry run sends no request: a pull's later pages depend on the server's answers, "
            "so only its first request is shown"
        )


def _body_text(body: Any) -> str:
    """A request body as JSON a person can read: an object's lists one element per line,
    each element compact. (``indent=`` would run json's pure-Python encoder: ~10 ms for the
    3 batches of 100 trips a dry run shows.)"""

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    if not isinstance(body, dict) or not body:
        return compact(body)
    members = []
    for key, value in body.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {compact(item)}" for item in value)
            members.append(f"  {compact(key)}: [\n{items}\n  ]")
        else:
            members.append(f"  {compact(key)}: {compact(value)}")
    return "{\n" + ",\n".join(members) + "\n}"


class LogFormat(StrEnum):
    """How the daemon writes its log lines."""

    LOGFMT = "logfmt"
    JSON = "json"


def daemon(
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", metavar="FILE", help="Append logs to this file (mode 0600)."),
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format", help="logfmt key=value pairs or JSON lines (TRACKER_LOG_FORMAT)."
        ),
    ] = None,
) -> None:
    """Run the sync service in the foreground until SIGTERM/SIGINT (exit 0)."""
    from sync.daemon import run_daemon
    from sync.rotation import engine_for

    settings = load_settings()
    if log_format is not None:
        settings = settings.model_copy(update={"log_format": log_format.value})
    with open_store(settings) as store, engine_for(settings, store) as engine:
        store.check_integrity()
        code = run_daemon(engine, log_file=log_file)
    raise typer.Exit(code)


@app.command("explain")
def explain(
    trip_id: Annotated[str, typer.Argument(metavar="TRIP", help="Trip id (or a unique prefix).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """A trip's journal and attempt history, in words."""
    from sync.cli.explain import explain_trip

    with open_store(load_settings()) as store:
        story = explain_trip(store, trip_id)
    if as_json:
        output.emit_json(story)
        return
    for sentence in story["sentences"]:
        output.line(sentence)

"""The root Typer app: sub-commands are named here, implemented in their own modules.

A command's module is imported, and its Typer app turned into a click command, only when that
command runs (or when help lists them all): ``tracker trip list`` builds the ``trip`` group and
nothing else. Building every group took 40 ms of each run (issue 15, start-up).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup


class _Entry(NamedTuple):
    module: str  # in sync.cli
    attribute: str  # a Typer app (a group) or a function (one command)
    help: str


# Root commands in help order: name -> where it lives and its one-line help.
COMMANDS: dict[str, _Entry] = {
    "trip": _Entry("trips", "app", "Record, list, edit and delete trips."),
    "car": _Entry("cars", "app", "Cars trips can be attached to."),
    "account": _Entry("accounts", "app", "Fleet mode: the Tight users this store syncs for."),
    "status": _Entry("status", "status", "Journal counts, oldest pending change, database facts."),
    "costs": _Entry("costs", "app", "Costs pulled from the mobility platform."),
    "report": _Entry(
        "report", "report", "The mileage log of a tax year (CSV, JSON or PDF), with its totals."
    ),
    "parked": _Entry("parked", "app", "Changes the server rejected: list, retry, drop."),
    "conflicts": _Entry(
        "conflicts", "app", "Trips changed here and on Tight differently: list, show, resolve."
    ),
    "sync": _Entry("run", "app", "Push local changes and pull costs now."),
    "gc": _Entry("gc", "gc", "Compact the change journal (--dry-run, --vacuum)."),
    "verify": _Entry(
        "verify", "verify", "Check each trip against its tamper-evident history; chain head."
    ),
    "daemon": _Entry("run", "daemon", "Run background sync in the foreground until SIGTERM."),
    "sandbox": _Entry("sandbox", "app", "Run the bundled sandbox server (both remote APIs)."),
    "demo": _Entry(
        "demo", "demo", "End-to-end demo on the bundled sandbox; no credentials needed."
    ),
}


def _build(name: str, entry: _Entry) -> Any:
    """The click command of one root command, built from its module."""
    target = getattr(importlib.import_module(f"sync.cli.{entry.module}"), entry.attribute)
    if not isinstance(target, typer.Typer):
        # A plain function: one command, made the way Typer makes a registered one.
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(name, help=entry.help)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    command.help = command.help or entry.help
    command.short_help = entry.help
    return command


class _LazyCommands(MutableMapping[str, Any]):
    """The root group's command table: names known up front, each built on first access."""

    def __init__(self, built: dict[str, Any]) -> None:
        self._built = built  # commands registered eagerly (none today) and those built so far

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _build(name, COMMANDS[name])
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._built if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(1 for name in self._built if name not in COMMANDS)


class _LazyRoot(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands(dict(self.commands))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"trip-tracker {version('trip-tracker')}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The command tree (no database or network is touched, no command module imported)."""
    app = typer.Typer(
        name="tracker",
        cls=_LazyRoot,
        help="Offline-first trip and mileage tracker. Records locally; syncs when it can.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="Log lines (INFO and up, logfmt) on stderr."
        ),
    ) -> None:
        """Offline-first trip and mileage tracker."""
        if verbose:
            import os

            from sync import logs

            logs.configure("INFO", log_format=os.environ.get("TRACKER_LOG_FORMAT", "logfmt"))

    return app

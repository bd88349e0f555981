"""The root Typer app: sub-commands are registered here, implemented in their own modules."""

from __future__ import annotations

import typer


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"trip-tracker {version('trip-tracker')}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """Assemble the command tree (no database or network is touched here)."""
    from sync.cli import cars, conflicts, costs, demo, parked, run, sandbox, status, trips

    app = typer.Typer(
        name="tracker",
        help="Offline-first trip and mileage tracker. Records locally; syncs when it can.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ) -> None:
        """Offline-first trip and mileage tracker."""

    app.add_typer(trips.app, name="trip", help="Record, list, edit and delete trips.")
    app.add_typer(cars.app, name="car", help="Cars trips can be attached to.")
    app.command("status", help="Journal counts, oldest pending change, database facts.")(
        status.status
    )
    app.add_typer(costs.app, name="costs", help="Costs pulled from the mobility platform.")
    app.add_typer(parked.app, name="parked", help="Changes the server rejected: list, retry, drop.")
    app.add_typer(
        conflicts.app,
        name="conflicts",
        help="Trips changed here and on Tight differently: list, show, resolve.",
    )
    app.add_typer(run.app, name="sync", help="Push local changes and pull costs now.")
    app.command("daemon", help="Run background sync in the foreground until SIGTERM.")(run.daemon)
    app.add_typer(
        sandbox.app, name="sandbox", help="Run the bundled sandbox server (both remote APIs)."
    )
    app.command("demo", help="End-to-end demo on the bundled sandbox; no credentials needed.")(
        demo.demo
    )
    return app

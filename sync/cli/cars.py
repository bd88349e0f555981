"""``tracker car ...``: the cars trips can be attached to."""

from __future__ import annotations

from typing import Annotated

import typer

from sync.cli import output
from sync.cli.context import load_settings, open_store
from tracker.enums import DistanceUnit

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A name you will recognise.")],
    make: Annotated[str | None, typer.Option(help="Maker.")] = None,
    model: Annotated[str | None, typer.Option(help="Model.")] = None,
    year: Annotated[int | None, typer.Option(help="Model year.")] = None,
    odometer: Annotated[str | None, typer.Option(help="Odometer reading (decimal).")] = None,
    unit: Annotated[
        DistanceUnit | None, typer.Option("--unit", help="Unit of the odometer reading.")
    ] = None,
    remote_id: Annotated[str | None, typer.Option(help="Tight car id (car_...).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a car."""
    data = {
        "name": name,
        "make": make,
        "model": model,
        "year": year,
        "odometer": odometer,
        "odometer_unit": unit and unit.value,
        "remote_id": remote_id,
    }
    with open_store(load_settings()) as store:
        car = store.cars.add({k: v for k, v in data.items() if v is not None})
    if as_json:
        output.emit_json(car.to_json())
    else:
        output.line(f"added car {output.safe(car.id)} {output.safe(car.name)}")


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List cars."""
    with open_store(load_settings()) as store:
        cars = store.cars.list()
    if as_json:
        output.emit_json([c.to_json() for c in cars])
        return
    output.table(
        f"{len(cars)} car{'s' if len(cars) != 1 else ''}",
        ["id", "name", "make", "model", "year", "odometer"],
        (
            (
                c.id,
                c.name,
                c.make or "",
                c.model or "",
                c.year or "",
                f"{c.odometer} {c.odometer_unit or ''}" if c.odometer is not None else "",
            )
            for c in cars
        ),
    )

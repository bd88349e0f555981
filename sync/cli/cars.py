"""``tracker car ...``: the cars trips can be attached to."""

from __future__ import annotations

from typing import Annotated

import typer

from sync.cli import complete, output
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


@app.command("odometer")
def odometer(
    car: Annotated[
        str,
        typer.Argument(
            metavar="CAR", help="Car id (or a unique prefix).", autocompletion=complete.car_ids
        ),
    ],
    date: Annotated[
        str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="Day of the reading.")
    ] = None,
    reading: Annotated[
        str | None, typer.Option("--reading", metavar="N", help="The odometer reading.")
    ] = None,
    unit: Annotated[
        DistanceUnit | None,
        typer.Option("--unit", help="Unit of the reading (default: the car's, else km)."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="YYYY-MM-DD", help="With --to: check the trips of this period."
        ),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", metavar="YYYY-MM-DD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an odometer reading (--date and --reading), or list the car's readings."""
    from tracker.errors import InvalidInputError

    if (date is None) != (reading is None):
        missing = "--reading" if reading is None else "--date"
        raise InvalidInputError(missing.lstrip("-"), f"give {missing} too, or neither to list")
    if (start is None) != (end is None):
        raise InvalidInputError("period", "give both --from and --to")
    with open_store(load_settings()) as store:
        if date is not None and reading is not None:
            saved = store.cars.record_odometer(car, date, reading, unit and unit.value)
            if as_json:
                output.emit_json(saved.to_json())
            else:
                output.line(f"car {saved.car_id[:8]}: {saved.reading} {saved.unit} on {saved.date}")
            return
        readings = store.cars.odometer_readings(car)
        period = (
            None if start is None or end is None else store.cars.odometer_period(car, start, end)
        )
    if as_json:
        doc: dict[str, object] = {"readings": [r.to_json() for r in readings]}
        if period is not None:
            doc["period"] = period.to_json()
        output.emit_json(doc)
        return
    output.table(
        f"{len(readings)} odometer reading{'s' if len(readings) != 1 else ''}",
        ["date", "reading"],
        ((r.date.isoformat(), f"{r.reading} {r.unit}") for r in readings),
    )
    if period is not None:
        if period.driven is None:
            output.line(f"no two readings bound {start}..{end}: add one at each end")
        else:
            assert period.start is not None
            assert period.end is not None
            output.line(
                f"{period.start.date}..{period.end.date}: odometer {period.driven} "
                f"{period.unit}, trips {period.trips} {period.unit}"
            )
        if period.warning is not None:
            output.line(f"warning: {period.warning}")

"""``tracker trip ...``: record, list, show, edit and delete trips."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.cli import complete, output, trip_export, trip_import
from sync.cli.context import load_store_settings, open_store
from tracker.enums import Classification as Kind
from tracker.enums import DistanceUnit, SyncState
from tracker.errors import InvalidInputError
from tracker.triplist import DEFAULT_PAGE, MAX_PAGE

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from tracker.provenance import Provenance
    from tracker.store import Tracker
    from tracker.views import TripView

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)
app.command("import")(trip_import.import_)
app.command("export")(trip_export.export)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the id (one per line): for scripts.")
]
TripId = Annotated[
    str,
    typer.Argument(
        metavar="TRIP",
        help="Trip id (or a unique prefix of 4+ characters).",
        autocompletion=complete.trip_ids,
    ),
]
# Choices are Enums: the parser refuses other values (exit 2) and help lists them.
Classification = Annotated[
    Kind | None, typer.Option("--classification", "-c", help="What the trip was for.")
]
Description = Annotated[
    str | None, typer.Option("--description", "-d", metavar="TEXT", help="What it was for.")
]
Notes = Annotated[str | None, typer.Option("--notes", metavar="TEXT", help="Free notes.")]
Car = Annotated[
    str | None,
    typer.Option(
        "--car",
        metavar="CAR",
        help="Car id or a unique prefix (`tracker car list`).",
        autocompletion=complete.car_ids,
    ),
]
Customer = Annotated[
    str | None, typer.Option("--customer", metavar="ID", help="Tight customer id (cus_...).")
]
Segment = Annotated[
    list[str] | None,
    typer.Option("--segment", metavar="ID", help="Class segment id; repeat for several."),
]


def _when(text: str | None, field: str, zone: ZoneInfo) -> datetime | None:
    """ISO-8601 time; a time without offset is read in the configured zone."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(field, f"{text!r} is not an ISO-8601 time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _details(
    classification: Kind | None,
    description: str | None,
    notes: str | None,
    car: str | None,
    customer: str | None,
    segment: list[str] | None,
) -> dict[str, Any]:
    given = {
        "classification": None if classification is None else classification.value,
        "description": description,
        "notes": notes,
        "car_id": car,
        "customer_id": customer,
        "class_segment_ids": segment or None,
    }
    return {k: v for k, v in given.items() if v is not None}


def print_trip(view: TripView, as_json: bool, verb: str = "", quiet: bool = False) -> None:
    """One trip: its JSON document, its id alone (``quiet``), or one line (``verb`` first)."""
    if as_json:
        output.emit_json(view.to_json())
        return
    if quiet:
        output.line(view.id)
        return
    prefix = f"{verb} " if verb else ""
    output.line(
        f"{prefix}trip {output.safe(view.id)}  {view.date}  {view.distance} {view.unit}  "
        f"{view.classification}  [{view.sync_state}]"
    )


def _store() -> tuple[Tracker, Any]:
    settings = load_store_settings()
    return open_store(settings), settings


@app.command("start")
def start(
    at: Annotated[
        str | None, typer.Option("--at", metavar="TIME", help="Start time (ISO-8601); now.")
    ] = None,
    lat: Annotated[
        float | None, typer.Option("--lat", metavar="DEGREES", help="Start latitude.")
    ] = None,
    lng: Annotated[
        float | None, typer.Option("--lng", metavar="DEGREES", help="Start longitude.")
    ] = None,
    classification: Classification = None,
    description: Description = None,
    notes: Notes = None,
    car: Car = None,
    customer: Customer = None,
    segment: Segment = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Start recording a live trip; prints it (its id alone with -q: ID=$(tracker trip start
    -q))."""
    store, _ = _store()
    with store:
        data = _details(classification, description, notes, car, customer, segment)
        data["start_time"] = _when(at, "at", store.rules.timezone)
        if lat is not None or lng is not None:
            data["start"] = {"lat": lat, "lng": lng}
        print_trip(store.trips.start(data), as_json, "started", quiet)


@app.command("point")
def point(
    trip_id: TripId,
    lat: Annotated[float | None, typer.Argument(metavar="LAT", help="Latitude.")] = None,
    lng: Annotated[float | None, typer.Argument(metavar="LNG", help="Longitude.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", metavar="TIME", help="Fix time (ISO-8601); now.")
    ] = None,
    accuracy: Annotated[
        float | None, typer.Option(metavar="METRES", help="Accuracy radius, m.")
    ] = None,
    speed: Annotated[float | None, typer.Option(metavar="M/S", help="Speed, m/s.")] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Append many fixes: CSV with time,lat,lng[,accuracy,speed].",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Append GPS fixes to a recording trip (one from arguments, or many from --csv)."""
    if csv_file is None and (lat is None or lng is None):
        raise typer.BadParameter("give LAT and LNG, or --csv FILE")
    store, _ = _store()
    with store:
        if csv_file is not None:
            points = _read_csv(csv_file, store.rules.timezone)
            count = store.trips.add_points(trip_id, points)
        else:
            when = _when(at, "at", store.rules.timezone) or store.now()
            store.trips.add_point(
                trip_id,
                {"time": when, "lat": lat, "lng": lng, "accuracy": accuracy, "speed": speed},
            )
            count = 1
        if as_json:
            output.emit_json({"trip_id": trip_id, "added": count})
        else:
            output.line(f"added {count} fix{'es' if count != 1 else ''}")


def _read_csv(path: Path, zone: ZoneInfo) -> list[tuple[Any, ...]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise InvalidInputError("csv", f"cannot read {path}: {err.strerror}") from None
    rows: list[tuple[Any, ...]] = []
    with handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                rows.append(
                    (
                        _when(row["time"], f"csv line {number}: time", zone),
                        float(row["lat"]),
                        float(row["lng"]),
                        float(row["accuracy"]) if row.get("accuracy") else None,
                        float(row["speed"]) if row.get("speed") else None,
                    )
                )
            except (KeyError, TypeError, ValueError) as err:
                raise InvalidInputError(f"csv line {number}", f"unreadable row ({err})") from None
    return rows


@app.command("stop")
def stop(
    trip_id: TripId,
    at: Annotated[
        str | None, typer.Option("--at", metavar="TIME", help="End time (ISO-8601); now.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop a recording: computes distance and duration, queues the trip for sync."""
    from tracker.errors import InvalidInputError

    store, _ = _store()
    with store:
        try:
            view = store.trips.stop(trip_id, end_time=_when(at, "at", store.rules.timezone))
        except InvalidInputError as err:
            if err.field != "end_time":
                raise
            raise InvalidInputError("--at", err.reason) from None  # the flag of this command
        print_trip(view, as_json, "stopped")


@app.command("add")
def add(
    distance: Annotated[
        str, typer.Option("--distance", metavar="NUMBER", help="Distance (exact decimal).")
    ],
    date: Annotated[str | None, typer.Option("--date", metavar="DATE", help="YYYY-MM-DD.")] = None,
    unit: Annotated[DistanceUnit, typer.Option("--unit", help="Unit of --distance.")] = (
        DistanceUnit.KM
    ),
    start_time: Annotated[
        str | None, typer.Option("--start-time", metavar="TIME", help="ISO-8601.")
    ] = None,
    end_time: Annotated[
        str | None, typer.Option("--end-time", metavar="TIME", help="ISO-8601.")
    ] = None,
    classification: Classification = None,
    description: Description = None,
    notes: Notes = None,
    car: Car = None,
    customer: Customer = None,
    segment: Segment = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Fleet mode: whose trip it is.")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Record a finished trip by hand (a date and a distance at least)."""
    store, _ = _store()
    with store:
        data = _details(classification, description, notes, car, customer, segment)
        data.update(
            distance=distance,
            unit=unit.value,
            date=date,
            start_time=_when(start_time, "start_time", store.rules.timezone),
            end_time=_when(end_time, "end_time", store.rules.timezone),
        )
        added = store.trips.add({k: v for k, v in data.items() if v is not None}, account=account)
        print_trip(added, as_json, "added", quiet)


@app.command("list")
def list_(
    every: Annotated[
        bool,
        typer.Option(
            "--all", help="Every trip, deleted ones (tombstones) too, page after page (no limit)."
        ),
    ] = False,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="Include deleted trips (tombstones).")
    ] = False,
    state: Annotated[
        SyncState | None, typer.Option("--state", help="Only trips in this sync state.")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", metavar="N", min=1, max=MAX_PAGE, help="Trips per page (default 50)."
        ),
    ] = DEFAULT_PAGE,
    after: Annotated[
        str | None,
        typer.Option(
            "--after",
            metavar="CURSOR",
            help="Start after this cursor (the `next` of a --json page).",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", metavar="NAME", help="Fleet mode: only this account's trips."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List trips, newest first, one page (--limit, default 50) or --all."""
    store, _ = _store()
    with store:
        # The account column only where it tells trips apart: a store with accounts, not
        # one account's list (its name is in the title) nor a single user's store.
        column = account is None and store.accounts.any()
        if every:
            # "All" is everything: every page, and the tombstones of deleted trips too.
            _list_all(store, limit, after, True, state, as_json, account, column)
            return
        page = store.trips.page(
            limit=limit, after=after, include_deleted=deleted, sync_state=state, account=account
        )
    if as_json:
        output.emit_json(page.to_json())
        return
    if not page.trips:  # a sentence, not a title over an empty table
        output.line(("no trips" if after is None else "no more trips") + _of(account))
        return
    count = len(page.trips)
    _trip_table(page.trips, f"{count} trip{'s' if count != 1 else ''}{_of(account)}", column)
    if page.more:
        more = f"{page.more}{'' if page.more_exact else '+'}"
        output.line(f"{more} more: use --all or --limit (next page: --after {page.next})")


def _list_all(
    store: Tracker,
    size: int,
    after: str | None,
    deleted: bool,
    state: SyncState | None,
    as_json: bool,
    account: str | None,
    column: bool,
) -> None:
    """Every page, printed as it is read: memory stays one page whatever the store's size."""

    def pages() -> Iterator[list[TripView]]:
        cursor = after
        while True:
            page = store.trips.page(
                limit=max(size, _ALL_PAGE),
                after=cursor,
                include_deleted=deleted,
                sync_state=state,
                account=account,
            )
            yield page.trips
            if page.next is None:
                return
            cursor = page.next

    if as_json:
        items = (view.to_json() for trips in pages() for view in trips)
        output.emit_json_list("trips", items, {"more": 0, "more_exact": True, "next": None})
        return
    total = 0
    for trips in pages():
        if trips or not total:
            _trip_table(trips, "" if total else f"trips{_of(account)}", column)
        total += len(trips)
    output.line(f"{total} trip{'s' if total != 1 else ''}{_of(account)}")


_ALL_PAGE = 1000  # --all reads this many per query


def _of(account: str | None) -> str:
    """The words naming a list's account in its title ('' for a list of every account's)."""
    return "" if account is None else f" of account {output.safe(account)}"


def _trip_table(views: list[TripView], title: str, account_column: bool = False) -> None:
    head = ["id", "date", "distance", "class", "sync"]
    if account_column:
        head.append("account")
    output.table(
        title,
        [*head, "description"],
        (
            (
                v.id[:8],
                v.date,
                f"{v.distance} {v.unit}",
                v.classification,
                _sync_column(v),
                *((v.account,) if account_column else ()),
                v.description or "",
            )
            for v in views
        ),
    )


def _sync_column(view: TripView) -> str:
    """The sync state, and for a tombstone who deleted it (a server delete is never undone)."""
    if view.deleted_by == "server":
        return f"{view.sync_state}, deleted on Tight"
    if view.lifecycle == "deleted":
        return f"{view.sync_state}, deleted"
    return str(view.sync_state)


@app.command("show")
def show(trip_id: TripId, as_json: JsonOpt = False) -> None:
    """Show one trip: its fields, how and when it was recorded and changed, its history."""
    from tracker.accounts import IMPLICIT_ACCOUNT

    store, _ = _store()
    with store:
        view = store.trips.get(trip_id)
        zone = store.rules.timezone
        entries, events = store.journal.history(view.id)
        count = store.trips.waypoint_count(view.id)
        record = store.trips.provenance(view.id)
    if as_json:
        doc = view.to_json()
        doc["waypoint_count"] = count
        doc["provenance"] = record.to_json()
        doc["journal"] = [e.to_json() for e in entries]
        doc["history"] = [e.to_json() for e in events]
        output.emit_json(doc)
        return
    rows = [
        ("id", view.id),
        ("remote id", view.remote_id or "-"),
        ("sync state", view.sync_state),
        ("status", f"{view.status} / {view.lifecycle}"),
        ("date", view.date),
        ("start", output.local_time(view.start_time, zone)),
        ("end", output.local_time(view.end_time, zone)),
        ("distance", f"{view.distance} {view.unit}"),
        ("duration", output.duration(view.duration_ms)),
        ("classification", view.classification),
        ("description", view.description or ""),
        ("notes", view.notes or ""),
        ("car", view.car_id or "-"),
        ("customer", view.customer_id or "-"),
        ("waypoints", count),
    ]
    if view.account != IMPLICIT_ACCOUNT:  # a trip of an account (fleet mode) says whose
        rows.insert(1, ("account", view.account))
    output.table("trip", ["field", "value"], rows)
    _print_record(record, zone)
    output.table(
        "history",
        ["entry", "at", "event", "detail"],
        (
            (e.entry_seq or "-", output.local_time(e.at, zone), e.event, e.detail or "")
            for e in events
        ),
    )


def _print_record(record: Provenance, zone: ZoneInfo) -> None:
    """How and when the trip was recorded, and each later change (a log row's record)."""
    after = record.recorded_after
    if after is None:
        lag = "-"
    elif after.days:
        lag = f"{after.days} d {after.seconds // 3600} h"
    else:
        lag = output.duration(after // timedelta(milliseconds=1))
    rows: list[tuple[str, str]] = [
        ("recorded by", record.how),
        ("first recorded", output.local_time(record.recorded_at, zone)),
        ("after the trip", lag),
        ("changed since", f"{len(record.changes)} time(s)" if record.changes else "no"),
    ]
    for change in record.changes:
        what = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in change.fields.items())
        rows.append((f"  {change.event}", f"{output.local_time(change.at, zone)}  {what}"))
    rows.append(("chain head", record.chain_head or "-"))
    output.table("record", ["what", "value"], rows)


@app.command("edit")
def edit(
    trip_id: TripId,
    classification: Classification = None,
    description: Description = None,
    notes: Notes = None,
    car: Car = None,
    customer: Customer = None,
    segment: Segment = None,
    date: Annotated[str | None, typer.Option("--date", metavar="DATE", help="YYYY-MM-DD.")] = None,
    distance: Annotated[
        str | None, typer.Option("--distance", metavar="NUMBER", help="Exact decimal.")
    ] = None,
    unit: Annotated[DistanceUnit | None, typer.Option("--unit", help="Unit of --distance.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a trip (reclassify, describe, attach car or customer). Re-queues it for sync."""
    changes = _details(classification, description, notes, car, customer, segment)
    changes.update(
        {
            k: v
            for k, v in {"date": date, "distance": distance, "unit": unit and unit.value}.items()
            if v
        }
    )
    store, _ = _store()
    with store:
        print_trip(store.trips.edit(trip_id, changes), as_json, "edited")


@app.command("delete")
def delete(trip_id: TripId, as_json: JsonOpt = False) -> None:
    """Delete a trip (kept as a tombstone until the server knows)."""
    store, _ = _store()
    with store:
        print_trip(store.trips.delete(trip_id), as_json, "deleted")

"""The log's "edited" columns against the trip history (issue 14): for trips changed every way
the tool changes one (an edit here, a change pulled from the sandbox over loopback HTTP, a
conflict resolved either way, an edit that changed nothing, a trip made on the server), each
report row says what ``store.trips.provenance`` says: how it was recorded, whether and when
a field changed, and which (first old, latest new). Real SQLite file, real HTTP."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.engine import SyncEngine
from sync.sandbox import Sandbox, SandboxServer
from sync.settings import Settings
from tests.helpers.rates import schedule_toml
from tests.helpers.remote import fast_mileage
from tracker.report import render
from tracker.store import Tracker

DAY = "2026-11-20"  # inside the default pull window


def _rates(tmp_path: Path) -> Path:
    path = tmp_path / "rates.toml"
    text = schedule_toml("acme", "per-trip", "USD", "mile", '[{ rate = "0.50" }]')
    path.write_text(text.replace("2025-", "2026-"))
    return path


@pytest.fixture
def engine(home: Path, store: Tracker, server: SandboxServer) -> Iterator[SyncEngine]:
    built = SyncEngine(Settings(home=home, mileage=fast_mileage(server.tight_url)), store)
    yield built
    built.close()


def _sync(engine: SyncEngine) -> None:
    engine.run(push=True, pull=True, retry_waiting=True).raise_for_failure()


def _synced(store: Tracker, engine: SyncEngine, **fields: str) -> tuple[str, str]:
    trip = store.trips.add({"date": DAY, "distance": "12.5", **fields})
    _sync(engine)
    remote_id = store.trips.get(trip.id).remote_id
    assert remote_id is not None
    return trip.id, remote_id


def _conflict(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox, take: str, description: str
) -> str:
    trip_id, remote_id = _synced(store, engine, description="base", classification="business")
    sandbox.edit_record(remote_id, {"description": f"theirs {description}"})
    store.trips.edit(trip_id, {"description": f"mine {description}"})
    engine.run(push=True, pull=True)
    store.conflicts.resolve(trip_id, take)  # type: ignore[arg-type]
    _sync(engine)
    return trip_id


def test_each_row_says_whether_when_and_what_was_edited_as_the_history_does(
    store: Tracker, engine: SyncEngine, sandbox: Sandbox, tmp_path: Path
) -> None:
    ids: dict[str, str] = {}
    ids["untouched"] = store.trips.add(
        {"date": DAY, "distance": "3", "classification": "business"}
    ).id
    edited = store.trips.add({"date": DAY, "distance": "12.5", "classification": "personal"}).id
    store.trips.edit(edited, {"distance": "13"})
    store.trips.edit(edited, {"distance": "14", "classification": "business", "notes": "fixed"})
    ids["edited twice"] = edited
    same = store.trips.add({"date": DAY, "distance": "4", "classification": "business"}).id
    store.trips.edit(same, {"classification": "business"})  # no field changes
    ids["edit changing nothing"] = same
    pulled, remote_id = _synced(store, engine, description="before")
    sandbox.edit_record(remote_id, {"description": "after", "mileageStatus": "BUSINESS"})
    _sync(engine)
    ids["changed on the server"] = pulled
    ids["conflict, theirs"] = _conflict(store, engine, sandbox, "remote", "a")
    ids["conflict, mine"] = _conflict(store, engine, sandbox, "local", "b")
    sandbox.add_record(
        {"date": DAY, "distance": {"type": "MILE", "value": "7"}, "mileageStatus": "BUSINESS"}
    )
    _sync(engine)
    (made,) = {t.id for t in store.trips.list()} - set(ids.values())
    ids["made on the server"] = made

    data = store.report(jurisdiction="acme", year=2026, rate_file=_rates(tmp_path)).collect()
    rows = {row.trip_id: row for row in [*data.rows, *data.to_classify]}
    assert set(rows) == set(ids.values())
    for name, trip_id in ids.items():
        row, record = rows[trip_id], store.trips.provenance(trip_id)
        said = (
            row.recorded_how,
            row.edited,
            row.last_edited,
            {f: (o, n) for f, o, n in row.changed},
        )
        assert said == (record.how, record.edited, record.last_changed_at, record.changed_fields), (
            name
        )

    # And the figures themselves, so the two cannot agree on nothing.
    assert not rows[ids["untouched"]].edited and not rows[ids["edit changing nothing"]].edited
    assert rows[ids["edited twice"]].changed == (
        ("distance", "12.5", "14"),
        ("classification", "personal", "business"),
        ("notes", None, "fixed"),
    )
    assert dict((f, (o, n)) for f, o, n in rows[ids["changed on the server"]].changed) == {
        "description": ("before", "after"),
        "classification": ("unclassified", "business"),
    }
    assert rows[ids["conflict, theirs"]].changed == (("description", "base", "theirs a"),)
    assert rows[ids["conflict, mine"]].changed == (("description", "base", "mine b"),)
    assert rows[ids["made on the server"]].recorded_how == "pulled from the server"
    assert not rows[ids["made on the server"]].edited

    out = io.BytesIO()
    render(store.report(jurisdiction="acme", year=2026, rate_file=_rates(tmp_path)), "csv", out)
    table = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    head = table[0]
    by_id = {line[head.index("trip id")]: line for line in table[1:] if len(line) == len(head)}
    line = by_id[ids["edited twice"]]
    assert line[head.index("edited")] == "yes"
    assert line[head.index("last edited")] == rows[edited].last_edited.isoformat(timespec="seconds")
    # Old and new distance and classification (what a tax office checks); notes named only.
    assert line[head.index("changes")] == (
        "distance 12.5 -> 14; classification personal -> business; notes"
    )
    untouched = by_id[ids["untouched"]]
    assert (untouched[head.index("edited")], untouched[head.index("changes")]) == ("no", "")

    # JSON: every value in full.
    out = io.BytesIO()
    render(store.report(jurisdiction="acme", year=2026, rate_file=_rates(tmp_path)), "json", out)
    doc = json.loads(out.getvalue())
    (edited_row,) = [r for r in doc["rows"] if r["trip_id"] == edited]
    assert (edited_row["edited"], edited_row["last_edited"]) == (
        True,
        rows[edited].last_edited.isoformat(),
    )
    assert edited_row["changed"]["notes"] == {"old": None, "new": "fixed"}
    assert edited_row["changed"]["distance"] == {"old": "12.5", "new": "14"}

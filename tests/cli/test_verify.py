"""``tracker verify`` and the record in ``tracker trip show``, through the real CLI on a real
file: exit 0 and the chain head on a clean file after every kind of edit the commands make;
exit 65 naming the trip after a plain ``sqlite3`` UPDATE of a trip row, of a history row, or
a deleted history row."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import run, run_json

GPX = Path(__file__).resolve().parents[2] / "fixtures" / "gpx" / "city_commute_berlin.gpx"


def _db(tmp_path: Path) -> Path:
    return tmp_path / "home" / "tracker.db"


def _every_kind_of_edit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    """A file made by the commands people run: add, import (CSV, GPX), edit, record live,
    delete. Returns the id of a trip added by hand and edited."""
    trip = run_json(capsys, "trip", "add", "--date", "2026-03-01", "--distance", "12.5")
    run_json(capsys, "trip", "edit", trip["id"], "--distance", "13", "--notes", "fixed")
    csv = tmp_path / "trips.csv"
    csv.write_text("date,distance,description\n2026-03-02,3,Zürich\n2026-03-03,4,b\n")
    assert run(capsys, "trip", "import", str(csv))[0] == 0
    assert run(capsys, "trip", "import", str(csv))[0] == 0  # again: nothing added
    assert run(capsys, "trip", "import", str(GPX))[0] == 0
    live = run_json(capsys, "trip", "start", "--at", "2026-03-10T08:00:00+01:00")
    for i, lat in enumerate(("52.5000", "52.5010")):
        at = f"2026-03-10T08:0{i}:00+01:00"
        assert run(capsys, "trip", "point", live["id"], lat, "13.4", "--at", at)[0] == 0
    run_json(capsys, "trip", "stop", live["id"], "--at", "2026-03-10T08:10:00+01:00")
    gone = run_json(capsys, "trip", "add", "--date", "2026-03-04", "--distance", "1")
    run_json(capsys, "trip", "delete", gone["id"])
    return str(trip["id"])


def test_a_file_the_tool_wrote_verifies_clean_with_its_chain_head(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _every_kind_of_edit(capsys, tmp_path)
    code, out, err = run(capsys, "verify")
    assert code == 0, err
    assert "ok: every trip matches its history" in out
    doc = run_json(capsys, "verify")
    assert doc["ok"] is True and doc["problems"] == 0 and doc["findings"] == []
    assert doc["trips"] >= 5 and doc["links"] > doc["trips"]
    assert f"chain head: {doc['head']}" in out
    assert len(doc["head"]) == 64


@pytest.mark.tampers
@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("UPDATE trip SET distance = '130' WHERE id = ?", "the trip row was changed"),
        (
            "UPDATE journal_event SET changes = replace(changes, '\"13\"', '\"31\"') "
            "WHERE trip_id = ? AND event = 'edited'",
            "history link",
        ),
        (
            "DELETE FROM journal_event WHERE trip_id = ? AND event = 'recorded'",
            "history link",
        ),
    ],
    ids=["trip row updated", "history row updated", "history row deleted"],
)
def test_a_change_made_with_sqlite3_is_found_exit_65_naming_the_trip(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, statement: str, says: str
) -> None:
    trip_id = _every_kind_of_edit(capsys, tmp_path)
    printed = run_json(capsys, "verify")["head"]
    with contextlib.closing(sqlite3.connect(_db(tmp_path))) as con, con:
        assert con.execute(statement, (trip_id,)).rowcount == 1

    code, out, err = run(capsys, "verify")
    assert code == 65, err
    assert f"first: trip {trip_id}: " in out and says in out
    assert "Traceback" not in out + err

    code, out, _ = run(capsys, "verify", "--json")
    assert code == 65
    doc = json.loads(out)
    assert doc["ok"] is False and doc["problems"] == 1
    assert doc["findings"][0]["trip_id"] == trip_id and says in doc["findings"][0]["reason"]
    assert doc["head"] == printed  # a row edit alone leaves the links: the head still compares


def test_trip_show_says_how_and_when_it_was_recorded_and_what_changed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trip_id = _every_kind_of_edit(capsys, tmp_path)
    doc = run_json(capsys, "trip", "show", trip_id)
    record = doc["provenance"]
    assert record["how"] == "entered by hand"
    assert record["edited"] is True
    [change] = record["changes"]
    assert change["event"] == "edited"
    assert change["fields"] == {
        "distance": {"old": "12.5", "new": "13"},
        "notes": {"old": None, "new": "fixed"},
    }
    assert record["recorded_after_s"] > 0  # entered after the day it was made
    assert len(record["chain_head"]) == 64
    assert any(e["event"] == "recorded" and e["chained"] for e in doc["history"])

    code, out, err = run(capsys, "trip", "show", trip_id)
    assert code == 0, err
    assert "entered by hand" in out
    assert "distance '12.5' -> '13'" in out
    assert record["chain_head"] in out

    trips = run_json(capsys, "trip", "list", "--all")["trips"]
    hows = {run_json(capsys, "trip", "show", t["id"])["provenance"]["how"] for t in trips}
    assert hows == {"entered by hand", "CSV import", "GPX import", "live GPS"}

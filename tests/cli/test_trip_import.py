"""``tracker trip import FILE.csv``: the policy for bad rows, re-runs without duplicates, a
round trip from ``trip list --json``, a push of what was imported, and a killed import."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sync.sandbox import Sandbox
from tests.helpers.cli import run, run_json
from tests.helpers.store import BOTH_BACKENDS
from tracker.store import Tracker

HEADER = "date,distance,unit,classification,description\n"
GOOD = "2026-03-01,12.5,km,business,client visit\n2026-03-02,3,mile,personal,shop\n"
BAD_ROWS = {
    3: ("2026-13-01,1,km,business,bad date\n", "date"),
    4: ("2026-03-04,-1,km,business,negative\n", "distance"),
    5: ("2026-03-05,1,parsec,business,unknown unit\n", "unit"),
    6: ("2026-03-06,1,km,work,unknown class\n", "classification"),
}


def _csv(tmp_path: Path, text: str, name: str = "trips.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _all(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    trips: list[dict[str, Any]] = run_json(capsys, "trip", "list", "--all")["trips"]
    return trips


@BOTH_BACKENDS
@pytest.mark.usefixtures("cli_store")
def test_a_file_with_bad_rows_imports_nothing_and_reports_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = GOOD.splitlines(keepends=True)[0]
    text = HEADER + first + "".join(row for row, _ in BAD_ROWS.values()) + GOOD.splitlines()[1]
    path = _csv(tmp_path, text + "\n")

    code, out, err = run(capsys, "trip", "import", str(path), "--json")

    assert code == 65, err
    doc = json.loads(out)
    assert doc["imported"] is False and doc["added"] == 2 and doc["invalid"] == 4
    assert [(e["row"], e["column"]) for e in doc["errors"]] == [
        (n, field) for n, (_, field) in BAD_ROWS.items()
    ]
    assert _all(capsys) == []
    code, out, _ = run(capsys, "trip", "import", str(path))
    assert code == 65
    assert "nothing imported: 4 of 6 rows are invalid" in out and "--skip-invalid" in out


@BOTH_BACKENDS
@pytest.mark.usefixtures("cli_store")
def test_skip_invalid_imports_the_good_rows_and_a_rerun_adds_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _csv(tmp_path, HEADER + GOOD + BAD_ROWS[4][0] + "2026-03-07,7,km,,\n")

    code, out, err = run(capsys, "trip", "import", str(path), "--skip-invalid", "--json")
    assert code == 65, err
    doc = json.loads(out)
    assert (doc["imported"], doc["added"], doc["invalid"]) == (True, 3, 1)
    assert err == ""  # not a terminal: no progress bar, nothing but the report

    code, out, _ = run(capsys, "trip", "import", str(path), "--skip-invalid")
    assert code == 65
    assert "imported 0 trips" in out and "3 imported before (skipped)" in out
    trips = _all(capsys)
    assert sorted(t["description"] or "" for t in trips) == ["", "client visit", "shop"]
    assert {t["sync_state"] for t in trips} == {"pending"}
    assert run_json(capsys, "status")["journal"]["pending"] == 3


@BOTH_BACKENDS
@pytest.mark.usefixtures("cli_store")
def test_dry_run_checks_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _csv(tmp_path, HEADER + GOOD)
    code, out, _ = run(capsys, "trip", "import", str(path), "--dry-run")
    assert code == 0
    assert "checked 2 rows: 2 to add, 0 invalid" in out
    assert _all(capsys) == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is empty"),
        ("date,distance,odometer\n2026-03-01,1,100\n", "unknown column 'odometer'"),
        ("date,unit\n2026-03-01,km\n", "no 'distance' column"),
    ],
)
def test_a_bad_file_exits_65_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, why: str
) -> None:
    code, _, err = run(capsys, "trip", "import", str(_csv(tmp_path, text)))
    assert code == 65
    assert why in err and "Traceback" not in err


def test_a_file_not_in_utf8_exits_65(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "2026-03-01,1,km,business,Café Müller\n").encode("latin-1"))
    code, _, err = run(capsys, "trip", "import", str(path))
    assert code == 65
    assert "row 2 is not UTF-8 text" in err


def test_map_reads_another_app_s_columns_and_options_fill_empty_cells(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _csv(tmp_path, "Day,Miles,Odometer,Purpose\n2026-03-01,4.2,10042,=HYPERLINK(x)\n")
    doc = run_json(
        capsys,
        "trip",
        "import",
        str(path),
        "--map",
        "Day=date",
        "--map",
        "Miles=distance",
        "--map",
        "Odometer=",
        "-c",
        "business",
    )
    assert doc["ignored_columns"] == ["Odometer"]
    (trip,) = _all(capsys)
    assert (trip["distance"], trip["classification"]) == ("4.2", "business")
    assert trip["description"] == "=HYPERLINK(x)"  # formula-looking text kept as text
    code, _, _ = run(capsys, "trip", "import", str(path), "--map", "Day")
    assert code == 2


def test_gpx_options_are_refused_for_csv_only_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = run(capsys, "trip", "import", str(tmp_path / "track.gpx"), "--skip-invalid")
    assert code == 2


# ----------------------------------------------------------------------------- round trip
_SAME = (
    "date",
    "start_time",
    "end_time",
    "start",
    "end",
    "distance",
    "unit",
    "duration_ms",
    "classification",
    "description",
    "notes",
    "customer_id",
    "class_segment_ids",
    "custom_data",
    "timezone",
    "sync_state",
)


def _flat(trip: dict[str, Any]) -> dict[str, str]:
    """A trip of ``trip list --json`` as one CSV row: places dotted, lists/objects as JSON."""
    row: dict[str, str] = {}
    for key, value in trip.items():
        if key in ("start", "end"):
            for part, inner in (value or {}).items():
                if part == "address":
                    for name, text in (inner or {}).items():
                        row[f"{key}.address.{name}"] = text
                else:
                    row[f"{key}.{part}"] = inner
        elif isinstance(value, list | dict):
            row[key] = json.dumps(value)
        else:
            row[key] = "" if value is None else str(value)
    return row


@BOTH_BACKENDS
def test_trip_list_json_to_csv_and_back_gives_the_same_trips(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", "Europe/Berlin")
    with Tracker.open(tmp_path / "home" / "tracker.db", timezone="Europe/Berlin") as store:
        store.trips.add(
            {
                "date": "2026-03-01",
                "distance": "12.500",
                "unit": "mile",
                "classification": "business",
                "description": 'quotes " and, commas\nand a line break; ünïcödé',
                "notes": "=cmd|' /C calc'!A0",
                "customer_id": "cus_1",
                "class_segment_ids": ["seg_1"],
                "custom_data": {"project": "alpha", "n": 3},
                "start_time": "2026-03-01T08:00:00+01:00",
                "end_time": "2026-03-01T08:45:00+01:00",
                "start": {"lat": "52.52", "lng": "13.405", "address": {"city": "Berlin"}},
                "end": {"lat": "52.4", "lng": "13.06"},
            }
        )
        store.trips.add({"date": "2025-12-31", "distance": "0"})
    before = _all(capsys)
    rows = [_flat(t) for t in before]
    names = sorted({k for row in rows for k in row})
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, names)
        writer.writeheader()
        writer.writerows(rows)

    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "other"))
    request.getfixturevalue("cli_store")  # postgres: imported into a PostgreSQL store
    assert run_json(capsys, "trip", "import", str(path))["added"] == 2
    after = _all(capsys)

    def same(trips: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: t[k] for k in _SAME} for t in trips]

    assert same(after) == same(before)


# ----------------------------------------------------------------------------- push
@pytest.mark.usefixtures("point_at_sandbox")
def test_imported_trips_are_pushed_by_sync(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sandbox: Sandbox
) -> None:
    lines = "".join(f"2026-02-{d:02d},{d}.5,km,business,visit {d}\n" for d in range(1, 26))
    path = _csv(tmp_path, HEADER + lines)
    assert run_json(capsys, "trip", "import", str(path), "--chunk-size", "7")["added"] == 25

    code, out, err = run(capsys, "sync", "--push", "--json")

    assert code == 0, err
    assert json.loads(out)["push"]["synced"] == 25
    assert len(sandbox.records) == 25
    assert {t["sync_state"] for t in _all(capsys)} == {"synced"}


# ----------------------------------------------------------------------------- killed
_CHILD = """
import os, signal, sys
from pathlib import Path
from sync.cli.context import load_settings, open_store
from sync.cli.trip_import import import_csv

def tick(label, report, total):
    if label == "importing" and report.added >= 20:
        os.kill(os.getpid(), signal.SIGKILL)  # between the second and the third chunk

with open_store(load_settings()) as store:
    import_csv(store, Path(sys.argv[1]), chunk_size=10, tick=tick)
"""


def test_an_import_killed_midway_and_run_again_has_each_row_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = "".join(f"2026-01-{d % 28 + 1:02d},{d},km,business,row {d}\n" for d in range(45))
    path = _csv(tmp_path, HEADER + lines)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert len(_all(capsys)) == 20

    doc = run_json(capsys, "trip", "import", str(path))

    assert (doc["added"], doc["skipped"]) == (25, 20)
    trips = _all(capsys)
    assert sorted(int(t["distance"]) for t in trips) == list(range(45))
    assert run_json(capsys, "status")["journal"]["pending"] == 45

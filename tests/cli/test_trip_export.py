"""``tracker trip export``: CSV and GPX files that import back as the same trips (export,
import into a fresh store, export again: the same bytes), spreadsheet-safe CSV cells, the
same file imported into the store it came from adding nothing, and the period options."""

from __future__ import annotations

import csv
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run, run_json
from tests.helpers.store import BOTH_BACKENDS
from tracker.store import Tracker

ZONE = "Europe/Berlin"
# Text a spreadsheet would run, and text that merely looks like its escape.
TRICKY = [
    '=HYPERLINK("http://x","y")',
    "+1 client",
    "-minus",
    "@SUM(A1)",
    "\tindented",
    "\rcarriage",
    "'=already quoted by hand",
    "''=two quotes",
    "'plain quote",
    'quotes " and, commas\nand a line break; ünïcödé',
]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _home(tmp_path: Path, name: str) -> Path:
    return tmp_path / name / "tracker.db"


def _fill(path: Path) -> list[str]:
    """Manual trips of every shape, and two recorded ones with fixes; returns the ids."""
    with Tracker.open(path, timezone=ZONE) as store:
        return _fill_store(store)


def _fill_store(store: Tracker, account: str | None = None) -> list[str]:
    """:func:`_fill`'s trips in ``store`` (each on a date of its own), ``account``'s."""
    ids = []
    if account is not None:
        store = store.for_account(account)
    for n, text in enumerate(TRICKY):
        ids.append(
            store.trips.add(
                {
                    "date": f"2026-03-{n + 1:02d}",
                    "distance": "12.500",
                    "unit": "mile" if n % 2 else "km",
                    "classification": ("business", "personal", "unclassified")[n % 3],
                    "description": text,
                    "notes": TRICKY[-1 - n],
                    "customer_id": "cus_1",
                    "class_segment_ids": ["seg_1"] if n % 2 else [],
                    "custom_data": {"project": "alpha", "n": n} if n % 3 else {},
                    "start_time": f"2026-03-{n + 1:02d}T08:00:00+01:00",
                    "end_time": f"2026-03-{n + 1:02d}T08:45:30.25+01:00",
                    "start": {
                        "lat": "-33.8688",
                        "lng": "151.2093",
                        "address": {"city": "-Sydney", "address1": "=1 Main St"},
                    },
                    "end": {"lat": "52.4", "lng": "-13.06"},
                }
            ).id
        )
    ids.append(store.trips.add({"date": "2025-12-31", "distance": "0"}).id)
    for day, name in (("2026-04-01", "=recorded"), ("2026-04-02", None)):
        trip = store.trips.start(
            {
                "start_time": _t(f"{day}T06:00:00Z"),
                "description": name,
                "classification": "business",
            }
        )
        store.trips.add_points(
            trip.id,
            [
                (_t(f"{day}T06:00:00Z"), 52.5200001, 13.4049999, 3.47, 12.34),
                (_t(f"{day}T06:00:10.5Z"), 52.5209, 13.4061, 4.0, None),
                (_t(f"{day}T06:00:21Z"), 52.5218, -13.4072, None, 13.0),
                (_t(f"{day}T06:00:31.000001Z"), 52.5227, 13.4083, 2.5, 12.99),
            ],
        )
        ids.append(store.trips.stop(trip.id, end_time=_t(f"{day}T06:01:00Z")).id)
    return ids


def _export(capsys: pytest.CaptureFixture[str], out: Path, *args: str) -> str:
    code, _, err = run(capsys, "trip", "export", "--out", str(out), *args)
    assert code == 0, err
    return err


def _trips(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    trips: list[dict[str, Any]] = run_json(capsys, "trip", "list", "--all")["trips"]
    return trips


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
)


def _same(trips: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({k: t[k] for k in _SAME} for t in trips), key=json.dumps)


# ----------------------------------------------------------------------------- CSV
def test_csv_export_imports_into_a_fresh_store_and_exports_the_same_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    ids = _fill(_home(tmp_path, "home"))
    before = _trips(capsys)
    first = tmp_path / "first.csv"
    assert "exported 13 trips" in _export(capsys, first)

    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "other"))
    doc = run_json(capsys, "trip", "import", str(first))
    assert (doc["added"], doc["invalid"]) == (13, 0)
    second = tmp_path / "second.csv"
    _export(capsys, second)

    assert second.read_bytes() == first.read_bytes()
    assert _same(_trips(capsys)) == _same(before)
    with first.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["id"] for r in rows} == set(ids)
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)  # oldest first


def test_csv_cells_a_spreadsheet_would_run_get_a_quote_the_import_takes_off(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    _fill(_home(tmp_path, "home"))
    path = tmp_path / "trips.csv"
    _export(capsys, path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    text_columns = ("description", "notes", "start.address.city", "start.address.address1")
    for row in rows:
        for column in text_columns:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row[column]
    described = {r["description"] for r in rows}
    assert '\'=HYPERLINK("http://x","y")' in described
    assert "''=already quoted by hand" in described  # one more: the import takes one off
    assert "'plain quote" in described  # not a formula: as written
    # Numbers stay numbers (a negative coordinate is no formula to a spreadsheet).
    assert {r["start.lat"] for r in rows} >= {"-33.8688"}

    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "other"))
    run_json(capsys, "trip", "import", str(path))
    stored = {t["description"] for t in _trips(capsys)}
    assert set(TRICKY) <= stored
    cities = {((t["start"] or {}).get("address") or {}).get("city") for t in _trips(capsys)}
    assert cities == {"-Sydney", None}


def test_the_export_imported_into_its_own_store_adds_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    _fill(_home(tmp_path, "home"))
    before = _trips(capsys)
    path = tmp_path / "trips.csv"
    _export(capsys, path)

    doc = run_json(capsys, "trip", "import", str(path))
    assert (doc["added"], doc["skipped"]) == (0, 13)
    assert _trips(capsys) == before

    # Imported elsewhere, then that store's export brought back: still the same trips.
    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "other"))
    assert run_json(capsys, "trip", "import", str(path))["added"] == 13
    assert run_json(capsys, "trip", "import", str(path))["added"] == 0
    again = tmp_path / "again.csv"
    _export(capsys, again)
    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "home"))
    assert run_json(capsys, "trip", "import", str(again))["added"] == 0
    assert _trips(capsys) == before


# ----------------------------------------------------------------------------- GPX
def test_gpx_export_imports_into_a_fresh_store_and_exports_the_same_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    _fill(_home(tmp_path, "home"))
    recorded = [t for t in _trips(capsys) if t["source"] == "live"]
    first = tmp_path / "first.gpx"
    err = _export(capsys, first, "--format", "gpx")
    assert "exported 2 trips (8 points)" in err
    assert "11 trips without GPS points left out" in err

    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "other"))
    code, _, err = run(capsys, "trip", "import", str(first), "--json")
    assert code == 0, err
    second = tmp_path / "second.gpx"
    _export(capsys, second, "--format", "gpx")

    assert second.read_bytes() == first.read_bytes()
    # A GPX track ends at its last point: a trip stopped later ends earlier once imported.
    keep = ("date", "distance", "unit", "classification", "description", "start_time")
    imported = _trips(capsys)
    assert sorted((tuple(t[k] for k in keep) for t in imported), key=str) == sorted(
        (tuple(t[k] for k in keep) for t in recorded), key=str
    )
    assert all(t["classification"] == "business" for t in imported)
    assert "=recorded" in {t["description"] for t in imported}


def test_gpx_export_imported_into_its_own_store_adds_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    _fill(_home(tmp_path, "home"))
    before = _trips(capsys)
    path = tmp_path / "trips.gpx"
    _export(capsys, path, "--format", "gpx")

    code, out, err = run(capsys, "trip", "import", str(path))
    assert code == 0, err
    assert "already imported" in out
    assert _trips(capsys) == before


# ----------------------------------------------------------------------------- options
def test_from_and_to_bound_the_dates_and_bad_dates_exit_65(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    _fill(_home(tmp_path, "home"))
    code, out, err = run(capsys, "trip", "export", "--from", "2026-03-02", "--to", "2026-03-03")
    assert code == 0, err
    rows = list(csv.DictReader(out.splitlines()))
    assert [r["date"] for r in rows] == ["2026-03-02", "2026-03-03"]
    assert "exported 2 trips" in err

    for args in (["--from", "2026-02-30"], ["--from", "2026-03-05", "--to", "2026-03-01"]):
        code, out, err = run(capsys, "trip", "export", *args)
        assert code == 65, err
        assert "Traceback" not in err and out == ""
    missing = tmp_path / "no such folder" / "trips.csv"
    code, _, err = run(capsys, "trip", "export", "--out", str(missing))
    assert code == 74 and "cannot write" in err
    assert not missing.parent.exists()


def test_a_track_type_is_its_classification_only_when_it_is_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def gpx(kind: str, second: int) -> Path:
        path = tmp_path / f"{kind}{second}.gpx"
        path.write_text(
            '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk>'
            f"<name>ride</name><type>{kind}</type><trkseg>"
            f'<trkpt lat="52.5" lon="13.4"><time>2026-03-01T08:00:{second:02d}Z</time></trkpt>'
            "</trkseg></trk></gpx>",
            encoding="utf-8",
        )
        return path

    for kind, second, extra, expected in (
        ("cycling", 1, [], "unclassified"),  # Strava's type: not a classification
        ("Business", 2, [], "unclassified"),  # only the exact values an export writes
        ("business", 3, [], "business"),
        ("business", 4, ["-c", "personal"], "personal"),  # the option wins
    ):
        code, out, err = run(capsys, "trip", "import", str(gpx(kind, second)), *extra, "--json")
        assert code == 0, err
        assert json.loads(out)[0]["classification"] == expected, kind


# ----------------------------------------------------------------------------- both backends
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _cli_store(tmp_path: Path) -> Tracker:
    """The store the CLI uses in a BOTH_BACKENDS test (tests/cli/conftest.py: cli_store)."""
    url = os.environ.get("TRACKER_DATABASE_URL") or f"sqlite:///{_home(tmp_path, 'home')}"
    return Tracker.open_url(url, timezone=ZONE)


def _reference(tmp_path: Path, fmt: str) -> Path:
    """:func:`_fill`'s trips exported by a SQLite file of their own: the reference bytes."""
    source = _home(tmp_path, "source")
    _fill(source)
    path = tmp_path / f"reference.{fmt}"
    with Tracker.open(source, timezone=ZONE) as store, path.open("w", newline="") as out:
        store.export_trips(out, fmt)
    return path


@BOTH_BACKENDS
@pytest.mark.usefixtures("cli_store")
@pytest.mark.parametrize("fmt", ["csv", "gpx"])
def test_the_same_trips_export_to_the_same_bytes_on_either_backend(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    # The same trips made in the store under test (fixes and all) as in a SQLite file: the
    # same file but for the trips' ids (each store draws its own); each on a date of its
    # own, so the order does not depend on them.
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    reference = _reference(tmp_path, fmt)
    with _cli_store(tmp_path) as store:
        _fill_store(store)
    path = tmp_path / f"exported.{fmt}"
    err = _export(capsys, path, "--format", fmt)
    assert ("exported 2 trips (8 points)" if fmt == "gpx" else "exported 13 trips") in err
    assert _UUID.sub(b"ID", path.read_bytes()) == _UUID.sub(b"ID", reference.read_bytes())


@BOTH_BACKENDS
@pytest.mark.usefixtures("cli_store")
@pytest.mark.parametrize("fmt", ["csv", "gpx"])
def test_a_sqlite_export_imported_exports_the_same_bytes_on_either_backend(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    # Ids included: a trip imported from an export keeps the id it was exported with.
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    reference = _reference(tmp_path, fmt)
    code, _, err = run(capsys, "trip", "import", str(reference), "--json")
    assert code == 0, err
    again = tmp_path / f"again.{fmt}"
    _export(capsys, again, "--format", fmt)
    assert again.read_bytes() == reference.read_bytes()
    # Through stdout as well, a period and all.
    code, out, err = run(capsys, "trip", "export", "--from", "2026-03-02", "--to", "2026-03-03")
    assert code == 0, err
    if fmt == "csv":
        assert [r["date"] for r in csv.DictReader(out.splitlines())] == [
            "2026-03-02",
            "2026-03-03",
        ]


@BOTH_BACKENDS
@pytest.mark.usefixtures("cli_store")
def test_export_account_writes_that_accounts_trips_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", ZONE)
    for name in ("acme", "beta"):
        run(capsys, "account", "add", name, "--tight-token-ref", f"env:{name.upper()}_TOKEN")
    with _cli_store(tmp_path) as store:
        acme = _fill_store(store, "acme")
        mine = [store.trips.add({"date": "2026-05-01", "distance": "3"}).id]
        beta = [store.for_account("beta").trips.add({"date": "2026-05-02", "distance": "4"}).id]
    run(capsys, "account", "disable", "beta")  # its trips stay, and export

    def ids(*args: str) -> list[str]:
        code, out, err = run(capsys, "trip", "export", *args)
        assert code == 0, err
        return [row["id"] for row in csv.DictReader(out.splitlines())]

    assert sorted(ids("--account", "acme")) == sorted(acme)
    assert ids("--account", "default") == mine
    assert ids("--account", "beta") == beta
    assert sorted(ids()) == sorted(acme + mine + beta)
    code, out, err = run(capsys, "trip", "export", "--format", "gpx", "--account", "acme")
    assert code == 0 and "exported 2 trips (8 points)" in err
    assert all(trip_id.encode() in out.encode() for trip_id in acme[-2:])  # the recorded
    code, _, err = run(capsys, "trip", "export", "--format", "gpx", "--account", "default")
    assert code == 0 and "exported 0 trips (0 points); 1 trip without GPS points" in err

    target = tmp_path / "nope.csv"
    code, out, err = run(capsys, "trip", "export", "--account", "nope", "--out", str(target))
    assert code == 65 and "tracker account list" in err and out == ""
    assert not target.exists() and not list(tmp_path.glob(".nope.csv*"))

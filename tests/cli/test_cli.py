"""The ``tracker`` command: every trip command, --json shapes, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sync.cli.exitcodes import ExitCode, exit_code_for
from tests.helpers.cli import modules_loaded, run, run_json
from tests.helpers.store import manual_trips
from tracker.store import Tracker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gpx"


def test_record_a_live_trip_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trip = run_json(
        capsys,
        "trip",
        "start",
        "-c",
        "business",
        "-d",
        "site visit",
        "--at",
        "2026-03-10T08:00:00+01:00",
    )
    assert trip["sync_state"] == "recording"
    for i, lat in enumerate(("52.5000", "52.5010", "52.5020")):
        code, _out, err = run(
            capsys,
            "trip",
            "point",
            trip["id"],
            lat,
            "13.4",
            "--at",
            f"2026-03-10T08:0{i}:00+01:00",
            "--accuracy",
            "5",
        )
        assert code == 0, err
    csv = tmp_path / "fixes.csv"
    csv.write_text("time,lat,lng,accuracy,speed\n2026-03-10T08:05:00+01:00,52.503,13.4,4,12.5\n")
    assert run_json(capsys, "trip", "point", trip["id"], "--csv", str(csv))["added"] == 1
    done = run_json(capsys, "trip", "stop", trip["id"], "--at", "2026-03-10T08:10:00+01:00")
    assert done["sync_state"] == "pending"
    assert done["distance"] == "0.334"
    assert done["duration_ms"] == 600_000
    assert done["date"] == "2026-03-10"


def test_add_list_show_edit_delete(capsys: pytest.CaptureFixture[str]) -> None:
    added = run_json(
        capsys,
        "trip",
        "add",
        "--distance",
        "12.5",
        "--date",
        "2026-03-01",
        "--unit",
        "mile",
        "-c",
        "personal",
    )
    assert {"id", "remote_id", "sync_state"} <= added.keys()
    assert (added["distance"], added["unit"], added["remote_id"]) == ("12.5", "mile", None)
    listed = run_json(capsys, "trip", "list")
    assert [t["id"] for t in listed["trips"]] == [added["id"]]
    shown = run_json(capsys, "trip", "show", added["id"][:8])
    assert shown["id"] == added["id"]
    assert [h["event"] for h in shown["history"]] == ["queued save", "recorded"]
    edited = run_json(capsys, "trip", "edit", added["id"], "-c", "business", "-d", "fair")
    assert (edited["classification"], edited["description"]) == ("business", "fair")
    deleted = run_json(capsys, "trip", "delete", added["id"])
    assert deleted["lifecycle"] == "deleted"
    assert run_json(capsys, "trip", "list") == {
        "trips": [],
        "more": 0,
        "more_exact": True,
        "next": None,
    }
    assert len(run_json(capsys, "trip", "list", "--deleted")["trips"]) == 1
    code, out, _ = run(capsys, "trip", "list")
    assert (code, out) == (0, "no trips\n")  # a sentence, not a title over an empty table


def test_import_gpx_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    gpx = sorted(FIXTURES.glob("*.gpx"))[0]
    imported = run_json(capsys, "trip", "import", str(gpx), "-c", "business")
    assert len(imported) == 1
    assert imported[0]["source"] == "gpx"
    status = run_json(capsys, "status")
    assert status["trips"] == 1
    assert status["journal"]["pending"] == 1
    assert status["database_mode"] == "0o600"
    assert status["oldest_pending_age_seconds"] >= 0


def test_cars(capsys: pytest.CaptureFixture[str]) -> None:
    car = run_json(
        capsys,
        "car",
        "add",
        "Golf",
        "--make",
        "VW",
        "--year",
        "2021",
        "--odometer",
        "45000.5",
        "--unit",
        "km",
    )
    assert run_json(capsys, "car", "list") == [car]
    trip = run_json(
        capsys, "trip", "add", "--distance", "3", "--date", "2026-03-01", "--car", car["id"]
    )
    assert trip["car_id"] == car["id"]


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["trip", "add", "--distance", "12,5", "--date", "2026-03-01"], 65, "invalid --distance"),
        (["trip", "add", "--distance", "-3", "--date", "2026-03-01"], 65, "invalid --distance"),
        (["trip", "add", "--distance", "3"], 65, "give a --date or a --start-time"),
        (
            ["trip", "add", "--distance", "3", "--date", "2026-03-01", "-c", "x"],
            2,  # a choice the parser refuses: a usage error, listing the choices
            "'x' is not one of 'business', 'personal', 'unclassified'",
        ),
        (["trip", "add", "--distance", "3", "--unit", "furlong"], 2, "'km', 'mile'"),
        (["trip", "show", "no-such-trip"], 65, "no trip with id"),
        (["trip", "stop", "no-such-trip"], 65, "no trip with id"),
        (["trip", "start", "--at", "yesterday"], 65, "not an ISO-8601 time"),
        (["trip", "point", "abcd-1234", "95", "0"], 65, "invalid lat"),
        (["trip", "frobnicate"], 2, "No such command"),
        (["trip", "add"], 2, "Missing option"),
    ],
)
def test_bad_input_exit_codes_and_one_line_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, needle: str
) -> None:
    got, _, err = run(capsys, *argv)
    assert got == code
    assert needle in err
    assert "Traceback" not in err
    if code == 65:
        assert len(err.strip().splitlines()) == 1


def test_bad_setting_is_a_config_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_DISTANCE_UNIT", "furlong")
    code, _, err = run(capsys, "status")
    assert code == ExitCode.CONFIG
    assert "TRACKER_DISTANCE_UNIT" in err


def test_corrupt_database_exits_74(capsys: pytest.CaptureFixture[str]) -> None:
    home = Path(os.environ["TRACKER_HOME"])
    home.mkdir(parents=True)
    (home / "tracker.db").write_bytes(b"\x00" * 8192)
    code, _, err = run(capsys, "trip", "list")
    assert code == ExitCode.IOERR
    assert "recover" in err
    assert len(err.strip().splitlines()) == 1


def test_locked_database_exits_75(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_BUSY_TIMEOUT", "0.1")
    run_json(capsys, "status")  # create the file
    holder = sqlite3.connect(Path(os.environ["TRACKER_HOME"]) / "tracker.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        code, _, err = run(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == ExitCode.TEMPFAIL
    assert "busy" in err


def test_unwritable_home_exits_74(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TRACKER_HOME", str(blocker / "sub"))
    code, _, err = run(capsys, "status")
    assert code == ExitCode.IOERR
    assert "TRACKER_HOME" in err


def test_terminal_escapes_in_data_are_never_printed_raw(
    capsys: pytest.CaptureFixture[str],
) -> None:
    evil = "x\x1b]0;pwned\x07\x1b[2J\x9b31m"
    trip = run_json(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01", "-d", evil)
    code, out, _ = run(capsys, "trip", "list")
    assert code == 0
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in out
    assert "\\x1b" in out
    code, out, _ = run(capsys, "trip", "show", trip["id"], "--json")
    assert "\x1b" not in out
    assert json.loads(out)["description"] == evil  # JSON escapes, data intact


def test_internal_errors_map_to_70() -> None:
    assert exit_code_for(RuntimeError("boom")) == ExitCode.SOFTWARE


def test_help_does_not_import_the_database_or_http_stack() -> None:
    heavy = ("sqlalchemy", "sqlmodel", "httpx", "apscheduler", "alembic")
    _, loaded, out = modules_loaded([["--help"]], heavy)
    assert loaded == []
    assert "trip" in out


@pytest.mark.slow
def test_console_script_runs_end_to_end(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "tracker"
    env = {**os.environ, "TRACKER_HOME": str(tmp_path / "h")}
    result = subprocess.run(
        [str(exe), "trip", "add", "--distance", "2", "--date", "2026-03-01", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sync_state"] == "pending"
    bad = subprocess.run(
        [str(exe), "trip", "show", "nope"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 65
    assert bad.stderr.startswith("error: no trip")
    assert "Traceback" not in bad.stderr


def test_the_console_script_ends_quickly_with_its_output_and_code_intact(tmp_path: Path) -> None:
    # Run as the console script runs (main() without argv): the process ends with os._exit
    # once the command is done, so nothing may be left unwritten in a pipe, and the code kept.
    home = tmp_path / "home"
    with Tracker.open(home / "tracker.db", timezone="UTC") as store:
        manual_trips(store, 120, description="x" * 400)  # ~100 KB of JSON: over a pipe's buffer
    env = {**os.environ, "TRACKER_HOME": str(home)}
    command = [sys.executable, "-m", "sync.cli"]
    listed = subprocess.run(
        [*command, "trip", "list", "--all", "--json"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout) > 100_000
    assert len(json.loads(listed.stdout)["trips"]) == 120
    missing = subprocess.run(
        [*command, "trip", "show", "nope"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (missing.returncode, missing.stderr.splitlines()[0][:13]) == (65, "error: no tri")


@pytest.mark.parametrize(
    "argv",
    [
        ["trip", "add", "--date", "2026-03-01", "--distance", "4"],
        ["trip", "list"],
        ["trip", "list", "--json"],
        ["status"],
        ["sync", "--dry-run"],
        ["costs", "list"],
    ],
    ids=" ".join,
)
def test_commands_that_send_nothing_load_no_http_stack(tmp_path: Path, argv: list[str]) -> None:
    env = {
        **os.environ,
        "TRACKER_HOME": str(tmp_path / "home"),
        "TRACKER_MILEAGE_URL": "http://127.0.0.1:9",  # configured, never asked
        "TRACKER_MILEAGE_TOKEN": "t",
        "TRACKER_COSTS_URL": "http://127.0.0.1:9",
        "TRACKER_COSTS_TOKEN": "t",
    }
    heavy = ("httpx", "apscheduler", "tenacity", "starlette")
    codes, loaded, out = modules_loaded([argv], heavy, env)
    assert codes == [0], out
    assert loaded == [], out


def test_a_short_or_unknown_trip_id_is_answered_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_json(capsys, "trip", "add", "--date", "2026-03-01", "--distance", "2")
    code, _, err = run(capsys, "trip", "show", "ab")
    assert code == 65
    assert err.startswith("error: trip id 'ab' is too short: give at least 4 characters")
    code, _, err = run(capsys, "trip", "show", "zzzz")
    assert (code, err.startswith("error: no trip with id 'zzzz'")) == (65, True)


def test_quiet_prints_the_new_trip_id_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "trip", "start", "-q", "-c", "business")
    assert code == 0
    trip_id = out.strip()
    assert run_json(capsys, "trip", "show", trip_id)["status"] == "recording"
    code, out, _ = run(capsys, "trip", "add", "-q", "--date", "2026-03-01", "--distance", "2")
    assert code == 0 and len(out.strip()) == 36 and "\n" not in out.strip()


def test_times_are_in_the_configured_zone_in_tables_and_utc_in_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIMEZONE", "Europe/Berlin")
    code, out, _ = run(capsys, "trip", "start", "-q", "--at", "2026-03-01T08:00")
    trip_id = out.strip()
    run(capsys, "trip", "stop", trip_id, "--at", "2026-03-01T08:31:25")
    code, out, _ = run(capsys, "trip", "show", trip_id)
    assert code == 0
    assert "2026-03-01 08:00:00 CET" in out and "31 min 25 s" in out
    shown = run_json(capsys, "trip", "show", trip_id)
    assert shown["start_time"] == "2026-03-01T07:00:00Z"
    status = run_json(capsys, "status")
    assert status["journal"]["oldest_pending_at"].endswith("Z")


@pytest.mark.usefixtures("root_logging")
def test_warnings_are_plain_lines_and_verbose_gives_log_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    from sync.cli.app import build_app

    app = build_app()

    @app.command("noisy", hidden=True)
    def noisy() -> None:  # the library notes something while a command runs
        logging.getLogger("sync.costs.pull").info("page read")
        logging.getLogger("sync.costs.pull").warning("cost 9 quarantined: why")

    from sync import logs

    logs.configure("WARNING", log_format="plain")  # main()'s default (see also tests/hostile)
    with pytest.raises(SystemExit):
        app(args=["noisy"], prog_name="tracker", standalone_mode=True)
    assert capsys.readouterr().err == "warning: cost 9 quarantined: why\n"
    with pytest.raises(SystemExit):
        app(args=["-v", "noisy"], prog_name="tracker", standalone_mode=True)
    err = capsys.readouterr().err
    assert 'msg="page read"' in err and "level=warning" in err


def test_reading_trips_loads_no_validation_models(tmp_path: Path) -> None:
    # Start-up (issue 15): a list, in text or JSON, builds no pydantic input model.
    env = {**os.environ, "TRACKER_HOME": str(tmp_path / "home")}
    argvs = [["trip", "list"], ["trip", "list", "--json"]]
    _, loaded, out = modules_loaded(argvs, ("tracker.inputs",), env)
    assert loaded == [], out


def test_reads_configure_no_orm_mapper(tmp_path: Path) -> None:
    # Start-up (issue 15): the first ORM query configures every mapper (~5 ms); a list, in
    # text or JSON, a trip shown and a status read through Core statements and never pay it.
    home = tmp_path / "home"
    with Tracker.open(home / "tracker.db", timezone="UTC") as store:
        shown = manual_trips(store, 3)[0][:8]
    reads = [["trip", "list"], ["trip", "list", "--json"], ["trip", "show", shown], ["status"]]
    probe = (
        "import sys\n"
        "from sync.cli import main\n"
        f"for argv in {reads!r}:\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, done.code\n"
        "from tracker.tables import Trip\n"
        "print('\\nCONFIGURED', Trip.__mapper__.configured)\n"
    )
    env = {**os.environ, "TRACKER_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("CONFIGURED False"), done.stdout[-500:]


# What the hot commands must not load (issue 15, start-up): the tax report and its PDF, the
# export, the odometer, the rate schedules, the costs pull's input models, geographiclib,
# PostgreSQL's dialect.
# (``tracker.chain`` is loaded: ``trip add`` writes a link, ``trip show`` prints provenance.)
_NOT_FOR_READS = (
    "tracker.report",
    "tracker.tripexport",
    "tracker.odometer",
    "tracker.deductions",
    "tracker.rates",
    "tracker.costs.inputs",
    "tracker.costs.upsert",
    "tracker.costs.queries",  # status counts the costs from the tally and one row
    "tracker.costs.views",
    "tracker.sidetables",  # the costs' and the odometer's table classes
    "geographiclib",
    "fpdf",
    "sqlalchemy.dialects.postgresql",  # fleet mode's dialect (a postgresql_* index option)
    "sync.tight.wire",  # Tight's wire models: a dry run names the paths (sync.tight.paths)
)


@pytest.mark.parametrize(
    "argv",
    [
        ["trip", "list"],
        ["trip", "list", "--json"],
        ["trip", "show", "SHOW"],
        ["status"],
        ["trip", "add", "--date", "2026-03-01", "--distance", "4"],
        ["sync", "--dry-run", "--push"],  # no deduction set: no rate tables either
    ],
    ids=" ".join,
)
def test_hot_commands_load_none_of_the_report_export_or_pull_modules(
    tmp_path: Path, argv: list[str]
) -> None:
    home = tmp_path / "home"
    with Tracker.open(home / "tracker.db", timezone="UTC") as store:
        trip_id = manual_trips(store, 3)[0]
    env = {
        **os.environ,
        "TRACKER_HOME": str(home),
        "TRACKER_MILEAGE_URL": "http://127.0.0.1:9",  # a dry run sends nothing
        "TRACKER_MILEAGE_TOKEN": "token",
    }
    argv = [trip_id if arg == "SHOW" else arg for arg in argv]
    watch = (*_NOT_FOR_READS, "tracker.inputs") if argv[:2] != ["trip", "add"] else _NOT_FOR_READS
    codes, loaded, out = modules_loaded([argv], watch, env)
    assert codes == [0], out
    assert loaded == [], out


def test_many_gpx_files_import_in_one_command_and_a_second_import_adds_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = sorted(FIXTURES.glob("*.gpx"))[:2]
    made = run_json(capsys, "trip", "import", str(first), str(second))
    assert len(made) >= 2
    code, out, _ = run(capsys, "trip", "import", str(first), str(second))
    assert code == 0
    assert out.splitlines() == [
        f"already imported: {first} (nothing added)",
        f"already imported: {second} (nothing added)",
    ]
    assert len(run_json(capsys, "trip", "list", "--all")["trips"]) == len(made)


def test_trip_stop_says_which_fixes_the_filters_dropped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(capsys, "trip", "start", "-q", "--at", "2026-03-10T08:00:00Z")
    trip_id = out.strip()
    fixes = [("48.1", "5"), ("48.2", "500"), ("48.11", "5")]  # the middle one: 500 m accuracy
    for minute, (lat, accuracy) in enumerate(fixes):
        at = f"2026-03-10T08:0{minute}:00Z"
        code, _, err = run(
            capsys, "trip", "point", trip_id, lat, "11.5", "--at", at, "--accuracy", accuracy
        )
        assert code == 0, err
    code, out, err = run(capsys, "trip", "stop", trip_id, "--at", "2026-03-10T08:05:00Z")
    assert code == 0, err
    assert "1.112 km" in out  # from the two kept fixes, 0.01 degree of latitude apart
    assert (
        "warning: trip " + trip_id + ": 1 of 3 GPS fixes dropped by the filters: 1 less "
        "accurate than 50 m (TRACKER_MAX_ACCURACY); the distance is that of the 2 kept"
    ) in err

    _, out, _ = run(capsys, "trip", "start", "-q", "--at", "2026-03-10T09:00:00Z")
    blurred = out.strip()
    for minute in (1, 2):
        at = f"2026-03-10T09:0{minute}:00Z"
        run(capsys, "trip", "point", blurred, "48.1", "11.5", "--at", at, "--accuracy", "900")
    code, out, err = run(capsys, "trip", "stop", blurred, "--at", "2026-03-10T09:05:00Z")
    assert code == 0, err
    assert "  0 km  " in out
    assert f"warning: trip {blurred}: distance 0: none of the 2 waypoints" in err


def test_trip_stop_names_its_own_flag(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "trip", "start", "-q", "--at", "2026-03-10T08:00:00Z")
    code, _, err = run(capsys, "trip", "stop", out.strip(), "--at", "2026-03-10T07:00:00Z")
    assert code == 65
    assert "invalid --at: must not be before the trip's start" in err

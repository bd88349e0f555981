"""``tracker car odometer``: record, list, the period check, and a reading out of order or a
bad value refused with exit 65 and nothing stored (the real CLI on a real database)."""

from __future__ import annotations

import pytest

from tests.helpers.cli import run, run_json

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def car(capsys: Capture) -> str:
    car_id: str = run_json(capsys, "car", "add", "Golf")["id"]
    return car_id


def test_readings_are_recorded_and_listed(capsys: Capture, car: str) -> None:
    code, out, _ = run(
        capsys, "car", "odometer", car[:6], "--date", "2025-01-01", "--reading", "10000"
    )
    assert code == 0 and "10000 km on 2025-01-01" in out
    saved = run_json(
        capsys,
        "car",
        "odometer",
        car[:6],
        "--date",
        "2025-12-31",
        "--reading",
        "6300",
        "--unit",
        "mile",
    )
    assert (saved["reading"], saved["unit"]) == ("6300", "mile")
    listed = run_json(capsys, "car", "odometer", car)["readings"]
    assert [(x["date"], x["reading"], x["unit"]) for x in listed] == [
        ("2025-01-01", "10000", "km"),
        ("2025-12-31", "6300", "mile"),
    ]
    code, out, _ = run(capsys, "car", "odometer", car)
    assert code == 0 and "2 odometer readings" in out and "6300 mile" in out


def test_a_lower_reading_after_a_higher_one_is_refused(capsys: Capture, car: str) -> None:
    run_json(capsys, "car", "odometer", car, "--date", "2025-01-01", "--reading", "10000")
    code, out, err = run(
        capsys, "car", "odometer", car, "--date", "2025-03-01", "--reading", "9000"
    )
    assert code == 65
    assert "9000 km on 2025-03-01 is lower than the earlier reading 10000 km on 2025-01-01" in err
    assert "Traceback" not in err and out == ""
    listed = run_json(capsys, "car", "odometer", car)["readings"]
    assert [x["reading"] for x in listed] == ["10000"]


@pytest.mark.parametrize(
    "args",
    [
        ["--date", "2025-02-30", "--reading", "1"],
        ["--date", "2025-03-01", "--reading", "lots"],
        ["--date", "2025-03-01", "--reading", "-5"],
        ["--date", "2025-03-01"],
        ["--reading", "5"],
        ["--from", "2025-01-01"],
    ],
)
def test_bad_input_exits_65_and_stores_nothing(capsys: Capture, car: str, args: list[str]) -> None:
    code, _, err = run(capsys, "car", "odometer", car, *args)
    assert code == 65, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert run_json(capsys, "car", "odometer", car)["readings"] == []


def test_an_unknown_car_exits_65(capsys: Capture) -> None:
    code, _, err = run(
        capsys, "car", "odometer", "ffffffff", "--date", "2025-01-01", "--reading", "1"
    )
    assert code == 65 and "no car" in err


def test_the_period_check_warns_when_trips_exceed_the_odometer(capsys: Capture, car: str) -> None:
    run_json(capsys, "car", "odometer", car, "--date", "2025-01-01", "--reading", "10000")
    run_json(capsys, "car", "odometer", car, "--date", "2025-12-31", "--reading", "10100")
    for distance in ("70", "20"):
        code, _, err = run(
            capsys, "trip", "add", "--date", "2025-06-01", "--distance", distance, "--car", car
        )
        assert code == 0, err
    period = run_json(capsys, "car", "odometer", car, "--from", "2025-01-01", "--to", "2025-12-31")[
        "period"
    ]
    assert (period["driven"], period["trips"], period["warning"]) == ("100", "90", None)

    run(capsys, "trip", "add", "--date", "2025-07-01", "--distance", "15", "--car", car)
    code, out, _ = run(capsys, "car", "odometer", car, "--from", "2025-01-01", "--to", "2025-12-31")
    assert code == 0
    assert "odometer 100 km, trips 105 km" in out
    assert "warning: the trips between 2025-01-01 and 2025-12-31 add up to 105 km" in out

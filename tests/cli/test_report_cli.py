"""``tracker report``: the real CLI on a real database. CSV a spreadsheet cannot run (formula
injection defused, numbers left numbers), the trips to classify apart, the filters, the file
written whole or not at all, and bad input refused with its documented exit code."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.helpers.cli import run, run_json
from tests.helpers.rates import schedule_toml

Capture = pytest.CaptureFixture[str]

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)"]


def trip(capsys: Capture, day: str, distance: str, *more: str) -> str:
    made = run_json(capsys, "trip", "add", "--date", day, "--distance", distance, *more)
    return str(made["id"])


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_defuses_formulas_in_text_and_keeps_numbers(capsys: Capture, tmp_path: Path) -> None:
    for i, text in enumerate(HOSTILE):
        trip(capsys, f"2022-03-0{i + 1}", "10", "--unit", "mile", "-c", "business", "-d", text)
    trip(capsys, "2022-03-09", "5", "--unit", "mile", "-c", "business", "--customer", "=cmd")
    out = tmp_path / "log.csv"
    code, _, err = run(
        capsys, "report", "--year", "2022", "--jurisdiction", "us-irs", "--out", str(out)
    )
    assert code == 0, err
    rows = read_csv(out)
    header = rows[0]
    body = rows[1:6]
    purpose, customer, amount = (header.index(c) for c in ("purpose", "customer", "amount"))
    assert [r[purpose] for r in body[:4]] == ["'" + text for text in HOSTILE]
    assert body[4][customer] == "'=cmd"
    assert [r[amount] for r in body] == ["5.85"] * 4 + ["2.93"]  # 10 x 0.585; 5 x 0.585
    # Every cell of every row: nothing a spreadsheet would evaluate, numbers aside.
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "@", "\t", "\r") or (
                cell.startswith("-") and not _number(cell)
            ):
                pytest.fail(f"a cell a spreadsheet would run: {cell!r}")
    totals = {r[0]: r[1:] for r in rows[rows.index(["totals"]) + 1 :]}
    assert totals["deduction"][:2] == ["26.33", "USD"]  # 45 mi x 0.585 = 26.325, rounded once
    assert totals["business distance"][:2] == ["45.000", "mile"]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_stdout_json_lists_trips_to_classify_apart(capsys: Capture) -> None:
    business = trip(capsys, "2023-05-01", "10", "--unit", "km", "-c", "business")
    unknown = trip(capsys, "2023-05-02", "20", "--unit", "km")
    code, out, err = run(
        capsys, "report", "--year", "2023", "--jurisdiction", "ca-cra", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [r["trip_id"] for r in doc["rows"]] == [business]
    assert [r["trip_id"] for r in doc["to_classify"]] == [unknown]
    assert doc["to_classify"][0]["amount"] is None
    assert doc["totals"]["deduction"] == "6.80"  # 10 km x 0.68
    assert doc["totals"]["business_share"] == "33.33"


def test_filters_by_customer_car_and_days(capsys: Capture) -> None:
    car = run_json(capsys, "car", "add", "Golf")["id"]
    trip(capsys, "2023-02-01", "4990", "--unit", "km", "-c", "business")
    mine = trip(
        capsys,
        "2023-03-01",
        "20",
        "--unit",
        "km",
        "-c",
        "business",
        "--car",
        car,
        "--customer",
        "acme",
    )
    for flags in (
        ["--car", car[:6]],
        ["--customer", "acme"],
        ["--from", "2023-03-01", "--to", "2023-03-31"],
    ):
        code, out, err = run(
            capsys,
            "report",
            "--year",
            "2023",
            "--jurisdiction",
            "ca-cra",
            "--format",
            "json",
            *flags,
        )
        assert code == 0, err
        doc = json.loads(out)
        # 10 km at 0.68 (the 5,000th km is reached inside it) + 10 at 0.62 = 13.00.
        assert [(r["trip_id"], r["amount"]) for r in doc["rows"]] == [(mine, "13.00")]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--year", "2022", "--jurisdiction", "xx"],
            "invalid --jurisdiction: 'xx' is not a rate schedule",
        ),
        (["--year", "2022", "--jurisdiction", "de"], "no German schedule ships"),
        (
            ["--year", "2025", "--jurisdiction", "us-irs"],
            "schedule 'us-irs' has no business rate for a car in 2025",
        ),
        (["--year", "2022"], "invalid --jurisdiction: give one"),
        (
            ["--year", "2022", "--jurisdiction", "us-irs", "--from", "2023-01-01"],
            "outside the tax year 2022",
        ),
        (["--jurisdiction", "us-irs", "--from", "2022-13-01"], "not a date"),
        (["--year", "12", "--jurisdiction", "us-irs"], "invalid --year"),
    ],
)
def test_bad_input_exits_65_with_one_line_and_writes_nothing(
    capsys: Capture, tmp_path: Path, args: list[str], words: str
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    code, stdout, err = run(capsys, "report", *args, "--out", str(folder / "log.csv"))
    assert code == 65, err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err
    assert stdout == "" and list(folder.iterdir()) == []  # no report, no temporary file


def test_a_business_trip_no_rate_covers_is_named_and_nothing_is_written(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = tmp_path / "rates.toml"
    # Its only rate ends on 30 June: a trip in August has none.
    rates.write_text(
        schedule_toml("half", "per-trip", "EUR", "km", '[{ rate = "0.30" }]', valid_to="2025-06-30")
    )
    bad = trip(capsys, "2025-08-01", "10", "--unit", "km", "-c", "business")
    out = tmp_path / "log.csv"
    monkeypatch.setenv("TRACKER_RATE_SCHEDULES", str(rates))
    code, _, err = run(
        capsys, "report", "--year", "2025", "--jurisdiction", "half", "--out", str(out)
    )
    assert code == 65 and bad in err and "2025-08-01" in err
    assert not out.exists()


def test_a_schedule_file_with_a_mistake_exits_78(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = tmp_path / "rates.toml"
    rates.write_text("[[schedules]]\nid = 'x'\n")
    monkeypatch.setenv("TRACKER_RATE_SCHEDULES", str(rates))
    code, _, err = run(capsys, "report", "--year", "2022", "--jurisdiction", "us-irs")
    assert code == 78 and "rate schedule" in err and str(rates) in err


def test_an_out_path_that_cannot_be_written_exits_74(capsys: Capture, tmp_path: Path) -> None:
    code, _, err = run(
        capsys,
        "report",
        "--year",
        "2022",
        "--jurisdiction",
        "us-irs",
        "--out",
        str(tmp_path / "no" / "x.csv"),
    )
    assert code == 74 and "cannot write the report" in err


def test_an_existing_report_is_replaced_whole(capsys: Capture, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    out = folder / "log.csv"
    out.write_text("old")
    trip(capsys, "2022-05-01", "10", "--unit", "mile", "-c", "business")
    code, _, err = run(
        capsys, "report", "--year", "2022", "--jurisdiction", "us-irs", "--out", str(out)
    )
    assert code == 0, err
    assert read_csv(out)[1][10] == "5.85" and [p.name for p in folder.iterdir()] == ["log.csv"]


def test_a_schedule_written_in_the_config_file_is_one_of_yours(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'timezone = "Europe/Berlin"\n'
        + schedule_toml(
            "acme", "per-trip", "EUR", "km", '[{ up_to = 100, rate = "0.40" }, { rate = "0.20" }]'
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    trip(capsys, "2025-03-01", "150", "-c", "business")
    code, out, err = run(
        capsys, "report", "--year", "2025", "--jurisdiction", "acme", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    # 100 km at 0.40 and 50 km at 0.20: the tiers of the config file's own schedule.
    assert [row["amount"] for row in doc["rows"]] == ["50.00"]
    assert doc["report"]["schedule"] == "acme"
    # The same id in TRACKER_RATE_SCHEDULES as well: refused, naming both places.
    extra = tmp_path / "rates.toml"
    extra.write_text(schedule_toml("acme", "per-trip", "EUR", "km", '[{ rate = "0.30" }]'))
    monkeypatch.setenv("TRACKER_RATE_SCHEDULES", str(extra))
    code, _, err = run(capsys, "report", "--year", "2025", "--jurisdiction", "acme")
    assert code == 78
    assert "(the config file)" in err and "id 'acme' is already used by" in err

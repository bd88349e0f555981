"""Reading trips from CSV files: the header, each cell, spreadsheet row numbers, encodings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tracker.bulkrows import RowError, TripRow
from tracker.csvtrips import CsvTrips, field_of, read_header, trip_data
from tracker.errors import InvalidInputError

BERLIN = ZoneInfo("Europe/Berlin")


def _file(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "trips.csv"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def _rows(path: Path, **kwargs: object) -> list[TripRow | RowError]:
    return list(CsvTrips(path, BERLIN, **kwargs).rows())  # type: ignore[arg-type]


def test_header_names_are_the_json_fields_with_documented_aliases() -> None:
    assert field_of(" Start Time ") == "start_time"
    assert field_of("Distance-Unit") == "unit"
    assert field_of("Purpose") == "description"
    assert field_of("start.lat") == "start.lat"
    assert field_of("sync_state") == ""  # trip list --json's own: left alone
    assert field_of("Odometer") is None


@pytest.mark.parametrize(
    ("cells", "why"),
    [
        (["date", "distance", "Odometer"], "unknown column 'Odometer'"),
        (["date", "unit"], "no 'distance' column"),
        (["distance", "description"], "no 'date'"),
        (["date", "distance", "Distance"], "two columns hold 'distance'"),
    ],
)
def test_a_bad_header_is_refused_naming_the_column(cells: list[str], why: str) -> None:
    with pytest.raises(InvalidInputError, match=why) as err:
        read_header(cells)
    assert err.value.field == "header"


def test_map_renames_or_leaves_out_columns() -> None:
    columns = read_header(
        ["Day", "Miles", "Odometer"], {"day": "date", "Miles": "distance", "Odometer": ""}
    )
    assert columns.fields == ("date", "distance", None)
    assert columns.ignored == ("Odometer",)
    assert columns.column_of("distance") == "Miles"
    with pytest.raises(InvalidInputError, match="'speed' is not a field"):
        read_header(["Day"], {"Day": "speed"})


def test_cells_become_the_data_of_one_trip() -> None:
    names = [
        "date",
        "distance",
        "unit",
        "classification",
        "description",
        "start_time",
        "end_time",
        "start.lat",
        "start.lng",
        "start.address.city",
        "class_segment_ids",
        "custom_data",
        "notes",
    ]
    cells = [
        "2026-03-01",
        " 12.50 ",
        "Miles",
        "Business",
        " =SUM(A1:A9) ",
        "2026-03-01T08:00",
        "2026-03-01T09:00:00+00:00",
        "52.52",
        "13.4",
        "Berlin",
        '["seg_1"]',
        '{"k": 1}',
        "",
    ]

    data = trip_data(cells, read_header(names), BERLIN, {"notes": "default", "car_id": "c1"})

    assert data == {
        "date": date(2026, 3, 1),
        "distance": Decimal("12.50"),
        "unit": "mile",
        "classification": "business",
        "description": " =SUM(A1:A9) ",  # text as written: never evaluated, never trimmed
        "start_time": datetime(2026, 3, 1, 8, tzinfo=BERLIN),  # no offset: the zone's
        "end_time": datetime(2026, 3, 1, 9, tzinfo=UTC),
        "start": {"lat": Decimal("52.52"), "lng": Decimal("13.4"), "address": {"city": "Berlin"}},
        "class_segment_ids": ["seg_1"],
        "custom_data": {"k": 1},
        "notes": "default",  # an empty cell takes the default
        "car_id": "c1",
    }


@pytest.mark.parametrize(
    ("name", "cell", "field", "why"),
    [
        ("date", "03/01/2026", "date", "not a date as YYYY-MM-DD"),
        ("distance", "12,5", "distance", "a dot for decimals"),
        ("start_time", "8am", "start_time", "not an ISO-8601 time"),
        ("custom_data", "{k: 1}", "custom_data", "is not JSON"),
    ],
)
def test_a_cell_that_cannot_be_read_names_its_field(
    name: str, cell: str, field: str, why: str
) -> None:
    names = ["date", "distance", *([name] if name not in ("date", "distance") else [])]
    cells = ["2026-03-01", "1", ""][: len(names)]
    cells[names.index(name)] = cell
    with pytest.raises(InvalidInputError, match=why) as err:
        trip_data(cells, read_header(names), BERLIN, {})
    assert err.value.field == field


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "\ufeffDate,Distance,Description\r\n"  # Excel's CSV UTF-8: a BOM, CRLF
        "2026-03-01,1,one\r\n"
        '2026-03-02,2,"two\r\nlines"\r\n'
        "\r\n"
        ",,\r\n"
        "2026-03-05,5,five,extra\r\n"
        "2026-03-06,x,six\r\n"
        "2026-03-07,7\r\n",
    )

    rows = _rows(path)

    assert [(r.row if isinstance(r, RowError) else r.number) for r in rows] == [2, 3, 6, 7, 8]
    assert isinstance(rows[1], TripRow) and rows[1].data["description"] == "two\r\nlines"
    assert rows[2] == RowError(6, "row", "has 4 cells; the header names 3 columns")
    assert isinstance(rows[3], RowError) and rows[3].field == "distance"
    assert isinstance(rows[4], TripRow) and "description" not in rows[4].data  # short row


def test_import_keys_are_the_digest_and_the_row(tmp_path: Path) -> None:
    path = _file(tmp_path, "date,distance\n2026-03-01,1\n")
    source = CsvTrips(path, BERLIN)
    digest = source.digest()
    (row,) = source.rows(f"csv:{digest}:")
    assert isinstance(row, TripRow) and row.import_key == f"csv:{digest}:2"
    assert len(digest) == 64


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "is empty"),
        (b"date,distance\n2026-03-01,1\n2026-03-02,\xff\n", "row 3 is not UTF-8 text"),
        (b'date,distance\n2026-03-01,"' + b"x" * 200_000 + b'"\n', "row 2 is not CSV"),
    ],
)
def test_a_file_that_is_not_utf8_csv_is_refused_naming_the_row(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = _file(tmp_path, content)
    with pytest.raises(InvalidInputError, match=why):
        CsvTrips(path, BERLIN).header()
        _rows(path)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read"):
        CsvTrips(tmp_path / "nope.csv", BERLIN).header()

"""Plain tables (what a pipe or a file gets): aligned, one line per row, escaped."""

from __future__ import annotations

from sync.cli.output import plain_table


def test_columns_are_aligned_on_the_widest_cell_and_rows_stay_one_line() -> None:
    text = plain_table(
        "2 trips",
        ["id", "description"],
        [("abc", "line one\nline two"), ("abcdefgh", "\x1b[31mred")],
    )
    assert text.splitlines() == [
        "2 trips",
        "id        description",
        "abc       line one\\x0aline two",
        "abcdefgh  \\x1b[31mred",
    ]


def test_wide_characters_count_double_and_no_title_prints_no_line() -> None:
    text = plain_table("", ["place", "km"], [("東京", "3"), ("Bonn", "12")])
    assert text.splitlines() == ["place  km", "東京   3", "Bonn   12"]


def test_durations_read_like_speech() -> None:
    from sync.cli.output import duration

    assert [duration(ms) for ms in (None, 12_400, 1_885_000, 3_725_000)] == [
        "-",
        "12 s",
        "31 min 25 s",
        "1 h 02 min",
    ]


def test_instants_are_utc_z_in_json_and_local_with_their_zone_in_tables() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from sync.cli.output import instant, local_time

    at = datetime(2026, 7, 1, 6, 20, 1, 567000, tzinfo=UTC)
    assert instant(at) == "2026-07-01T06:20:01.567000Z"
    assert local_time(at, ZoneInfo("Europe/Berlin")) == "2026-07-01 08:20:01 CEST"
    assert local_time(None, ZoneInfo("UTC")) == "-"

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

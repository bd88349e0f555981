"""Errors name the flags a person typed, not the model's fields."""

from __future__ import annotations

from sync.cli.wording import in_flags
from tracker.errors import InvalidInputError


def test_fields_become_flags_in_the_field_and_in_our_own_reasons() -> None:
    assert in_flags(InvalidInputError("input", "give a date or a start_time")) == (
        "invalid input: give a --date or a --start-time"
    )
    assert in_flags(InvalidInputError("input", "end_time must be after start_time")) == (
        "invalid input: --end-time must be after --start-time"
    )
    assert in_flags(InvalidInputError("start.lat", "Input should be <= 90")) == (
        "invalid --lat: Input should be <= 90"
    )


def test_a_validators_words_are_left_alone_and_unknown_fields_kept() -> None:
    # "date" in pydantic's sentence is a word, not the field.
    assert in_flags(InvalidInputError("date", "Input should be a valid date")) == (
        "invalid --date: Input should be a valid date"
    )
    assert in_flags(InvalidInputError("gpx.trk[0]", "has no track points")) == (
        "invalid gpx.trk[0]: has no track points"
    )
    assert in_flags(InvalidInputError("car_id", "no car with id 'zz'")) == (
        "invalid --car: no car with id 'zz'"
    )

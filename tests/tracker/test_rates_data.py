"""Rate schedule files: the shipped ones load and cite their sources; a user's file with a
mistake is refused with a typed error naming the file and the entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.rates import schedule_toml
from tracker.errors import RateScheduleError, TrackerError
from tracker.rates import load_schedules, parse_schedules, shipped_schedules

GOOD = schedule_toml("acme", "per-trip", "EUR", "km", '[{ rate = "0.30" }]')


def test_the_shipped_schedules_load_and_cite_an_official_page() -> None:
    schedules = shipped_schedules()
    assert [s.id for s in schedules] == ["ca-cra", "uk-hmrc", "us-irs"]
    official = re.compile(r"^https://(www\.irs\.gov|www\.gov\.uk|lois\.justice\.gc\.ca)/")
    for schedule in schedules:
        assert schedule.rounding_note and schedule.tax_year_note, schedule.id
        for rate in schedule.rates:
            assert rate.source and official.match(rate.source), (schedule.id, rate)


def test_the_docs_page_lists_every_shipped_rate() -> None:
    page = (Path(__file__).parents[2] / "docs" / "tax-rates.md").read_text(encoding="utf-8")
    for schedule in shipped_schedules():
        assert f"`{schedule.id}`" in page
        for rate in schedule.rates:
            assert rate.source in page, rate.source


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> RateScheduleError:
    path = write(tmp_path, text)
    with pytest.raises(RateScheduleError) as caught:
        load_schedules(path)
    error = caught.value
    assert isinstance(error, TrackerError) and isinstance(error, ValueError)
    assert error.path == str(path) and str(path) in str(error)
    assert str(error).endswith("fix it and try again")
    return error


def test_a_good_custom_file_loads(tmp_path: Path) -> None:
    assert load_schedules(write(tmp_path, GOOD))["acme"].currency == "EUR"


@pytest.mark.parametrize(
    ("change", "entry", "reason"),
    [
        (
            ("valid_from = 2025-01-01", "valid_form = 2025-01-01"),
            "schedules[0] (acme).rates[0].valid_form",
            "unknown field 'valid_form' (did you mean 'valid_from'?)",
        ),
        (
            ('rate = "0.30"', "rate = 0.30"),
            "schedules[0] (acme).rates[0].tiers[0].rate",
            'write 0.3 as a string ("0.3"), floats are not exact',
        ),
        (
            ("valid_to = 2025-12-31", "valid_to = 2024-12-31"),
            "schedules[0] (acme).rates[0]",
            "valid_to 2024-12-31 is before valid_from 2025-01-01",
        ),
        (
            ('vehicle = "car"', 'vehicle = "truck"'),
            "schedules[0] (acme).rates[0].vehicle",
            "Input should be 'car', 'motorcycle', 'bicycle' or 'other-motor'",
        ),
        (
            ('currency = "EUR"', 'currency = "euro"'),
            "schedules[0] (acme).rates[0].currency",
            "String should match pattern '^[A-Z]{3}$'",
        ),
        (
            ('tiers = [{ rate = "0.30" }]', 'tiers = [{ rate = "0.30" }, { rate = "0.2" }]'),
            "schedules[0] (acme).rates[0]",
            "every tier but the last needs an up_to",
        ),
        (
            ('tiers = [{ rate = "0.30" }]', 'tiers = [{ up_to = 10, rate = "0.30" }]'),
            "schedules[0] (acme).rates[0]",
            "the last tier must have no up_to (it covers the rest)",
        ),
        (
            ('rounding = "per-trip"\n', ""),
            "schedules[0] (acme).rounding",
            "is missing",
        ),
    ],
)
def test_a_mistake_names_the_entry(
    tmp_path: Path, change: tuple[str, str], entry: str, reason: str
) -> None:
    old, new = change
    assert old in GOOD
    error = refusal(tmp_path, GOOD.replace(old, new, 1))
    assert (error.entry, error.reason) == (entry, reason)


def test_overlapping_rates_and_mixed_currencies_are_refused(tmp_path: Path) -> None:
    rate = GOOD[GOOD.index("[[schedules.rates]]") :]
    twice = GOOD + rate.replace("2025-01-01", "2025-06-01").replace("2025-12-31", "2026-05-31")
    error = refusal(tmp_path, twice)
    assert error.entry == "schedules[0] (acme)"
    assert error.reason == "rates[0] and rates[1] both cover car business from 2025-06-01"
    mixed = GOOD + rate.replace("2025", "2026").replace('"EUR"', '"CHF"')
    assert (
        refusal(tmp_path, mixed).reason == "rates mix currencies ['CHF', 'EUR']: one per schedule"
    )


def test_several_mistakes_are_counted(tmp_path: Path) -> None:
    # valid_form is one mistake (not also "valid_from is missing"); the missing purpose another.
    text = GOOD.replace("valid_from", "valid_form").replace('purpose = "business"', "")
    assert refusal(tmp_path, text).reason.endswith("(and 1 more problem in this file)")


def test_an_id_used_twice_is_refused(tmp_path: Path) -> None:
    error = refusal(tmp_path, GOOD.replace('id = "acme"', 'id = "us-irs"'))
    assert error.reason == (
        "id 'us-irs' is already used by a shipped schedule; give this schedule another id"
    )


def test_a_file_that_is_not_toml_or_not_there(tmp_path: Path) -> None:
    error = refusal(tmp_path, GOOD.replace('id = "acme"', "id = acme"))
    assert error.entry == "" and error.reason.startswith("is not valid TOML (")
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(RateScheduleError, match=r"nowhere.toml: cannot be read \("):
        load_schedules(missing)
    assert refusal(tmp_path, "schedules = []").reason.startswith("Tuple should have at least 1")


def test_parse_names_what_it_was_given() -> None:
    with pytest.raises(RateScheduleError, match=r"^rate schedule \(pasted\): is not valid TOML"):
        parse_schedules("[[", "(pasted)")

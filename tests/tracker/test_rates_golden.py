"""Golden tests: amounts worked out by hand (the arithmetic is in the comments) against what
``tracker.rates.compute`` gives, for the shipped schedules and a custom one."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.rates import schedule_toml
from tracker.enums import DistanceUnit
from tracker.errors import InvalidInputError, NoRateError
from tracker.rates import (
    KM_PER_MILE,
    RateTrip,
    Rounding,
    Schedule,
    TaxYearRule,
    VehicleKind,
    compute,
    convert,
    load_schedules,
    tax_year_of,
)

KM, MILE = DistanceUnit.KM, DistanceUnit.MILE
D = Decimal


@pytest.fixture(scope="module")
def shipped() -> dict[str, Schedule]:
    return load_schedules()


def trip(key: str, day: str, distance: str, unit: DistanceUnit = MILE, **kw: str) -> RateTrip:
    extra = {"vehicle": VehicleKind(kw["vehicle"])} if "vehicle" in kw else {}
    purpose = {"purpose": kw["purpose"]} if "purpose" in kw else {}
    return RateTrip(key, date.fromisoformat(day), D(distance), unit, **extra, **purpose)


def test_us_2022_crosses_the_july_first_change(shipped: dict[str, Schedule]) -> None:
    amounts = compute(
        shipped["us-irs"],
        [
            trip("a", "2022-06-15", "120"),  # 120 x 0.585 = 70.20
            trip("b", "2022-06-30", "45.5"),  # 45.5 x 0.585 = 26.6175 (last day at 58.5 c)
            trip("c", "2022-07-01", "80"),  # 80 x 0.625 = 50.00 (first day at 62.5 c)
            trip("e", "2022-08-01", "50", purpose="personal"),  # paid nothing, counted nowhere
            trip("m", "2022-08-02", "10", purpose="medical"),  # 10 x 0.22 = 2.20
            trip("d", "2022-12-31", "33.3"),  # 33.3 x 0.625 = 20.8125
        ],
    )
    assert [amounts.trip(k).exact for k in "abcd"] == [
        Fraction("70.20"),
        Fraction("26.6175"),
        Fraction("50"),
        Fraction("20.8125"),
    ]
    assert amounts.trip("e").exact == 0 and amounts.trip("e").pieces == ()
    # IRS: per-total. 70.20 + 26.6175 + 50 + 20.8125 = 167.63 exactly; rounded once: 167.63.
    assert amounts.rounding is Rounding.PER_TOTAL
    assert amounts.trip("a").amount is None
    assert amounts.total("2022").amount == D("167.63")
    assert amounts.total("2022", "medical").amount == D("2.20")
    assert [(t.tax_year.label, t.purpose) for t in amounts.totals] == [
        ("2022", "business"),
        ("2022", "medical"),
    ]


def test_uk_boundary_of_10000_miles_falls_inside_one_trip(shipped: dict[str, Schedule]) -> None:
    amounts = compute(
        shipped["uk-hmrc"],
        [
            trip("t1", "2023-04-06", "6000"),  # first day of 2023-24: 6000 x 0.45 = 2700.00
            trip("t2", "2023-10-01", "3900.5"),  # 3900.5 x 0.45 = 1755.225; counted 9900.5
            trip("moto", "2023-10-02", "100", vehicle="motorcycle"),  # 100 x 0.24 = 24.00
            # crosses 10,000: 99.5 x 0.45 = 44.775 and 150.5 x 0.25 = 37.625, i.e. 82.40
            trip("t3", "2024-01-15", "250"),
            trip("t4", "2024-04-05", "100"),  # last day of 2023-24: 100 x 0.25 = 25.00
            trip("t5", "2024-04-06", "100"),  # 2024-25 counts from 0: 100 x 0.45 = 45.00
        ],
    )
    t3 = amounts.trip("t3")
    assert t3.counted_before == Fraction("9900.5")  # the motorcycle counts for its own kind
    assert [(p.distance, p.rate, p.amount) for p in t3.pieces] == [
        (Fraction("99.5"), D("0.45"), Fraction("44.775")),
        (Fraction("150.5"), D("0.25"), Fraction("37.625")),
    ]
    assert amounts.trip("t4").pieces[0].rate == D("0.25")
    assert amounts.trip("moto").exact == 24
    # 2700 + 1755.225 + 82.40 + 25 = 4562.625, rounded once half up: 4562.63 (cars);
    # the motorcycle's 24.00 is in the same business total: 4586.625 -> 4586.63.
    assert amounts.total("2023-24").exact == Fraction("4586.625")
    assert amounts.total("2023-24").amount == D("4586.63")
    assert amounts.trip("t5").counted_before == 0
    assert amounts.total("2024-25").amount == D("45.00")


def test_uk_rates_from_6_april_2026_are_not_shipped(shipped: dict[str, Schedule]) -> None:
    # 5 April 2026 is the last day of a confirmed year; the next tax year is left out.
    last = compute(shipped["uk-hmrc"], [trip("x", "2026-04-05", "10")])
    assert last.total("2025-26").amount == D("4.50")
    with pytest.raises(NoRateError, match=r"trip y \(car business on 2026-04-06\)"):
        compute(shipped["uk-hmrc"], [trip("y", "2026-04-06", "10")])


def test_canada_2023_across_5000_km_with_a_mile_trip(shipped: dict[str, Schedule]) -> None:
    amounts = compute(
        shipped["ca-cra"],
        [
            trip("c1", "2023-01-10", "3000", KM),  # 3000 x 0.68 = 2040.00
            trip("c2", "2023-05-20", "2500", KM),  # 2000 x 0.68 + 500 x 0.62 = 1670.00
            trip("c3", "2023-11-30", "123.4", KM),  # 123.4 x 0.62 = 76.508
            trip("c4", "2023-12-01", "10", MILE),  # 16.09344 km x 0.62 = 9.9779328
        ],
    )
    assert [(p.distance, p.rate) for p in amounts.trip("c2").pieces] == [
        (Fraction(2000), D("0.68")),
        (Fraction(500), D("0.62")),
    ]
    assert amounts.trip("c4").distance == Fraction("16.09344")
    # s. 7306 as written: 62 c x 5639.49344 km + 6 c x 5000 = 3496.4859328 + 300
    # = 3796.4859328, the same as 2040 + 1670 + 76.508 + 9.9779328; rounded: 3796.49.
    assert amounts.total("2023").exact == Fraction("3796.4859328")
    assert amounts.total("2023").amount == D("3796.49")


def test_km_trips_under_a_per_mile_rate(shipped: dict[str, Schedule], tmp_path: Path) -> None:
    # The example: 10 km at 70 c/mile = 10 / 1.609344 x 0.70 = 4.34959834... -> 4.35.
    path = tmp_path / "seventy.toml"
    path.write_text(schedule_toml("seventy", "per-trip", "USD", "mile", '[{ rate = "0.70" }]'))
    amounts = compute(load_schedules(path)["seventy"], [trip("k", "2025-03-01", "10", KM)])
    assert amounts.trip("k").exact == Fraction(7) / KM_PER_MILE
    assert amounts.trip("k").amount == D("4.35")
    # And under the shipped IRS 2023 rate: 10 / 1.609344 x 0.655 = 4.06996... -> 4.07.
    irs = compute(shipped["us-irs"], [trip("k", "2023-03-01", "10", KM)])
    assert irs.total("2023").amount == D("4.07")


def test_a_custom_schedule(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    tiers = '[{ up_to = 1000, rate = "0.35" }, { rate = "0.20" }]'
    path.write_text(schedule_toml("acme", "per-trip", "EUR", "km", tiers))
    schedules = load_schedules(path)
    assert {"us-irs", "uk-hmrc", "ca-cra", "acme"} <= set(schedules)
    amounts = compute(
        schedules["acme"],
        [
            trip("p", "2025-02-01", "600", KM),  # 600 x 0.35 = 210.00
            trip("q", "2025-03-01", "450.55", KM),  # 400 x 0.35 + 50.55 x 0.20 = 150.11
            trip("r", "2025-04-01", "12.345", KM),  # 12.345 x 0.20 = 2.469 -> 2.47
            trip("s", "2025-05-01", "1", MILE),  # 1.609344 x 0.20 = 0.3218688 -> 0.32
        ],
    )
    assert [amounts.trip(k).amount for k in "pqrs"] == [
        D("210.00"),
        D("150.11"),
        D("2.47"),
        D("0.32"),
    ]
    # per-trip: the total adds the rounded amounts: 210.00 + 150.11 + 2.47 + 0.32 = 362.90.
    assert amounts.total("2025").amount == D("362.90")


def test_rounding_once_per_trip_or_per_total(tmp_path: Path) -> None:
    # Three trips of 1 mile at 0.585: per trip 0.585 -> 0.59 each, 1.77 in all; per total
    # 1.755 -> 1.76. The rule is the schedule's, and a caller may ask for the other.
    path = tmp_path / "r.toml"
    path.write_text(schedule_toml("r", "per-trip", "USD", "mile", '[{ rate = "0.585" }]'))
    schedule = load_schedules(path)["r"]
    trips = [trip(k, "2025-06-01", "1") for k in "xyz"]
    assert compute(schedule, trips).total("2025").amount == D("1.77")
    per_total = compute(schedule, trips, rounding=Rounding.PER_TOTAL)
    assert per_total.total("2025").amount == D("1.76")
    assert per_total.trip("x").amount is None


def test_editing_an_earlier_trip_moves_a_later_one_across_the_tier(
    shipped: dict[str, Schedule],
) -> None:
    later = trip("later", "2023-12-01", "500")
    before = compute(shipped["uk-hmrc"], [trip("early", "2023-05-01", "9000"), later])
    # 9000 counted: the later 500 miles stay under 10,000: 500 x 0.45 = 225.00
    assert before.trip("later").exact == Fraction(225)
    edited = compute(shipped["uk-hmrc"], [later, trip("early", "2023-05-01", "9800")])
    # 9800 counted (trip order is by day, whatever the list order): 200 x 0.45 = 90 and
    # 300 x 0.25 = 75, i.e. 165.00
    assert [p.distance for p in edited.trip("later").pieces] == [200, 300]
    assert edited.trip("later").exact == Fraction(165)
    assert edited.total("2023-24").amount == D("4575.00")  # 9800 x 0.45 + 165 = 4575
    assert edited.changed_since(before) == ("early", "later")
    again = compute(shipped["uk-hmrc"], [trip("early", "2023-05-01", "9000"), later])
    assert again.changed_since(before) == ()


def test_a_trip_no_rate_covers_is_an_error_naming_it(shipped: dict[str, Schedule]) -> None:
    with pytest.raises(NoRateError) as caught:
        compute(shipped["us-irs"], [trip("t-2024", "2024-02-01", "12")])
    assert caught.value.trip == "t-2024"
    assert "us-irs" in str(caught.value) and "TRACKER_RATE_SCHEDULES" in str(caught.value)
    with pytest.raises(NoRateError):  # no bicycle rate is shipped for the UK
        compute(shipped["uk-hmrc"], [trip("b", "2023-06-01", "3", vehicle="bicycle")])
    with pytest.raises(InvalidInputError):
        compute(shipped["us-irs"], [trip("n", "2023-02-01", "-1")])


def test_tax_years() -> None:
    uk, cal = TaxYearRule.UK, TaxYearRule.CALENDAR
    assert tax_year_of(uk, date(2024, 4, 5)).label == "2023-24"
    assert tax_year_of(uk, date(2024, 4, 6)).label == "2024-25"
    assert tax_year_of(uk, date(1999, 12, 31)).label == "1999-00"
    assert tax_year_of(uk, date(2024, 1, 1)).start == date(2023, 4, 6)
    assert tax_year_of(cal, date(2024, 4, 5)) == tax_year_of(cal, date(2024, 12, 31))


def test_units_convert_exactly() -> None:
    assert convert(D("1"), MILE, KM) == Fraction("1.609344")
    assert convert(D("1.609344"), KM, MILE) == 1
    assert convert(D("10"), KM, KM) == 10
    assert convert(convert(D("123.456"), KM, MILE), MILE, KM) == Fraction("123.456")


def test_the_docs_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    page = (Path(__file__).parents[2] / "docs" / "tax-rates.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"^```python\n(.*?)^```", page, re.MULTILINE | re.DOTALL)
    exec(compile(code, "docs/tax-rates.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "[('200', '0.45'), ('300', '0.25')]",
        "4575.00",
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.decimals("0", "4000", places=2), max_size=12))
def test_any_split_of_a_year_pays_what_the_year_s_miles_do(distances: list[Decimal]) -> None:
    # HMRC's rule on the year's miles S: 0.45 x min(S, 10000) + 0.25 x max(S - 10000, 0),
    # however S is cut into trips.
    schedule = load_schedules()["uk-hmrc"]
    trips = [trip(f"t{i}", "2024-01-01", str(d)) for i, d in enumerate(distances)]
    total = Fraction(sum(distances, Decimal(0)))
    expected = Fraction("0.45") * min(total, 10000) + Fraction("0.25") * max(total - 10000, 0)
    amounts = compute(schedule, trips)
    assert sum((t.exact for t in amounts.trips), Fraction(0)) == expected
    assert all(t.distance == Fraction(d) for t, d in zip(amounts.trips, distances, strict=True))

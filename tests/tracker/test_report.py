"""The mileage log (tracker.report): golden figures worked out by hand, on real SQLite files.

Amounts are per trip, rounded once per trip, as the deduction sent to Tight is
(tests/sync/test_report_wire.py holds the two together over HTTP)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers.rates import schedule_toml
from tests.helpers.store import BOTH_BACKENDS
from tracker.costs.inputs import CostIn
from tracker.errors import (
    InvalidInputError,
    NoRateError,
    NoRatesInPeriodError,
    UnknownScheduleError,
)
from tracker.rates import load_schedules
from tracker.report import ReportData, ReportRow, render, report_period, resolve_schedule
from tracker.report.build import place_text
from tracker.report.recorded import lag_text, recorded
from tracker.store import Tracker

D = Decimal


def add(
    store: Tracker, day: str, distance: str, unit: str = "mile", cls: str = "business", **more: str
) -> str:
    return store.trips.add(
        {"date": day, "distance": distance, "unit": unit, "classification": cls, **more}
    ).id


def amounts(data: ReportData, ids: dict[str, str]) -> dict[str, Decimal | None]:
    by_id = {row.trip_id: row.amount for row in [*data.rows, *data.to_classify]}
    return {name: by_id.get(trip_id) for name, trip_id in ids.items()}


@BOTH_BACKENDS
def test_us_2022_crosses_the_mid_year_change(store: Tracker) -> None:
    ids = {
        "june": add(store, "2022-06-30", "100"),  # 100 mi x 0.585 = 58.50
        "july": add(store, "2022-07-01", "100"),  # 100 mi x 0.625 = 62.50
        "km": add(store, "2022-12-31", "10", "km"),  # 10 / 1.609344 x 0.625 = 3.8835.. -> 3.88
        "personal": add(store, "2022-08-01", "50", cls="personal"),
    }
    data = store.report(jurisdiction="us-irs", year=2022).collect()
    assert amounts(data, ids) == {
        "june": D("58.50"),
        "july": D("62.50"),
        "km": D("3.88"),
        "personal": D("0.00"),
    }
    rates = {row.trip_id: row.rate for row in data.rows}
    assert rates[ids["june"]][0][1] == D("0.585") and rates[ids["july"]][0][1] == D("0.625")
    t = data.totals
    # 200 mi + 6.2137.. mi business; the year's total rounded once (per-total):
    # 58.5 + 62.5 + 3.88350.. = 124.8835.. -> 124.88.
    assert t.business_distance == D("206.214")
    assert t.personal_distance == D("50.000")
    assert t.total_distance == D("256.214")
    assert t.deduction == D("124.88") and t.deduction_rows == D("124.88")
    assert t.business_share == D("80.49")  # 206.2137 / 256.2137
    assert t.grand_total == D("124.88")
    assert data.head.currency == "USD" and data.head.unit == "mile"


@BOTH_BACKENDS
def test_uk_year_from_6_april_with_the_10000_mile_boundary_inside_one_trip(store: Tracker) -> None:
    ids = {
        "old_year": add(store, "2025-04-05", "500"),  # 2024-25: not in the 2025 report
        "first": add(store, "2025-04-06", "9900"),  # 9,900 x 0.45 = 4,455.00
        "crossing": add(store, "2025-05-01", "300"),  # 100 x 0.45 + 200 x 0.25 = 95.00
        "km": add(store, "2025-06-01", "100", "km"),  # 62.137.. mi x 0.25 = 15.534.. -> 15.53
        "last_day": add(store, "2026-04-05", "1"),  # still 2025-26: 0.25
    }
    # 2026-04-05 is covered (the shipped rates stop there): the report of "2025" is 2025-26.
    data = store.report(jurisdiction="uk-hmrc", year=2025).collect()
    period = data.head.period
    assert (period.start, period.end) == (dt.date(2025, 4, 6), dt.date(2026, 4, 5))
    got = amounts(data, ids)
    assert got == {
        "old_year": None,
        "first": D("4455.00"),
        "crossing": D("95.00"),
        "km": D("15.53"),
        "last_day": D("0.25"),
    }
    crossing = next(r for r in data.rows if r.trip_id == ids["crossing"])
    assert crossing.rate == ((D("100.000"), D("0.45")), (D("200.000"), D("0.25")))
    # The year's total rounded once: 4455 + 95 + 15.5343.. + 0.25 = 4565.7843.. -> 4565.78.
    assert data.totals.deduction == D("4565.78")


@BOTH_BACKENDS
def test_canada_2023_across_5000_km(store: Tracker) -> None:
    ids = {
        "first": add(store, "2023-03-01", "4990", "km"),  # 4,990 x 0.68 = 3,393.20
        "crossing": add(store, "2023-03-02", "20", "km"),  # 10 x 0.68 + 10 x 0.62 = 13.00
        "miles": add(store, "2023-03-03", "10"),  # 16.09344 km x 0.62 = 9.977.. -> 9.98
    }
    data = store.report(jurisdiction="ca-cra", year=2023).collect()
    assert amounts(data, ids) == {"first": D("3393.20"), "crossing": D("13.00"), "miles": D("9.98")}
    assert data.head.unit == "km"
    assert data.totals.business_distance == D("5026.093")  # 5,010 + 16.09344
    # 3393.2 + 13 + 9.9779328 = 3416.1779.. -> 3416.18
    assert data.totals.deduction == D("3416.18")


@BOTH_BACKENDS
def test_km_trips_under_a_per_mile_rate_are_converted_exactly(store: Tracker) -> None:
    ids = {"km": add(store, "2023-05-01", "10", "km")}  # 10 / 1.609344 x 0.655 = 4.0700.. -> 4.07
    data = store.report(jurisdiction="us-irs", year=2023).collect()
    assert amounts(data, ids) == {"km": D("4.07")}
    assert data.rows[0].distance == D("10") and data.rows[0].unit == "km"
    assert data.totals.business_distance == D("6.214")


@BOTH_BACKENDS
def test_a_custom_schedule_from_the_users_file(store: Tracker, tmp_path: Path) -> None:
    rates = tmp_path / "rates.toml"
    tiers = '[{ up_to = 1000, rate = "0.35" }, { rate = "0.20" }]'
    rates.write_text(schedule_toml("acme", "per-trip", "EUR", "km", tiers))
    ids = {
        "a": add(store, "2025-02-01", "990", "km"),  # 990 x 0.35 = 346.50
        "b": add(store, "2025-02-02", "20", "km"),  # 10 x 0.35 + 10 x 0.20 = 5.50
        "c": add(store, "2025-02-03", "1", "mile"),  # 1.609344 x 0.20 = 0.3218.. -> 0.32
    }
    data = store.report(jurisdiction="acme", year=2025, rate_file=rates).collect()
    assert amounts(data, ids) == {"a": D("346.50"), "b": D("5.50"), "c": D("0.32")}
    assert data.totals.deduction == D("352.32")  # per-trip: the rounded amounts added
    assert data.head.currency == "EUR"


@BOTH_BACKENDS
def test_unclassified_trips_are_listed_apart_and_never_guessed(store: Tracker) -> None:
    business = add(store, "2023-01-10", "10")
    unknown = add(store, "2023-01-11", "30", cls="unclassified")
    data = store.report(jurisdiction="us-irs", year=2023).collect()
    assert [r.trip_id for r in data.rows] == [business]
    assert [r.trip_id for r in data.to_classify] == [unknown]
    apart = data.to_classify[0]
    assert apart.amount is None and apart.rate == () and apart.to_classify
    t = data.totals
    assert (t.trips, t.to_classify) == (1, 1)
    assert t.to_classify_distance == D("30.000") and t.total_distance == D("40.000")
    assert t.business_share == D("25.00")  # the unknown 30 miles are not taken as business
    assert t.deduction == D("6.55")  # 10 x 0.655: the unclassified trip adds nothing


@BOTH_BACKENDS
def test_filters_keep_each_trips_amount_of_the_whole_year(store: Tracker) -> None:
    """A filtered report leaves trips out, never their distance out of the tier position."""
    car = store.cars.add({"name": "van"}).id
    ids = {
        "other": add(store, "2025-04-10", "9900"),  # another car, another customer
        "mine": add(store, "2025-05-01", "300", car_id=car, customer_id="cust-1"),
        "late": add(store, "2025-09-01", "100", car_id=car, customer_id="cust-1"),
    }
    full = amounts(store.report(jurisdiction="uk-hmrc", year=2025).collect(), ids)
    assert full == {"other": D("4455.00"), "mine": D("95.00"), "late": D("25.00")}
    for narrowed in (
        store.report(jurisdiction="uk-hmrc", year=2025, car=car[:8]),
        store.report(jurisdiction="uk-hmrc", year=2025, customer="cust-1"),
        store.report(jurisdiction="uk-hmrc", year=2025, start="2025-05-01", end="2025-12-31"),
    ):
        data = narrowed.collect()
        assert amounts(data, ids) == {**full, "other": None}
        assert data.totals.deduction == D("120.00")
        assert data.totals.business_distance == D("400.000")
    may = store.report(jurisdiction="uk-hmrc", start="2025-05-01", end="2025-05-31").collect()
    assert amounts(may, ids) == {"other": None, "mine": D("95.00"), "late": None}
    assert may.head.period.tax_year.label == "2025-26"


@BOTH_BACKENDS
def test_deductible_linked_costs_count_for_business_trips_only(store: Tracker) -> None:
    business = add(store, "2026-01-10", "10", "km")
    personal = add(store, "2026-01-11", "10", "km", cls="personal")
    for cost_id, trip, labels, amount, currency in (
        (1, business, {"en": "Toll"}, "4.20", "CAD"),
        (2, business, {"en": "Parking"}, "-1.00", "CAD"),  # a refund counts too
        (3, business, {"en": "Speed Fine"}, "50.00", "CAD"),  # never deductible
        (4, business, {"en": "Fuel"}, "30.00", "CAD"),  # inside the rate
        (5, business, {"en": "Toll"}, "2.00", "EUR"),  # another currency: not added
        (6, personal, {"en": "Toll"}, "9.00", "CAD"),  # a personal trip's
    ):
        stored = store.costs.store_cost(
            CostIn(
                id=cost_id,
                last_updated=dt.datetime(2026, 1, 20, tzinfo=dt.UTC),
                amount=D(amount),
                currency=currency,
                trip_guid=trip,
                labels=labels,
                raw={},
            ),
            link_tolerance=dt.timedelta(minutes=5),
        )
        assert not stored.refused
    rates = load_schedules()
    custom = rates["ca-cra"].model_copy(
        update={
            "id": "ca-2026",
            "rates": tuple(
                r.model_copy(
                    update={"valid_from": dt.date(2026, 1, 1), "valid_to": dt.date(2026, 12, 31)}
                )
                for r in rates["ca-cra"].rates
            ),
        }
    )
    data = store.report(
        jurisdiction="ca-2026", year=2026, schedules={**rates, "ca-2026": custom}
    ).collect()
    rows = {r.trip_id: r for r in data.rows}
    assert rows[business].costs == (("CAD", D("3.20")), ("EUR", D("2.00")))
    assert rows[personal].costs == ()
    t = data.totals
    assert t.deductible_costs == D("3.20") and t.other_costs == (("EUR", D("2.00")),)
    assert t.deduction == D("6.80")  # 10 km x 0.68
    assert t.grand_total == D("10.00")


@BOTH_BACKENDS
def test_the_odometer_at_the_start_and_end_of_the_period_and_its_warning(store: Tracker) -> None:
    car = store.cars.add({"name": "estate"}).id
    store.cars.record_odometer(car, "2022-01-01", "10000", "mile")
    store.cars.record_odometer(car, "2022-12-31", "10100", "mile")
    add(store, "2022-03-01", "150", car_id=car)  # 150 miles, the odometer shows 100
    data = store.report(jurisdiction="us-irs", year=2022).collect()
    (line,) = data.totals.odometer
    assert line.car_id == car
    assert line.start == (dt.date(2022, 1, 1), D("10000"), "mile")
    assert line.end == (dt.date(2022, 12, 31), D("10100"), "mile")
    assert line.driven == D("100")
    assert line.warning is not None and "150 mile" in line.warning


@BOTH_BACKENDS
def test_recorded_says_how_and_how_long_after_the_trip(store: Tracker, tmp_path: Path) -> None:
    rates = tmp_path / "rates.toml"
    rates.write_text(schedule_toml("acme", "per-trip", "EUR", "km", '[{ rate = "0.30" }]'))
    # The store's clock is 2026-03-10 07:00 UTC; the trip ended by 2025-03-01 24:00 Berlin
    # (23:00 UTC): 373 days and 8 hours before.
    trip = add(store, "2025-03-01", "10", "km")
    (row,) = store.report(jurisdiction="acme", year=2025, rate_file=rates).collect().rows
    assert row.trip_id == trip
    assert (row.recorded_how, row.recorded_after) == ("entered by hand", "373 days later")
    assert row.recorded_at == dt.datetime(2026, 3, 10, 7, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("source", "origin", "key", "said", "how"),
    [
        ("live", None, None, None, "live GPS"),
        ("gpx", None, "gpx:ab:0", None, "GPX import"),
        ("manual", None, "csv:ab:3", None, "CSV import"),
        ("manual", "server", None, None, "pulled from the server"),
        ("manual", None, "k1", None, "bulk import"),
        ("manual", None, None, None, "entered by hand"),
        # What the first history link said wins (it is covered by the chain): provenance's.
        ("manual", None, "k1", "bulk import", "bulk import"),
        ("manual", None, None, "GPX import", "GPX import"),
    ],
)
def test_how_a_trip_was_recorded(
    source: str, origin: str | None, key: str | None, said: str | None, how: str
) -> None:
    ended = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    made = recorded(
        source=source,
        origin=origin,
        import_key=key,
        said=said,
        created_at=ended + dt.timedelta(minutes=5),
        day=ended.date(),
        end_time=ended,
        timezone="UTC",
    )
    assert (made.how, made.after) == (how, "within the hour")


def test_lag_in_words() -> None:
    assert lag_text(dt.timedelta(minutes=-5)) == "during the trip"
    assert lag_text(dt.timedelta(hours=5)) == "5 h later"
    assert lag_text(dt.timedelta(days=12, hours=1)) == "12 days later"


def test_a_place_is_its_address_else_its_coordinates() -> None:
    assert (
        place_text(1, 2, {"address1": "1 Main St", "city": "Leeds", "zip": None})
        == "1 Main St, Leeds"
    )
    assert place_text(D("52.5"), D("13.4"), None) == "52.5, 13.4"
    assert place_text(None, None, None) == ""


def test_the_tax_year_that_begins_in_the_year_asked() -> None:
    rates = load_schedules()
    uk = report_period(rates["uk-hmrc"], 2025)
    assert (uk.start, uk.end, uk.tax_year.label) == (
        dt.date(2025, 4, 6),
        dt.date(2026, 4, 5),
        "2025-26",
    )
    us = report_period(rates["us-irs"], 2022)
    assert (us.start, us.end) == (dt.date(2022, 1, 1), dt.date(2022, 12, 31))
    with pytest.raises(InvalidInputError, match="outside the tax year 2025-26"):
        report_period(rates["uk-hmrc"], 2025, "2025-04-05")
    with pytest.raises(InvalidInputError, match="before --from"):
        report_period(rates["us-irs"], 2022, "2022-05-01", "2022-04-01")
    with pytest.raises(InvalidInputError, match="give the tax year"):
        report_period(rates["us-irs"], None)


def test_unknown_jurisdictions_and_germany_are_typed_errors() -> None:
    rates = load_schedules()
    assert resolve_schedule(rates, "uk-hmrc").id == "uk-hmrc"
    with pytest.raises(UnknownScheduleError, match="no German schedule ships"):
        resolve_schedule(rates, "de")
    with pytest.raises(UnknownScheduleError, match="use one of ca-cra, uk-hmrc, us-irs"):
        resolve_schedule(rates, "fr")


@BOTH_BACKENDS
def test_a_year_with_no_rates_and_a_trip_in_a_gap_are_refused_before_any_row(
    store: Tracker,
) -> None:
    with pytest.raises(NoRatesInPeriodError, match="2025"):
        store.report(jurisdiction="us-irs", year=2025)
    # Canada ships 2023 only; a custom schedule with a hole in it:
    rates = load_schedules()
    ca = rates["ca-cra"]
    holed = ca.model_copy(
        update={
            "id": "ca-holed",
            "rates": tuple(
                r.model_copy(update={"valid_to": dt.date(2023, 6, 30)}) for r in ca.rates
            ),
        }
    )
    fine = store.report(jurisdiction="ca-holed", year=2023, schedules={"ca-holed": holed})
    assert fine.collect().totals.trips == 0  # no business trip in the hole: fine
    trip = add(store, "2023-08-01", "5", "km")
    with pytest.raises(NoRateError, match=trip):
        store.report(jurisdiction="ca-holed", year=2023, schedules={"ca-holed": holed})


@BOTH_BACKENDS
def test_json_and_csv_carry_the_same_rows(store: Tracker) -> None:
    add(store, "2022-06-30", "100", description="client visit")
    add(store, "2022-07-02", "7", cls="unclassified")
    report = store.report(jurisdiction="us-irs", year=2022)
    as_json = io.BytesIO()
    render(report, "json", as_json)
    doc = json.loads(as_json.getvalue())
    assert [r["amount"] for r in doc["rows"]] == ["58.50"]
    assert [r["distance"] for r in doc["to_classify"]] == ["7"]
    assert doc["totals"]["deduction"] == "58.50"
    assert doc["report"]["period"]["tax_year"] == "2022"
    as_csv = io.BytesIO()
    render(report, "csv", as_csv)
    text = as_csv.getvalue()
    assert text.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for spreadsheets
    lines = text.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("date,start,end,purpose,customer")
    assert lines[1].split(",")[3] == "client visit" and ",58.50," in lines[1]
    assert lines[2] == "" and lines[3].startswith("to classify")


@BOTH_BACKENDS
def test_rows_are_report_rows_in_trip_order(store: Tracker) -> None:
    later = add(store, "2022-03-02", "1")
    earlier = add(store, "2022-03-01", "1")
    rows = [
        item
        for item in store.report(jurisdiction="us-irs", year=2022).stream()
        if isinstance(item, ReportRow)
    ]
    assert [r.trip_id for r in rows] == [earlier, later]


def test_the_decimal_fast_path_prices_as_the_wire_does() -> None:
    """fast_price (exact decimals) against tracker.rates.compute.price (fractions, what the
    deduction sent to Tight uses) on tier edges, odd decimals and long years."""
    import random

    from tracker.enums import DistanceUnit
    from tracker.rates import RateTrip
    from tracker.rates.compute import price
    from tracker.report.build import fast_price

    rates = load_schedules()
    rng = random.Random(14)
    for name, day, unit in (
        ("uk-hmrc", dt.date(2024, 5, 1), DistanceUnit.MILE),
        ("ca-cra", dt.date(2023, 5, 1), DistanceUnit.KM),
        ("us-irs", dt.date(2022, 7, 1), DistanceUnit.MILE),
    ):
        schedule = rates[name]
        rate = schedule.rate_for(rate_vehicle(), "business", day)
        assert rate is not None
        for _ in range(400):
            before = (
                D(rng.choice([0, 4999, 9999, 10_000, rng.randint(0, 20_000)]))
                + D(rng.randint(0, 999)) / 1000
            )
            distance = D(rng.randint(0, 3000)) / D(rng.choice([1, 10, 1000]))
            fast = fast_price(rate, before, distance, schedule.minor_unit)
            assert fast is not None
            wire = price(schedule, RateTrip("t", day, distance, unit), {unit: before})
            wire_rounded = price(
                schedule, RateTrip("t", day, distance, unit), {unit: before}, rounding="per-trip"
            )
            assert fast[1] == wire_rounded.amount, (name, before, distance)
            assert fast[2] == D(wire.exact.numerator) / D(wire.exact.denominator)
            assert [p[1] for p in fast[0]] == [p.rate for p in wire.pieces]


def rate_vehicle():  # type: ignore[no-untyped-def]
    from tracker.rates.schedule import VehicleKind

    return VehicleKind.CAR


def test_the_reports_edit_rule_is_provenances_word_for_word() -> None:
    """The report's one query spells provenance's rule for "a link that changed a field" out
    (no SQL spliced from strings); both must say the same."""
    from tracker.provenance import CHANGE_LINKS_SQL
    from tracker.report import read

    spelled = " ".join(read._ROWS_SQL.split())
    assert f"e.trip_id = t.id AND {CHANGE_LINKS_SQL})" in spelled


@BOTH_BACKENDS
def test_the_report_carries_the_chain_head_verify_prints(store: Tracker) -> None:
    add(store, "2022-06-30", "100", description="client visit")
    trip = add(store, "2022-07-02", "7")
    store.trips.edit(trip, {"distance": "8"})
    head = store.verify_history().head
    report = store.report(jurisdiction="us-irs", year=2022)
    assert report.head.chain_head == head
    as_json = io.BytesIO()
    render(report, "json", as_json)
    assert json.loads(as_json.getvalue())["report"]["chain_head"] == head
    as_csv = io.BytesIO()
    render(report, "csv", as_csv)
    assert f"chain head,{head}," in as_csv.getvalue().decode("utf-8-sig")
    store.trips.edit(trip, {"distance": "9"})  # another link: another head
    assert store.report(jurisdiction="us-irs", year=2022).head.chain_head != head

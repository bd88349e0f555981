"""The AdditionalCost wire model: money, dates, labels, enums, nullable fields, bad items.

Pure: items are parsed from JSON text exactly as a page would be (``loads_exact``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sync.costs.mapping import read_item
from sync.costs.wire import (
    ReadContext,
    loads_exact,
    parse_labels,
    parse_platform_time,
    pick_label,
)
from sync.sandbox.seed import generate_costs
from tracker.costs import CostIn, QuarantineIn

ROME = ZoneInfo("Europe/Rome")
CTX = ReadContext(zone=ROME, currency="EUR", language="it")


def item(**fields: Any) -> dict[str, Any]:
    """A minimal valid item; ``fields`` override (None deletes a field)."""
    base: dict[str, Any] = {"ID": 1, "LastUpdated": "2024-03-04 10:00:00", "Amount": 1}
    for key, value in fields.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def read_json(text: str, ctx: ReadContext = CTX) -> CostIn | QuarantineIn:
    return read_item(loads_exact(text), ctx)


def ok(text_or_item: str | dict[str, Any], ctx: ReadContext = CTX) -> CostIn:
    read = (
        read_json(text_or_item, ctx)
        if isinstance(text_or_item, str)
        else read_item(text_or_item, ctx)
    )
    assert isinstance(read, CostIn), read
    return read


def rejected(raw: Any, ctx: ReadContext = CTX) -> QuarantineIn:
    read = read_item(raw, ctx)
    assert isinstance(read, QuarantineIn), read
    return read


# ---------------------------------------------------------------- money


def test_ten_thirty_stays_ten_thirty() -> None:
    cost = ok('{"ID": 1, "LastUpdated": "2024-03-04 10:00:00", "Amount": 10.30}')
    assert cost.amount == Decimal("10.30")
    assert str(cost.amount) == "10.30"  # the trailing zero is kept, not just the value
    assert str(cost.raw["Amount"]) == "10.30"
    assert cost.currency == "EUR"


def test_decimal_arithmetic_is_exact() -> None:
    tenth = ok('{"ID": 1, "LastUpdated": "2024-03-04 10:00:00", "Amount": 0.1}').amount
    fifth = ok('{"ID": 2, "LastUpdated": "2024-03-04 10:00:00", "Amount": 0.2}').amount
    assert tenth + fifth == Decimal("0.3")
    assert 0.1 + 0.2 != 0.3  # what a float parse would have given


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-5.00", "-5.00"),  # refunds and credits are negative
        ("0", "0"),
        ("-0.00", "-0.00"),
        ("12", "12"),
        ("999999999999999.99", "999999999999999.99"),
        ("1.12345678", "1.12345678"),
        ("1E+2", "1E+2"),
        ("10.300000000", "10.300000000"),  # many places, but only zeros past the 8th
    ],
)
def test_amounts_accepted_exactly(text: str, expected: str) -> None:
    cost = ok(f'{{"ID": 1, "LastUpdated": "2024-03-04 10:00:00", "Amount": {text}}}')
    assert str(cost.amount) == expected
    assert cost.amount == Decimal(expected)


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("1000000000000000", "implausibly large"),
        ("-1000000000000000.5", "implausibly large"),
        ("1e308", "implausibly large"),
        ("1E+400", "implausibly large"),
        ("100000000000000000000", "implausibly large"),
        ("1.123456789", "more than 8 decimal places"),
        ("0.30000000000000004", "more than 8 decimal places"),
        ('"10.30"', "must be a JSON number, not str"),
        ('"ten"', "must be a JSON number, not str"),
        ("true", "must be a JSON number, not bool"),
        ("null", "must be a JSON number, not NoneType"),
    ],
)
def test_amounts_refused(amount: str, reason: str) -> None:
    raw = loads_exact(f'{{"ID": 7, "LastUpdated": "2024-03-04 10:00:00", "Amount": {amount}}}')
    reject = rejected(raw)
    assert reject.cost_id == "7"
    assert reason in reject.reason
    assert reject.reason.startswith("Amount: ")


def test_missing_amount_is_refused() -> None:
    assert "Amount: Field required" in rejected(item(Amount=None)).reason


def test_nan_and_infinity_are_not_json() -> None:
    for token in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match="not valid JSON"):
            loads_exact(f'{{"Amount": {token}}}')


def test_a_float_parsed_upstream_is_read_by_its_shortest_text() -> None:
    assert ok(item(Amount=10.3)).amount == Decimal("10.3")


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "utc", "assumed"),
    [
        # the documented space format is platform time (Rome: +01:00 in winter, +02:00 in summer)
        ("2024-01-15 10:00:00", datetime(2024, 1, 15, 9, 0, tzinfo=UTC), True),
        ("2024-07-15 10:00:00", datetime(2024, 7, 15, 8, 0, tzinfo=UTC), True),
        # ISO-8601 with Z: UTC whatever the platform zone
        ("2021-01-01T06:30:00Z", datetime(2021, 1, 1, 6, 30, tzinfo=UTC), False),
        ("2021-01-01t06:30:00z", datetime(2021, 1, 1, 6, 30, tzinfo=UTC), False),
        ("2025-06-17T14:24:32.926Z", datetime(2025, 6, 17, 14, 24, 32, 926000, tzinfo=UTC), False),
        ("2024-07-15T10:00:00+02:00", datetime(2024, 7, 15, 8, 0, tzinfo=UTC), False),
        ("2024-07-15T10:00:00-0330", datetime(2024, 7, 15, 13, 30, tzinfo=UTC), False),
        # naive ISO is platform time, like the space format
        ("2024-07-15T10:00:00", datetime(2024, 7, 15, 8, 0, tzinfo=UTC), True),
        ("2024-07-15 10:00:00.1234567", datetime(2024, 7, 15, 8, 0, 0, 123456, tzinfo=UTC), True),
        # DST: 02:30 happens twice on 27 Oct 2024 in Rome: the first one (CEST, +02:00)
        ("2024-10-27 02:30:00", datetime(2024, 10, 27, 0, 30, tzinfo=UTC), True),
        # ... and never on 31 Mar 2024: read with the offset before the jump (CET, +01:00)
        ("2024-03-31 02:30:00", datetime(2024, 3, 31, 1, 30, tzinfo=UTC), True),
        (" 2024-01-15 10:00:00 ", datetime(2024, 1, 15, 9, 0, tzinfo=UTC), True),
    ],
)
def test_both_date_formats(text: str, utc: datetime, assumed: bool) -> None:
    parsed = parse_platform_time(text, ROME)
    assert parsed.utc == utc
    assert parsed.utc.tzinfo is UTC
    assert parsed.raw == text  # the raw string is kept
    assert parsed.assumed_zone is assumed


def test_the_ambiguous_hour_maps_both_readings_apart() -> None:
    first = parse_platform_time("2024-10-27 02:30:00", ROME).utc
    before = parse_platform_time("2024-10-27 01:59:59", ROME).utc
    after = parse_platform_time("2024-10-27 03:00:00", ROME).utc
    assert before < first < after
    assert (after - first).total_seconds() == 2 * 3600 - 30 * 60  # 02:30 CEST -> 03:00 CET


@pytest.mark.parametrize(
    "text",
    [
        "01/02/2024 10:00",
        "2024-02-30 10:00:00",
        "2024-01-15",
        "2024-01-15 25:00:00",
        "0001-01-01 00:00:00",  # the .NET "no date" value must not become year 1
        "2100-01-01 00:00:00",
        "1969-12-31T23:59:59Z",
        "",
        "2024-01-15 10:00:00 CET",
    ],
)
def test_dates_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"is (neither|not a valid|outside)"):
        parse_platform_time(text, ROME)


def test_item_dates_in_utc_and_raw_strings_kept() -> None:
    cost = ok(
        item(
            CreatedDate="2024-03-04 08:00:00",
            LastUpdated="2024-03-04 10:00:00",
            StartTimestamp="2024-03-04 09:00:00",
            EndTimestamp="2024-03-04 09:45:00",
            PaymentExecutionAttemt="2024-03-04T12:30:00Z",
        )
    )
    assert cost.last_updated == datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
    assert cost.start_time == datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    assert cost.end_time == datetime(2024, 3, 4, 8, 45, tzinfo=UTC)
    assert cost.payment_attempt == datetime(2024, 3, 4, 12, 30, tzinfo=UTC)
    assert cost.raw["StartTimestamp"] == "2024-03-04 09:00:00"
    assert cost.raw["PaymentExecutionAttemt"] == "2024-03-04T12:30:00Z"


def test_the_default_platform_zone_is_utc() -> None:
    cost = ok(item(StartTimestamp="2024-07-15 10:00:00"), ReadContext())
    assert cost.start_time == datetime(2024, 7, 15, 10, 0, tzinfo=UTC)


def test_a_bad_date_quarantines_the_item() -> None:
    reject = rejected(item(ID=9, StartTimestamp="yesterday"))
    assert reject.cost_id == "9"
    assert reject.reason.startswith("StartTimestamp: 'yesterday' is neither")
    assert "LastUpdated: Field required" in rejected(item(LastUpdated=None)).reason
    assert "must be a date string, not int" in rejected(item(LastUpdated=1700000000)).reason


# ---------------------------------------------------------------- labels


LABELS = {"en": "Motorway Toll", "it": "Pedaggio", "de-CH": "Autobahngebühr", "fr": "Péage"}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("it", "Pedaggio"),  # the configured language
        ("IT", "Pedaggio"),  # any case
        ("it-IT", "Pedaggio"),  # a regional variant falls back to its language
        ("de", "Autobahngebühr"),  # ... and a language finds a regional label
        ("de_ch", "Autobahngebühr"),
        ("es", "Motorway Toll"),  # then English
    ],
)
def test_label_fallback(language: str, expected: str) -> None:
    assert pick_label(LABELS, language) == expected


def test_label_without_english_is_the_first_language_code() -> None:
    assert pick_label({"it": "Pedaggio", "fr": "Péage"}, "es") == "Péage"
    assert pick_label({"en-GB": "Toll", "it": "Pedaggio"}, "es") == "Toll"
    assert pick_label({}, "en") is None


def test_labels_are_parsed_from_their_json_string() -> None:
    cost = ok(item(Labels=json.dumps(LABELS, ensure_ascii=False)))
    assert cost.labels == LABELS
    assert cost.label == "Pedaggio"
    assert ok(item(Labels=LABELS)).label == "Pedaggio"  # an object is accepted too
    for empty in ("", None):
        cost = ok(item(Labels=empty))
        assert cost.labels == {}
        assert cost.label is None


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ("{not json", "is not a JSON object of localized names"),
        ('["Toll"]', "must hold a JSON object, not list"),
        ('{"en": 5}', "the 'en' label is a int, not text"),
        ('"Toll"', "must hold a JSON object, not str"),
        (17, "must hold a JSON object, not int"),
    ],
)
def test_bad_labels_quarantine_the_item(labels: Any, reason: str) -> None:
    assert reason in rejected(item(Labels=labels)).reason


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"en": "x" * 10_001}, "the 'en' label is longer than 10000 characters"),
        ({"x" * 10_001: "Toll"}, "a language code is longer than 10000 characters"),
        ({"en": "a\x00b"}, "the 'en' label contains a NUL byte"),
    ],
)
def test_labels_follow_the_text_rules(labels: dict[str, str], reason: str) -> None:
    assert reason in rejected(item(Labels=json.dumps(labels))).reason
    assert reason in rejected(item(Labels=labels)).reason


def test_parse_labels_unit() -> None:
    assert parse_labels('{"en": "Fine"}') == {"en": "Fine"}
    with pytest.raises(ValueError, match="unpaired surrogate"):
        parse_labels('{"en": "\\ud800"}')


# ---------------------------------------------------------------- enums and nullable fields


def test_unknown_enum_values_are_kept_raw() -> None:
    cost = ok(item(CostType=987654, PaymentStatus=-3, TypeID=0))
    assert (cost.cost_type, cost.payment_status, cost.type_id) == (987654, -3, 0)


@pytest.mark.parametrize("field", ["CostType", "PaymentStatus", "TypeID", "PaymentID"])
def test_enum_fields_must_be_integers(field: str) -> None:
    assert f"{field}: " in rejected(item(**{field: "1"})).reason
    assert f"{field}: " in rejected(item(**{field: 1.5})).reason
    assert f"{field}: " in rejected(item(**{field: 2**63})).reason


def test_every_optional_field_may_be_null_or_missing() -> None:
    nulls = dict.fromkeys(
        [
            "CreatedDate",
            "Notes",
            "TripGuid",
            "StartLocationName",
            "EndLocationName",
            "StartTimestamp",
            "EndTimestamp",
            "TypeID",
            "CostType",
            "Labels",
            "ExtUserGuid",
            "PaymentID",
            "PaymentStatus",
            "PaymentExecutionAttemt",
            "PaymentExecutionUser",
            "PaymentNotes",
        ]
    )
    raw = {"ID": 3, "LastUpdated": "2024-03-04 10:00:00", "Amount": 2, **nulls}
    cost = ok(raw)
    assert cost.payment_id is None
    assert cost.payment_status is None
    assert cost.payment_attempt is None
    assert cost.trip_guid is None
    assert ok(item()).notes is None


def test_the_misspelled_payment_field_is_the_one_read() -> None:
    cost = ok(
        item(
            PaymentID=4711,
            PaymentStatus=0,
            PaymentExecutionAttemt="2021-01-01T06:30:00Z",
            PaymentExecutionUser="administrator",
            PaymentNotes="ok",
        )
    )
    assert cost.payment_attempt == datetime(2021, 1, 1, 6, 30, tzinfo=UTC)
    assert cost.payment_user == "administrator"
    corrected = ok(item(PaymentExecutionAttempt="2021-01-01T06:30:00Z"))
    assert corrected.payment_attempt is None  # not the documented name: ignored (kept in raw)
    assert corrected.raw["PaymentExecutionAttempt"] == "2021-01-01T06:30:00Z"


def test_unknown_fields_are_ignored_and_kept_in_raw() -> None:
    cost = ok(item(Currency="CHF", Extra={"deep": [Decimal("1.50")]}))
    assert cost.currency == "EUR"  # the configured currency; a wire field is not trusted
    assert cost.raw["Extra"] == {"deep": [Decimal("1.50")]}


# ---------------------------------------------------------------- identity and bad items


@pytest.mark.parametrize(
    ("raw", "cost_id"),
    [
        (item(ID="3"), "3"),
        (item(ID=True), None),
        (item(ID=3.0), None),
        (item(ID=None), None),
        (item(ID=2**63), str(2**63)),
        (item(ID=' "x" \x1b'), '\\"x\\" \\u001b'),
    ],
)
def test_an_id_must_be_an_integer(raw: dict[str, Any], cost_id: str | None) -> None:
    reject = rejected(raw)
    assert reject.cost_id == cost_id
    assert reject.reason.startswith("ID: ")


@pytest.mark.parametrize(
    ("raw", "kind"),
    [(["not", "an", "object"], "an array"), ("x", "a string"), (None, "null"), (5, "a number")],
)
def test_non_objects_are_quarantined_without_an_id(raw: Any, kind: str) -> None:
    reject = rejected(raw)
    assert reject.cost_id is None
    assert reject.reason == f"an item must be a JSON object, not {kind}"
    assert json.loads(reject.raw) == raw


def test_broken_text_is_quarantined_and_its_raw_stays_storable() -> None:
    surrogate = loads_exact('{"ID": 4, "LastUpdated": "2024-03-04 10:00:00", "Amount": 1, '
                            '"Notes": "a\\ud800b"}')  # fmt: skip
    reject = rejected(surrogate)
    assert reject.reason.startswith("Notes: ")
    assert "unicode" in reject.reason
    reject.raw.encode("utf-8")  # escaped: SQLite can store it
    assert "\\ud800" in reject.raw
    assert "NUL byte" in rejected(item(Notes="a\x00b")).reason
    assert "at most 10000 characters" in rejected(item(Notes="x" * 10_001)).reason


def test_a_reason_lists_every_problem_briefly() -> None:
    reject = rejected({"ID": "3", "Amount": "ten", "Labels": "{not json", "TripGuid": None})
    assert reject.reason.split("; ") == [
        "ID: Input should be a valid integer",
        "LastUpdated: Field required",
        "Amount: must be a JSON number, not str",
        "Labels: is not a JSON object of localized names: '{not json'",
    ]


def test_a_read_cost_is_what_validating_it_again_gives() -> None:
    # read_item builds CostIn without validating it a second time (CostIn.checked): what it
    # builds must be exactly what CostIn's own validation makes of the same values.
    items = [
        *generate_costs(50, seed=3),
        item(),
        item(Labels='{"de-CH": "Gebühr", "fr": "Péage"}', Notes="ü" * 10_000, Amount=-0.5),
        item(StartTimestamp="2024-10-27 02:30:00", PaymentExecutionAttemt="2024-07-15T10:00:00Z"),
    ]
    for raw in items:
        cost = ok(raw)
        again = CostIn.model_validate(cost.model_dump())
        assert again == cost
        assert again.model_fields_set == cost.model_fields_set


def test_the_read_context_refuses_a_currency_that_is_not_a_code() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        ReadContext(currency="euro")


def test_a_huge_raw_item_is_cut_in_quarantine() -> None:
    reject = rejected(item(Amount="x", Notes=None, Blob="y" * 100_000))
    assert len(reject.raw) <= 64 * 1024
    assert reject.raw.endswith("characters, cut]")


def test_trip_guid_is_kept_as_sent() -> None:
    guid = "{0F8FAD5B-D9CB-469F-A165-70867728950E}"
    assert ok(item(TripGuid=guid)).trip_guid == guid

"""Pure decisions, tested with plain values: classification, correlation, mapping, reconcile."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.errors import ProtocolError
from sync.settings import MileageSettings
from sync.tight import verdicts as oc
from sync.tight.mapping import keep_unheld, mileage_status, save_body, wire_distance
from sync.tight.reconcile import find_remote_ids, match_page, query_body
from sync.tight.wire import ItemResult, MileageSave
from tracker.outbox import OutboxPlace, OutboxTrip
from tracker.outcomes import Parked, Retry, Synced

KEY = "trackerLocalId"
CFG = MileageSettings()


def sent(n: int, create: bool = True) -> list[oc.Sent]:
    return [oc.Sent(i + 1, f"t{i}", create) for i in range(n)]


def ok(local: str, remote: str) -> dict[str, Any]:
    return {
        "result": "SUCCESS",
        "statusCode": 200,
        "data": {"id": remote, "customData": {KEY: local}},
    }


def fail(kind: str, param: str | None = "x", status: int = 400) -> dict[str, Any]:
    return {
        "result": "FAILURE",
        "statusCode": status,
        "data": None,
        "error": [{"type": kind, "message": f"{kind}!", "param": param}],
    }


def test_all_success() -> None:
    body = {"result": "SUCCESS", "data": [ok("t0", "mlg_a"), ok("t1", "mlg_b")]}
    verdict = oc.classify_response(200, body, sent(2), KEY)
    assert isinstance(verdict, oc.PerItem)
    assert verdict.verdicts == [
        Synced("mlg_a", body["data"][0]["data"]),
        Synced("mlg_b", body["data"][1]["data"]),
    ]


@pytest.mark.parametrize("kind", sorted(oc.PERMANENT_TYPES))
def test_permanent_types_park(kind: str) -> None:
    body = {"result": "FAILURE", "data": [fail(kind, "date"), ok("t1", "mlg_b")]}
    verdict = oc.classify_response(207, body, sent(2), KEY)
    assert isinstance(verdict, oc.PerItem)
    assert verdict.verdicts[0] == Parked(kind, f"{kind}!", "date")


@pytest.mark.parametrize(
    ("kind", "status"), [("UNKNOWN_ERROR", 500), ("INVALID_VALUE", 503), ("SOMETHING_NEW", 400)]
)
def test_retryable_items(kind: str, status: int) -> None:
    verdict = oc.classify_response(
        207, {"result": "FAILURE", "data": [fail(kind, status=status)]}, sent(1), KEY
    )
    assert isinstance(verdict, oc.PerItem)
    (item,) = verdict.verdicts
    assert isinstance(item, Retry)
    assert not item.in_doubt
    assert item.item_error  # the server's own error: it counts toward giving up


def test_duplicate_adopts_the_named_id() -> None:
    dup = {
        "result": "FAILURE",
        "statusCode": 409,
        "data": {"id": "mlg_old"},
        "error": [{"type": "DUPLICATE", "message": "dup", "param": None}],
    }
    verdict = oc.classify_response(207, {"result": "FAILURE", "data": [dup]}, sent(1), KEY)
    assert isinstance(verdict, oc.PerItem)
    assert verdict.verdicts == [Synced("mlg_old", None, detail="server already had it")]


def test_duplicate_without_an_id_is_looked_up_at_once() -> None:
    dup = {"result": "FAILURE", "error": [{"type": "DUPLICATE", "message": "dup"}]}
    verdict = oc.classify_response(207, {"result": "FAILURE", "data": [dup]}, sent(1), KEY)
    assert isinstance(verdict, oc.PerItem)
    assert verdict.verdicts == [Retry("DUPLICATE", "dup", in_doubt=True, retry_after=0.0)]


def test_success_without_an_id_for_a_create_is_in_doubt() -> None:
    body = {"result": "SUCCESS", "data": [{"result": "SUCCESS", "statusCode": 200, "data": {}}]}
    verdict = oc.classify_response(200, body, sent(1), KEY)
    assert isinstance(verdict, oc.PerItem)
    assert verdict.verdicts[0] == Retry("PROTOCOL", "success without an id", in_doubt=True)


def test_correlation_by_echo_survives_reordering() -> None:
    items = [
        ItemResult.model_validate(ok("t1", "mlg_b")),
        ItemResult.model_validate(ok("t0", "mlg_a")),
    ]
    matched = oc.correlate(sent(2), items, KEY)
    assert [m.data["id"] if m and m.data else None for m in matched] == ["mlg_a", "mlg_b"]


def test_correlation_by_position_only_when_counts_match() -> None:
    failures = [ItemResult.model_validate(fail("REQUIRED")) for _ in range(2)]
    assert oc.correlate(sent(2), failures, KEY) == failures
    assert oc.correlate(sent(3), failures, KEY) == [None, None, None]


def test_an_echo_that_contradicts_the_position_is_not_trusted() -> None:
    items = [
        ItemResult.model_validate(ok("zzz", "mlg_x")),
        ItemResult.model_validate(fail("REQUIRED")),
    ]
    matched = oc.correlate(sent(2), items, KEY)
    assert matched[0] is None
    assert matched[1] is items[1]


@given(st.lists(st.integers(min_value=0, max_value=5), max_size=8), st.integers(0, 6))
@settings(max_examples=300)
def test_no_unmatched_item_is_ever_synced(echo_of: list[int], n: int) -> None:
    """Whatever a server answers, a request item is only synced by a result that echoes its
    own local id, or by position in a same-length answer without a contradicting echo."""
    items = [ok(f"t{e}", f"mlg_{e}") for e in echo_of]
    verdict = oc.classify_response(200, {"result": "SUCCESS", "data": items}, sent(n), KEY)
    assert isinstance(verdict, oc.PerItem)
    for request, item in zip(sent(n), verdict.verdicts, strict=True):
        if isinstance(item, Synced):
            assert item.record is not None
            assert item.record["customData"][KEY] == request.local_id


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, {"result": "FAILURE", "error": [{"type": "JSON_ERROR", "message": "bad"}]}, oc.Split),
        (400, {"error": [{"type": "BAD_REQUEST", "message": "Batch too large: max 10"}]}, oc.Halve),
        (413, None, oc.Halve),
        (401, {"error": [{"type": "EXPIRED_TOKEN", "message": "expired"}]}, oc.AuthFailure),
        (403, None, oc.AuthFailure),
        (404, None, oc.EndpointMissing),
        (429, None, oc.NotProcessed),
        (503, None, oc.NotProcessed),
        (500, None, oc.Unknown),
        (502, None, oc.Unknown),
        (504, None, oc.Unknown),
        (200, None, oc.Unknown),
        (200, {"result": "SUCCESS"}, oc.Unknown),
        (200, {"result": "SUCCESS", "data": "x"}, oc.Unknown),
        (200, [1, 2], oc.Unknown),
        (418, None, oc.Unknown),
    ],
)
def test_whole_response_verdicts(status: int, body: Any, kind: type) -> None:
    assert isinstance(oc.classify_response(status, body, sent(2), KEY), kind)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        ),
        max_leaves=20,
    ),
    st.sampled_from([200, 207, 400, 401, 403, 404, 429, 500, 503]),
)
@pytest.mark.slow
@settings(max_examples=2000)
def test_any_answer_is_classified_without_exceptions(body: Any, status: int) -> None:
    verdict = oc.classify_response(status, body, sent(3), KEY)
    if isinstance(verdict, oc.PerItem):
        assert len(verdict.verdicts) == 3
        for request, item in zip(sent(3), verdict.verdicts, strict=True):
            if isinstance(item, Synced):
                assert item.remote_id is not None  # creates are never synced without an id
                assert request.is_create


def _trip(**over: Any) -> OutboxTrip:
    base: dict[str, Any] = dict(
        id="0b0c",
        remote_id=None,
        date=date(2026, 3, 1),
        start_time=None,
        end_time=None,
        start=None,
        end=None,
        distance=Decimal("12.5"),
        unit="mile",
        duration_ms=None,
        classification="business",
        description=None,
        notes=None,
        car_id=None,
        customer_id=None,
        class_segment_ids=[],
        custom_data={},
    )
    base.update(over)
    return OutboxTrip(**base)


def test_mapping_rules() -> None:
    assert mileage_status("business", CFG) == "BUSINESS"
    assert mileage_status("personal", CFG) == "NOT_BUSINESS"
    assert mileage_status("unclassified", CFG) == "PENDING"
    assert wire_distance(Decimal("1.609"), "km", CFG) == {"type": "MILE", "value": "1.000"}
    as_km = CFG.model_copy(update={"kilometres_as": "KILOMETER"})
    assert wire_distance(Decimal("3"), "km", as_km) == {"type": "KILOMETER", "value": "3"}
    body = save_body(_trip(remote_id="mlg_1"), CFG)
    assert body["id"] == "mlg_1"
    assert body["distance"] == {"type": "MILE", "value": "12.5"}
    assert body["customData"] == {KEY: "0b0c"}
    assert "deduction" not in body
    assert "start" not in body and "description" not in body
    # The amount is the store's (tracker.deductions); the body carries it as it is.
    assert save_body(_trip(deduction=838), CFG)["deduction"] == {"amount": 838}
    with pytest.raises(ValueError, match="no rate"):
        save_body(_trip(deduction_error="no rate covers it"), CFG)
    # Reconciliation found the record: the update carries the server's id.
    assert save_body(_trip(), CFG, remote_id="mlg_9")["id"] == "mlg_9"
    with pytest.raises(ValueError, match="no date"):
        save_body(_trip(date=None), CFG)


def test_endpoints_on_the_wire() -> None:
    place = OutboxPlace(
        lat=Decimal("52.520008"),
        lng=Decimal("13.404954"),
        address={"city": "Berlin", "zip": None, "phone_work": "+49 30 1"},
    )
    at = datetime(2026, 3, 1, 7, 5, 9, 123456, tzinfo=UTC)
    body = save_body(_trip(start=place, start_time=at, end_time=at), CFG)
    assert body["start"] == {
        "time": "2026-03-01T07:05:09.123Z",
        "lat": "52.520008",
        "lng": "13.404954",
        "address": {"city": "Berlin", "phoneWork": "+49 30 1"},
    }
    assert body["end"] == {"time": "2026-03-01T07:05:09.123Z"}


_text = st.none() | st.text(max_size=20)
_coord = st.decimals(min_value=-90, max_value=90, places=6)
_address = st.none() | st.dictionaries(
    st.sampled_from(["address1", "city", "zip", "phone_work", "state", "extra"]), _text
)
_place = st.none() | st.builds(OutboxPlace, lat=_coord, lng=_coord, address=_address)
_instant = st.none() | st.datetimes(timezones=st.just(UTC))
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    remote_id=st.none() | st.just("mlg_1"),
    start=_place,
    end=_place,
    start_time=_instant,
    end_time=_instant,
    distance=st.decimals(min_value=0, max_value=10_000, places=3),
    unit=st.sampled_from(["km", "mile"]),
    duration_ms=st.none() | st.integers(min_value=0, max_value=10**9),
    classification=st.sampled_from(["business", "personal", "unclassified"]),
    car_remote_id=st.none() | st.just("car_1"),
    description=_text,
    notes=_text,
    customer_id=_text,
    class_segment_ids=st.lists(st.text(max_size=5), max_size=3),
    custom_data=st.dictionaries(st.text(max_size=8), _json, max_size=3),
    deduction=st.none() | st.integers(min_value=0, max_value=10**7),
)
def test_save_body_is_exactly_the_wire_models_json(**fields: Any) -> None:
    """The pusher builds bodies directly (one per record); the wire model is the contract."""
    body = save_body(_trip(**fields), CFG)
    assert MileageSave.model_validate(body).body() == body
    assert body["customData"][KEY] == "0b0c"
    assert ("id" in body) == (fields["remote_id"] is not None)


def test_reconcile_walk_pages_until_found_or_the_end() -> None:
    pages = [
        {
            "result": "SUCCESS",
            "data": [{"id": "mlg_1", "customData": {KEY: "a"}}],
            "cursor": {"after": "c1"},
        },
        {
            "result": "SUCCESS",
            "data": [
                {"id": "mlg_2", "customData": {KEY: "b"}},
                {"id": "mlg_3", "customData": {KEY: "b"}},
            ],
            "cursor": {"after": None},
        },
    ]
    calls: list[dict[str, Any]] = []

    def post(body: dict[str, Any]) -> Any:
        calls.append(body)
        return pages[len(calls) - 1]

    found = find_remote_ids(post, CFG, {"a", "b", "c"}, (date(2026, 3, 1), date(2026, 3, 5)))
    assert found == {"a": "mlg_1", "b": "mlg_2"}
    assert calls[0]["filter"]["date"] == {
        "greaterThanEqual": "2026-02-28",
        "lessThanEqual": "2026-03-06",
    }
    assert calls[1]["cursor"] == "c1"
    looping = [{"result": "SUCCESS", "data": [], "cursor": {"after": "same"}}] * 3
    with pytest.raises(ProtocolError, match="cursor"):
        find_remote_ids(lambda _b: looping[0], CFG, {"x"}, None)
    with pytest.raises(ProtocolError):
        find_remote_ids(lambda _b: {"oops": 1}, CFG, {"x"}, None)


def test_reconcile_helpers() -> None:
    assert "filter" not in query_body(
        CFG.model_copy(update={"reconcile_date_filter": False}),
        None,
        (date(2026, 1, 1), date(2026, 1, 2)),
    )
    records = [{"id": 5, "customData": {KEY: "a"}}, {"customData": "x"}, {"id": "mlg_9"}]
    assert match_page(records, KEY, {"a"}) == ({}, 2)
    unreadable_page = {
        "result": "SUCCESS",
        "data": [{"id": "mlg_1", "customData": "?"}],
        "cursor": {"after": None},
    }
    with pytest.raises(ProtocolError, match="absence not proven"):
        find_remote_ids(lambda _b: unreadable_page, CFG, {"x"}, None)


def test_keep_unheld_puts_back_only_what_a_trip_cannot_hold() -> None:
    base = {
        "start": {"address": {"city": "Hamburg", "countryCode": "DEU"}, "lat": None},
        "end": {"lat": "53.55", "lng": "9.99", "location": {"id": "loc_1", "name": "Office"}},
    }
    same_place = {"id": "mlg_1", "end": {"lat": "53.550", "lng": "9.99"}}
    keep_unheld(same_place, base)
    assert same_place["start"] == {"address": {"city": "Hamburg"}}  # no output-only parts
    assert same_place["end"] == {"lat": "53.550", "lng": "9.99", "locationId": "loc_1"}

    moved = {"id": "mlg_1", "start": {"time": "t"}, "end": {"lat": "48.1", "lng": "11.5"}}
    keep_unheld(moved, base)
    assert moved["start"] == {"time": "t", "address": {"city": "Hamburg"}}
    assert moved["end"] == {"lat": "48.1", "lng": "11.5"}  # another place: not that location

    cleared = {"id": "mlg_1"}  # the trip's end place was removed here: it stays removed
    keep_unheld(cleared, {"end": {"lat": "53.55", "lng": "9.99"}})
    assert cleared == {"id": "mlg_1"}


def test_only_updates_keep_what_the_server_had() -> None:
    base = {"start": {"address": {"city": "Hamburg"}}}
    assert "start" not in save_body(_trip(), CFG, base=base)  # a create has no server copy
    assert save_body(_trip(remote_id="mlg_1"), CFG, base=base)["start"] == base["start"]

"""Bad input is rejected with a typed error naming the field, and changes nothing.
Valid exotic input round-trips exactly."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.store import StepClock
from tests.tracker.snapshot import fingerprint
from tracker.errors import InvalidInputError
from tracker.store import Tracker

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
GOOD_TRIP = {"date": "2026-03-01", "distance": "12.5"}

# (label, manual-trip overrides, field the error must name)
BAD_TRIPS: list[tuple[str, dict[str, Any], str]] = [
    ("lat too big", {"start": {"lat": 90.0001, "lng": 0}}, "start.lat"),
    ("lat -999", {"start": {"lat": -999, "lng": 0}}, "start.lat"),
    ("lng too big", {"end": {"lat": 0, "lng": 180.5}}, "end.lng"),
    ("lat NaN", {"start": {"lat": float("nan"), "lng": 0}}, "start.lat"),
    ("lng inf", {"start": {"lat": 0, "lng": float("inf")}}, "start.lng"),
    ("lat None", {"start": {"lat": None, "lng": 0}}, "start.lat"),
    ("lat comma", {"start": {"lat": "12,5", "lng": 0}}, "start.lat"),
    ("negative distance", {"distance": "-1"}, "distance"),
    ("distance NaN", {"distance": "NaN"}, "distance"),
    ("distance inf", {"distance": float("inf")}, "distance"),
    ("distance 1e308", {"distance": "1e308"}, "distance"),
    ("distance 4 decimals", {"distance": "1.2345"}, "distance"),
    ("distance comma", {"distance": "12,5"}, "distance"),
    ("unknown unit", {"unit": "furlong"}, "unit"),
    ("unknown classification", {"classification": "charity"}, "classification"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("end before start", {"start_time": T0, "end_time": T0 - timedelta(seconds=1)}, "input"),
    ("zero-length", {"start_time": T0, "end_time": T0}, "input"),
    ("naive start", {"start_time": datetime(2026, 3, 1, 8, 0)}, "start_time"),
    ("year 9999", {"start_time": datetime(9999, 1, 1, tzinfo=UTC)}, "start_time"),
    ("pre-1970", {"start_time": datetime(1969, 12, 31, tzinfo=UTC)}, "start_time"),
    ("date 9999", {"date": "9999-01-01"}, "input"),
    ("no date nor time", {"date": None}, "input"),
    ("10 MB notes", {"notes": "x" * 10_000_001}, "notes"),
    ("notes over limit", {"notes": "x" * 10_001}, "notes"),
    ("description over limit", {"description": "é" * 501}, "description"),
    ("NUL byte", {"description": "a\x00b"}, "description"),
    ("lone surrogate", {"notes": "bad \ud800 text"}, "notes"),
    ("custom data too many keys", {"custom_data": {f"k{i}": i for i in range(50)}}, "custom_data"),
    ("custom data too long", {"custom_data": {"k": "x" * 2000}}, "custom_data"),
    ("custom data reserved key", {"custom_data": {"trackerLocalId": "x"}}, "custom_data"),
    ("custom data NaN", {"custom_data": {"k": float("nan")}}, "custom_data"),
    (
        "segment ids too many",
        {"class_segment_ids": [f"c{i}" for i in range(51)]},
        "class_segment_ids",
    ),
    (
        "address part too long",
        {"start": {"lat": 0, "lng": 0, "address": {"city": "x" * 201}}},
        "start.address.city",
    ),
]


@pytest.mark.parametrize(("label", "override", "field"), BAD_TRIPS, ids=[b[0] for b in BAD_TRIPS])
def test_bad_manual_trip_is_rejected_and_changes_nothing(
    store: Tracker, db_path: Path, label: str, override: dict[str, Any], field: str
) -> None:
    store.trips.add(GOOD_TRIP)  # something to protect
    before = fingerprint(db_path)
    data = {**GOOD_TRIP, **override}
    with pytest.raises(InvalidInputError) as caught:
        store.trips.add({k: v for k, v in data.items() if v is not None or k != "date"})
    assert caught.value.field == field, caught.value
    assert fingerprint(db_path) == before


BAD_POINTS: list[tuple[str, Any, str]] = [
    ("lat 999", (T0, 999.0, 0.0), "waypoints[0].lat"),
    ("lng -181", (T0, 0.0, -181.0), "waypoints[0].lng"),
    ("lat NaN", (T0, math.nan, 0.0), "waypoints[0].lat"),
    ("lng inf", (T0, 0.0, math.inf), "waypoints[0].lng"),
    ("lat string", (T0, "52.1", 0.0), "waypoints[0].lat"),
    ("lat bool", (T0, True, 0.0), "waypoints[0].lat"),
    ("naive time", (datetime(2026, 3, 10, 8), 0.0, 0.0), "waypoints[0].time"),
    ("time not a datetime", ("2026-03-10T08:00Z", 0.0, 0.0), "waypoints[0].time"),
    ("year 9999", (datetime(9999, 1, 1, tzinfo=UTC), 0.0, 0.0), "waypoints[0].time"),
    ("negative accuracy", (T0, 0.0, 0.0, -1.0), "waypoints[0].accuracy"),
    ("NaN speed", (T0, 0.0, 0.0, None, math.nan), "waypoints[0].speed"),
    ("too short", (T0, 0.0), "waypoints[0]"),
]


@pytest.mark.parametrize(("label", "point", "field"), BAD_POINTS, ids=[b[0] for b in BAD_POINTS])
def test_bad_waypoint_rejects_the_whole_append(
    store: Tracker, db_path: Path, label: str, point: Any, field: str
) -> None:
    trip = store.trips.start({"start_time": T0 - timedelta(minutes=1)})
    good = [(T0 - timedelta(seconds=10 - i), 52.0, 13.0) for i in range(5)]
    before = fingerprint(db_path)
    with pytest.raises(InvalidInputError) as caught:
        store.trips.add_points(trip.id, [point, *good])
    assert caught.value.field == field
    assert fingerprint(db_path) == before
    with pytest.raises(InvalidInputError):
        store.trips.add_points(trip.id, [*good, (T0, 95.0, 0.0)])  # bad one last: still nothing
    assert fingerprint(db_path) == before


def test_single_point_api_validates_too(store: Tracker, db_path: Path) -> None:
    trip = store.trips.start()
    before = fingerprint(db_path)
    with pytest.raises(InvalidInputError) as caught:
        store.trips.add_point(trip.id, {"time": T0, "lat": 0.0, "lng": 0.0, "speed": float("inf")})
    assert caught.value.field == "speed"
    assert fingerprint(db_path) == before


@pytest.fixture
def fast_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    """One store for a whole hypothesis run (function-scoped fixtures are not reset per example)."""
    path = tmp_path_factory.mktemp("hyp") / "tracker.db"
    clock = StepClock(T0)
    with Tracker.open(path, timezone="UTC", busy_timeout=1.0, clock=clock) as t:
        t.trips.add(GOOD_TRIP)
        yield t


bad_numbers = st.one_of(
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
    st.floats(min_value=90.000001, max_value=1e300),
    st.floats(max_value=-90.000001, min_value=-1e300),
)
bad_text = st.one_of(
    st.text(min_size=1, max_size=20).map(lambda s: s + "\x00"),
    st.text(max_size=20).map(lambda s: s + "\ud800"),
    st.text(min_size=501, max_size=600, alphabet="ab"),
)
bad_trips = st.one_of(
    st.builds(lambda v: {"start": {"lat": v, "lng": 0}}, bad_numbers),
    st.builds(
        lambda v: {"distance": v},
        st.one_of(
            st.decimals(max_value=Decimal("-0.001"), allow_nan=False),
            st.decimals(min_value=Decimal("1000000.001"), allow_nan=False, allow_infinity=False),
            st.decimals(places=5, min_value=Decimal("0.00001"), max_value=Decimal("1")).filter(
                lambda d: d.as_tuple().exponent < -3 and d.normalize().as_tuple().exponent < -3  # type: ignore[operator]
            ),
        ),
    ),
    st.builds(lambda s: {"description": s}, bad_text),
    st.builds(
        lambda s: {"classification": s},
        st.text(max_size=10).filter(lambda s: s not in ("business", "personal", "unclassified")),
    ),
    st.builds(
        lambda d: {"start_time": T0, "end_time": T0 - timedelta(seconds=d)},
        st.integers(min_value=0, max_value=10**6),
    ),
)


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=bad_trips)
def test_hypothesis_bad_trips_are_all_rejected(fast_store: Tracker, bad: dict[str, Any]) -> None:
    before = fingerprint(fast_store.path)
    with pytest.raises(InvalidInputError):
        fast_store.trips.add({**GOOD_TRIP, **bad})
    assert fingerprint(fast_store.path) == before


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lat=st.one_of(bad_numbers, st.floats(min_value=-90, max_value=90)),
    lng=st.one_of(st.floats(allow_nan=True), st.floats(min_value=-180, max_value=180)),
    where=st.integers(min_value=0, max_value=4),
)
@pytest.mark.slow
def test_hypothesis_bad_waypoints_are_all_rejected(
    fast_store: Tracker, lat: float, lng: float, where: int
) -> None:
    assume_bad = not (-90 <= lat <= 90) or not (-180 <= lng <= 180)
    trip = fast_store.trips.start()
    base = fast_store.now() + timedelta(seconds=1)
    points = [(base + timedelta(seconds=i), 10.0, 10.0) for i in range(5)]
    points[where] = (points[where][0], lat, lng)
    before = fingerprint(fast_store.path)
    if assume_bad:
        with pytest.raises(InvalidInputError):
            fast_store.trips.add_points(trip.id, points)
        assert fingerprint(fast_store.path) == before
    else:
        assert fast_store.trips.add_points(trip.id, points) == 5


EXOTIC = [
    "Zürich → Genève 🚗💨",
    "e\u0301\u0301 combining marks",
    "\u202eRTL override\u202c",
    "family 👨\u200d👩\u200d👧 ZWJ",
    "'; DROP TABLE trip;--",
    "%s %d ? :name",
    "\t tabs\nand newlines\r\n",
    "日本語のメモ",
]


@pytest.mark.parametrize("text", EXOTIC)
def test_valid_exotic_text_round_trips_exactly(store: Tracker, text: str) -> None:
    trip = store.trips.add(
        {**GOOD_TRIP, "description": text, "notes": text, "custom_data": {text[:20]: text}}
    )
    again = store.trips.get(trip.id)
    assert (again.description, again.notes) == (text, text)
    assert again.custom_data == {text[:20]: text}


def test_valid_edge_values_round_trip(store: Tracker) -> None:
    antimeridian = store.trips.add(
        {
            "distance": "0",
            "start_time": datetime(
                2026, 1, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=13))
            ),
            "start": {"lat": "-16.999999999", "lng": "179.9999999"},
            "end": {"lat": -90, "lng": "-180"},
        }
    )
    again = store.trips.get(antimeridian.id)
    assert again.distance == Decimal(0)
    assert again.start is not None and again.start.lng == Decimal("179.9999999")
    assert again.start.lat == Decimal("-16.999999999")
    assert again.end is not None and again.end.lat == Decimal(-90)
    assert again.start_time == datetime(2026, 1, 1, 10, 59, 59, 999999, tzinfo=UTC)
    big = store.trips.add({"date": "2026-03-01", "distance": "999999.999"})
    assert store.trips.get(big.id).distance == Decimal("999999.999")

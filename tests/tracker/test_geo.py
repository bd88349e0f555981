"""Pure distance logic: WGS-84 geodesics, track cleaning, unit conversion, summaries, dates."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import operator
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from geographiclib.geodesic import Geodesic  # type: ignore[import-untyped,unused-ignore]
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.errors import InvalidInputError
from tracker.geo import (
    LOCAL_MAX_LAT,
    LOCAL_STEP_M,
    Fix,
    TrackFilter,
    clean_track,
    geodesic_m,
    local_date,
    step_m,
    summarize,
    to_distance,
    track_length_m,
)

T0 = datetime(2024, 5, 14, 6, 0, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def fix(
    seconds: float,
    north_m: float = 0.0,
    *,
    accuracy: float | None = 5.0,
    lat0: float = 52.0,
    lng: float = 13.0,
) -> Fix:
    """A fix ``north_m`` metres north of (lat0, lng), ``seconds`` after T0."""
    return Fix(
        time=T0 + timedelta(seconds=seconds),
        lat=Geodesic.WGS84.Direct(lat0, lng, 0.0, north_m)["lat2"],
        lng=lng,
        accuracy=accuracy,
    )


def drive(n: int, speed_ms: float = 20.0, step_s: float = 1.0) -> list[Fix]:
    """``n`` fixes driving north at ``speed_ms``, one every ``step_s`` seconds."""
    return [fix(i * step_s, i * step_s * speed_ms) for i in range(n)]


# ------------------------------------------------------------------------------- geodesic

# Reference values published by GeographicLib itself (Karney's algorithm, WGS-84):
# * Wellington, NZ (41.32S, 174.81E) to Salamanca, Spain (40.96N, 5.50W) is 19959679.267 m:
#   the example in the geographiclib README (https://npmjs.com/package/geographiclib, also the
#   Python package's documentation, "Geodesic.WGS84.Inverse(-41.32, 174.81, 40.96, -5.50)").
# * The remaining rows are lines of GeodTest.dat (Karney's test set of geodesics, computed to
#   high precision), as GeographicLib's own test suite uses them (geographiclib
#   test/test_geodesic.py, ``testcases``: lat1, lon1, azi1, lat2, lon2, azi2, s12, ...).
GEOGRAPHICLIB_REFERENCE = [
    (-41.32, 174.81, 40.96, -5.50, 19_959_679.267),
    (35.60777, -139.44815, -11.17491, -69.95921, 8_935_244.5604818305),
    (55.52454, 106.05087, 77.03196, 197.18234, 4_105_086.1713924406),
    (-21.97856, 142.59065, 41.84138, 98.56635, 8_394_328.894657671),
]


@pytest.mark.parametrize(("lat1", "lng1", "lat2", "lng2", "s12"), GEOGRAPHICLIB_REFERENCE)
def test_geodesic_matches_geographiclib_reference_values(
    lat1: float, lng1: float, lat2: float, lng2: float, s12: float
) -> None:
    # The published figures have 1 mm (the README) or 0.1 um (GeodTest) resolution.
    assert geodesic_m(lat1, lng1, lat2, lng2) == pytest.approx(s12, abs=0.001)
    assert step_m(lat1, lng1, lat2, lng2) == pytest.approx(s12, abs=0.001)
    # A track of the two points is that geodesic.
    track = [
        Fix(time=T0, lat=lat1, lng=lng1),
        Fix(time=T0, lat=lat2, lng=((lng2 + 180) % 360) - 180),
    ]
    assert track_length_m(track) == pytest.approx(s12, abs=0.001)


def _sphere_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Haversine on the mean-radius sphere (R1 = 6,371,008.8 m): the method used until now."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def test_the_sphere_errs_by_heading_the_ellipsoid_does_not() -> None:
    # 900 km due north from the equator and 900 km due east along it, in 0.01 degree steps.
    north = [Fix(time=T0, lat=i / 100, lng=10.0) for i in range(901)]
    east = [Fix(time=T0, lat=0.0, lng=10.0 + i / 100) for i in range(901)]
    # Exact references: a meridian and the equator (this short) are geodesics themselves.
    north_ref = geodesic_m(0.0, 10.0, 9.0, 10.0)
    east_ref = geodesic_m(0.0, 10.0, 0.0, 19.0)
    assert track_length_m(north) == pytest.approx(north_ref, rel=1e-9)
    assert track_length_m(east) == pytest.approx(east_ref, rel=1e-9)

    def sphere_error(track: list[Fix], ref: float) -> float:
        return (
            sum(_sphere_m(a.lat, a.lng, b.lat, b.lng) for a, b in itertools.pairwise(track)) / ref
            - 1
        )

    # The sphere is 0.55 % long going north near the equator and 0.11 % short going east: on
    # 20,000 km of driving a year, up to 110 km an auditor's own tool would not confirm.
    assert 0.0050 < sphere_error(north, north_ref) < 0.0060
    assert -0.0013 < sphere_error(east, east_ref) < -0.0009


def test_short_steps_agree_with_the_full_geodesic() -> None:
    # step_m's local radii of curvature, against geographiclib, wherever they are used.
    rng = random.Random(14)
    for _ in range(3000):
        lat = rng.uniform(-LOCAL_MAX_LAT, LOCAL_MAX_LAT)
        lng = rng.uniform(-180.0, 180.0)
        far = Geodesic.WGS84.Direct(lat, lng, rng.uniform(0, 360), rng.uniform(0.0, LOCAL_STEP_M))
        if abs(far["lat2"]) > LOCAL_MAX_LAT:
            continue
        exact = geodesic_m(lat, lng, far["lat2"], far["lon2"])
        assert step_m(lat, lng, far["lat2"], far["lon2"]) == pytest.approx(
            exact, rel=2e-7, abs=1e-9
        )


def test_across_the_antimeridian_is_the_short_way() -> None:
    assert step_m(0.0, 179.5, 0.0, -179.5) == pytest.approx(111_319.491, abs=0.001)
    assert step_m(-16.78, 179.999, -16.78, -179.999) == pytest.approx(
        geodesic_m(-16.78, 179.999, -16.78, -179.999), rel=2e-7
    )
    assert 200 < step_m(-16.78, 179.999, -16.78, -179.999) < 220


def test_over_the_pole() -> None:
    # 0.1 degree up to the pole and 0.1 degree down the other side: 2 x 0.1 degree of meridian.
    over = step_m(89.9, 0.0, 89.9, 180.0)
    assert over == pytest.approx(2 * geodesic_m(89.9, 0.0, 90.0, 0.0), rel=1e-9)
    assert step_m(90.0, 0.0, 90.0, 123.0) == pytest.approx(0.0, abs=1e-6)
    # Pole to pole: the meridian, 20,003,931.459 m on WGS-84.
    assert step_m(90.0, 0.0, -90.0, 0.0) == pytest.approx(20_003_931.459, abs=0.001)


def test_antipodal_points_do_not_fail() -> None:
    assert step_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(20_003_931.459, abs=0.001)
    assert 19_900_000 < step_m(45.0, 10.0, -45.0, -170.0) <= 20_003_931.459


def test_tiny_distances_keep_their_precision() -> None:
    one_cm = Geodesic.WGS84.Direct(52.0, 13.0, 0.0, 0.01)["lat2"]
    assert step_m(52.0, 13.0, one_cm, 13.0) == pytest.approx(0.01, rel=1e-6)
    assert step_m(52.5, 13.4, 52.5, 13.4) == 0.0


coords = st.tuples(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False))


@given(coords, coords)
def test_step_is_symmetric_and_bounded(a: tuple[float, float], b: tuple[float, float]) -> None:
    d = step_m(*a, *b)
    assert 0.0 <= d <= 20_003_931.459 * (1 + 1e-12)
    assert d == pytest.approx(step_m(*b, *a), rel=1e-9, abs=1e-6)


# ------------------------------------------------------------------------------- Fix


def test_fix_normalises_aware_times_to_utc() -> None:
    local = datetime(2024, 5, 14, 8, 0, tzinfo=BERLIN)
    f = Fix(time=local, lat=52.0, lng=13.0)
    assert f.time == datetime(2024, 5, 14, 6, 0, tzinfo=UTC)
    assert f.time.tzinfo is UTC


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"time": datetime(2024, 5, 14, 6, 0)}, "time"),  # naive
        ({"lat": 90.000001}, "lat"),
        ({"lat": -91.0}, "lat"),
        ({"lat": math.nan}, "lat"),
        ({"lng": 180.5}, "lng"),
        ({"lng": -math.inf}, "lng"),
        ({"accuracy": -1.0}, "accuracy"),
        ({"accuracy": math.inf}, "accuracy"),
        ({"speed": math.nan}, "speed"),
    ],
)
def test_fix_rejects_bad_values(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"time": T0, "lat": 52.0, "lng": 13.0, **kwargs}
    with pytest.raises(InvalidInputError) as err:
        Fix(**values)  # type: ignore[arg-type]
    assert err.value.field == field


def test_fix_accepts_the_edges_and_is_frozen() -> None:
    f = Fix(time=T0, lat=-90.0, lng=180.0, accuracy=0.0, speed=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.lat = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("kwargs", [{"max_accuracy_m": 0.0}, {"max_speed_kmh": math.nan}])
def test_track_filter_rejects_nonsense_thresholds(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError) as err:
        TrackFilter(**kwargs)
    assert err.value.field in kwargs


def test_track_filter_defaults() -> None:
    assert TrackFilter() == TrackFilter(max_accuracy_m=50.0, max_speed_kmh=250.0)


# ------------------------------------------------------------------------------- clean_track


def test_a_clean_track_is_kept_whole() -> None:
    track = drive(200, speed_ms=36.0)  # 130 km/h at 1 Hz
    assert clean_track(track, TrackFilter()) == track


def test_poor_accuracy_is_dropped_and_unknown_accuracy_kept() -> None:
    track = [
        fix(0, 0, accuracy=5.0),
        fix(1, 20, accuracy=50.0),  # exactly the limit: kept
        fix(2, 40, accuracy=50.1),  # worse than the limit: dropped
        fix(3, 60, accuracy=None),  # unknown: kept
        fix(4, 80, accuracy=400.0),
        fix(5, 100, accuracy=3.0),
    ]
    kept = clean_track(track, TrackFilter(max_accuracy_m=50.0))
    assert kept == [track[0], track[1], track[3], track[5]]


def test_accuracy_threshold_is_configurable() -> None:
    track = [fix(0, 0, accuracy=5.0), fix(1, 20, accuracy=30.0), fix(2, 40, accuracy=5.0)]
    assert clean_track(track, TrackFilter(max_accuracy_m=20.0)) == [track[0], track[2]]
    assert clean_track(track, TrackFilter(max_accuracy_m=30.0)) == track


def test_a_single_spike_is_dropped_and_the_track_continues() -> None:
    track = drive(10)
    spiked = [*track[:5], fix(5, 2_000), *track[6:]]  # 2 km off for one second
    kept = clean_track(spiked, TrackFilter())
    assert kept == track[:5] + track[6:]
    assert track_length_m(kept) == pytest.approx(9 * 20.0, rel=1e-6)


def test_each_fix_is_judged_against_the_last_kept_fix() -> None:
    # After a spike, the next fix is 2 s from the last kept one: 60 m in 2 s is fine (108 km/h),
    # although against its immediate (dropped) predecessor it would look impossible.
    track = [fix(0, 0), fix(1, 5_000), fix(2, 60), fix(3, 90)]
    assert clean_track(track, TrackFilter(max_speed_kmh=200.0)) == [track[0], track[2], track[3]]


def test_speed_threshold_is_configurable() -> None:
    track = drive(5, speed_ms=100 / 3.6 * 1.5)  # 150 km/h
    assert clean_track(track, TrackFilter(max_speed_kmh=250.0)) == track
    # At a 100 km/h limit no jump after the first is possible: only the last fix (which nothing
    # follows to contradict it) survives the anchor rule.
    assert clean_track(track, TrackFilter(max_speed_kmh=100.0)) == [track[-1]]


def test_first_fix_outlier_is_dropped() -> None:
    track = drive(10)
    stale = fix(0, -3_000)  # a stale position 3 km away, stamped with the start time
    kept = clean_track([stale, *track[1:]], TrackFilter())
    assert kept == track[1:]


def test_good_first_fix_followed_by_a_spike_is_kept() -> None:
    track = drive(10)
    kept = clean_track([track[0], fix(1, 4_000), *track[2:]], TrackFilter())
    assert kept == [track[0], *track[2:]]


def test_two_outliers_at_the_start_are_both_dropped() -> None:
    track = drive(10)
    kept = clean_track([fix(0, 9_000), fix(1, -7_000), *track[2:]], TrackFilter())
    assert kept == track[2:]


def test_identical_timestamps_with_a_jump_are_impossible_but_duplicates_are_kept() -> None:
    a, b = fix(0, 0), fix(1, 20)
    jump = fix(1, 21)  # same second as b, one metre further
    duplicate = fix(1, 20)
    assert clean_track([a, b, jump], TrackFilter()) == [a, b]
    assert clean_track([a, b, duplicate], TrackFilter()) == [a, b, duplicate]


def test_slow_drift_over_a_long_gap_is_possible() -> None:
    # 20 km in 10 minutes (120 km/h) after a signal loss is a real drive, not a spike.
    track = [fix(0, 0), fix(1, 20), fix(601, 20_020), fix(602, 20_040)]
    assert clean_track(track, TrackFilter()) == track


def test_degenerate_inputs() -> None:
    assert clean_track([], TrackFilter()) == []
    single = [fix(0)]
    assert clean_track(single, TrackFilter()) == single
    # Two fixes that contradict each other: the anchor rule cannot confirm the first.
    assert clean_track([fix(0, 0), fix(1, 5_000)], TrackFilter()) == [fix(1, 5_000)]


def test_out_of_order_fixes_are_rejected() -> None:
    with pytest.raises(InvalidInputError) as err:
        clean_track([fix(0), fix(10), fix(5), fix(20)], TrackFilter())
    assert err.value.field == "waypoints[2].time"


Row = tuple[int, float, float, float | None]


def _fixes_from(rows: list[Row]) -> list[Fix]:
    seconds = itertools.accumulate(row[0] for row in rows)
    return [
        Fix(time=T0 + timedelta(seconds=t), lat=lat, lng=lng, accuracy=acc)
        for t, (_, lat, lng, acc) in zip(seconds, rows, strict=True)
    ]


# Fixes in a 2 km box, 0 - 30 s apart: some jumps are plausible, some are not.
fix_lists = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.floats(52.0, 52.02, allow_nan=False),
        st.floats(13.0, 13.03, allow_nan=False),
        st.one_of(st.none(), st.floats(0.0, 120.0, allow_nan=False)),
    ),
    max_size=40,
).map(_fixes_from)


@settings(max_examples=150)
@given(fix_lists, st.floats(10.0, 100.0), st.floats(20.0, 300.0))
def test_clean_track_properties(fixes: list[Fix], max_acc: float, max_kmh: float) -> None:
    flt = TrackFilter(max_accuracy_m=max_acc, max_speed_kmh=max_kmh)
    kept = clean_track(fixes, flt)
    # A subsequence of the input, in order (fixes are distinct objects, so identity works).
    it = iter(fixes)
    assert all(any(k is f for f in it) for k in kept)
    assert all(k.accuracy is None or k.accuracy <= max_acc for k in kept)
    # Every kept step is physically possible.
    for a, b in itertools.pairwise(kept):
        seconds = (b.time - a.time).total_seconds()
        d = step_m(a.lat, a.lng, b.lat, b.lng)
        assert d == 0.0 or (seconds > 0 and d / seconds <= max_kmh / 3.6)
    # Something accurate always survives, and cleaning twice changes nothing.
    accurate = [f for f in fixes if f.accuracy is None or f.accuracy <= max_acc]
    assert bool(kept) == bool(accurate)
    assert clean_track(kept, flt) == kept


# ------------------------------------------------------------------------------- length


def test_track_length_sums_the_segments() -> None:
    assert track_length_m([]) == 0.0
    assert track_length_m([fix(0)]) == 0.0
    track = [fix(0, 0), fix(1, 100), fix(2, 50), fix(3, 250)]  # 100 + 50 + 200
    assert track_length_m(track) == pytest.approx(350.0, rel=1e-9)


def test_many_short_segments_do_not_accumulate_rounding() -> None:
    track = [fix(i, i * 0.5) for i in range(20_001)]  # 10 km in half-metre steps
    assert track_length_m(track) == pytest.approx(10_000.0, rel=1e-9)


def _segments(track: list[Fix]) -> list[float]:
    return [step_m(a.lat, a.lng, b.lat, b.lng) for a, b in itertools.pairwise(track)]


def _exactly_rounded_sum(values: list[float]) -> float:
    """The float nearest the exact sum: Fraction arithmetic is exact, int/int division is
    correctly rounded. Independent of math.fsum and of how a Python version's sum() works."""
    return float(sum((Fraction(v) for v in values), Fraction(0)))


def test_length_is_an_exactly_rounded_sum() -> None:
    # Half the globe, then 2000 steps of one float ulp of longitude (about 3 nm each): a
    # left-to-right running sum rounds every tiny step against the 20,000 km total.
    track = [Fix(time=T0, lat=0.0, lng=0.0), Fix(time=T0, lat=0.0, lng=179.0)]
    lng = 179.0
    for i in range(2000):
        lng = math.nextafter(lng, 180.0)
        track.append(Fix(time=T0 + timedelta(seconds=i), lat=0.0, lng=lng))
    segments = _segments(track)
    exact = _exactly_rounded_sum(segments)
    # The case is sensitive to summation: one rounding per step is off by about a micrometre.
    # (Not checked with sum(): since Python 3.12 it compensates, and is exact here.)
    assert functools.reduce(operator.add, segments) != exact
    assert track_length_m(track) == exact


@given(fix_lists)
def test_length_is_the_exactly_rounded_sum_of_the_segments(fixes: list[Fix]) -> None:
    assert track_length_m(fixes) == _exactly_rounded_sum(_segments(fixes))


def test_track_across_the_antimeridian() -> None:
    lngs = [179.98, 179.99, -180.0, -179.99, -179.98]
    track = [Fix(time=T0 + timedelta(minutes=i), lat=-16.78, lng=x) for i, x in enumerate(lngs)]
    expected = 4 * step_m(-16.78, 0.0, -16.78, 0.01)
    assert track_length_m(track) == pytest.approx(expected, rel=1e-6)
    assert clean_track(track, TrackFilter()) == track


@given(fix_lists)
def test_length_is_non_negative_and_invariant_under_reversal(fixes: list[Fix]) -> None:
    length = track_length_m(fixes)
    assert length >= 0.0
    assert track_length_m(fixes[::-1]) == pytest.approx(length, rel=1e-9, abs=1e-9)


# ------------------------------------------------------------------------------- to_distance


def test_km_conversion_is_exact_decimal() -> None:
    assert to_distance(1500.0, "km") == Decimal("1.500")
    assert str(to_distance(1500.0, "km")) == "1.500"
    assert str(to_distance(0.1 * 3 * 1000, "km")) == "0.300"  # 300.00000000000006 m
    assert str(to_distance(0.0, "km")) == "0.000"
    assert to_distance(146_249.5918, "km").as_tuple().exponent == -3


def test_mile_conversion_uses_the_exact_international_mile() -> None:
    assert to_distance(1609.344, "mile") == Decimal("1.000")
    assert to_distance(160_934.4, "mile") == Decimal("100.000")
    assert to_distance(5000.0, "mile") == Decimal("3.107")  # 3.106855961...
    assert to_distance(804.672, "mile") == Decimal("0.500")


def test_rounding_is_half_even() -> None:
    # 1234.5 and 1235.5 are exact binary floats, so these are true ties.
    assert to_distance(1234.5, "km") == Decimal("1.234")
    assert to_distance(1235.5, "km") == Decimal("1.236")
    assert to_distance(0.5, "km") == Decimal("0.000")
    assert to_distance(1.5, "km") == Decimal("0.002")


def test_conversion_does_not_depend_on_the_global_decimal_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        assert to_distance(146_249.5918, "km") == Decimal("146.250")
        assert to_distance(146_249.5918, "mile") == Decimal("90.875")


@pytest.mark.parametrize("meters", [-0.001, math.nan, math.inf])
def test_to_distance_rejects_impossible_lengths(meters: float) -> None:
    with pytest.raises(InvalidInputError) as err:
        to_distance(meters, "km")
    assert err.value.field == "distance"


def test_to_distance_rejects_unknown_units() -> None:
    with pytest.raises(InvalidInputError) as err:
        to_distance(10.0, "furlong")  # type: ignore[arg-type]
    assert err.value.field == "unit"


# ------------------------------------------------------------------------------- summarize


def test_summary_of_a_track_with_noise() -> None:
    track = drive(61, speed_ms=25.0)  # 1500 m in a minute
    noisy = [
        fix(-5, -9_000),  # stale first fix
        *track[:10],
        fix(10, 250, accuracy=80.0),  # poor accuracy
        *track[11:30],
        fix(30, 3_000),  # spike
        *track[31:],
    ]
    summary = summarize(noisy, TrackFilter(), "km")
    assert summary.distance == Decimal("1.500")
    assert summary.unit == "km"
    assert summary.duration == timedelta(minutes=1)
    assert summary.start == track[0]
    assert summary.end == track[-1]
    assert (summary.kept, summary.dropped_accuracy, summary.dropped_speed) == (59, 1, 2)


def test_summary_in_miles() -> None:
    track = [fix(0, 0), fix(60, 1609.344)]
    summary = summarize(track, TrackFilter(), "mile")
    assert summary.distance == Decimal("1.000")
    assert summary.unit == "mile"


def test_summary_of_a_single_fix_is_a_zero_trip() -> None:
    summary = summarize([fix(0)], TrackFilter(), "km")
    assert summary.distance == Decimal("0.000")
    assert summary.duration == timedelta(0)
    assert summary.start == summary.end == fix(0)
    assert summary.kept == 1


def test_summary_without_usable_fixes_is_bad_input() -> None:
    with pytest.raises(InvalidInputError) as err:
        summarize([], TrackFilter(), "km")
    assert err.value.field == "waypoints"
    with pytest.raises(InvalidInputError) as err:
        summarize([fix(0, accuracy=300.0), fix(1, accuracy=90.0)], TrackFilter(), "km")
    assert err.value.field == "waypoints"
    assert "50 m" in str(err.value)


def test_trip_crossing_midnight_keeps_its_start_date() -> None:
    start = datetime(2024, 1, 12, 23, 50, tzinfo=BERLIN)
    track = [
        Fix(time=start + timedelta(minutes=m), lat=48.2 + m * 0.01, lng=11.6) for m in range(40)
    ]
    summary = summarize(track, TrackFilter(), "km")
    assert summary.end.time.astimezone(BERLIN).date() == date(2024, 1, 13)
    assert local_date(summary.start.time, BERLIN) == date(2024, 1, 12)
    assert summary.duration == timedelta(minutes=39)


# ------------------------------------------------------------------------------- local_date


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        # Europe/Berlin spring-forward, 2024-03-31 02:00 CET -> 03:00 CEST (01:00 UTC).
        ("2024-03-31T00:59:59+00:00", BERLIN, date(2024, 3, 31)),  # 01:59:59 CET
        ("2024-03-31T01:00:00+00:00", BERLIN, date(2024, 3, 31)),  # 03:00:00 CEST
        ("2024-03-30T22:59:59+00:00", BERLIN, date(2024, 3, 30)),  # 23:59:59 CET
        ("2024-03-30T23:00:00+00:00", BERLIN, date(2024, 3, 31)),  # 00:00 CET, UTC still 30th
        # Europe/Berlin fall-back, 2024-10-27 03:00 CEST -> 02:00 CET (01:00 UTC).
        ("2024-10-27T00:30:00+00:00", BERLIN, date(2024, 10, 27)),  # 02:30 CEST (first)
        ("2024-10-27T01:30:00+00:00", BERLIN, date(2024, 10, 27)),  # 02:30 CET (second)
        ("2024-10-26T21:59:59+00:00", BERLIN, date(2024, 10, 26)),  # 23:59:59 CEST
        ("2024-10-26T22:00:00+00:00", BERLIN, date(2024, 10, 27)),  # 00:00 CEST, UTC 26th
        ("2024-10-27T22:59:59+00:00", BERLIN, date(2024, 10, 27)),  # 23:59:59 CET
        ("2024-10-27T23:00:00+00:00", BERLIN, date(2024, 10, 28)),
        # America/New_York: spring-forward 2024-03-10 07:00 UTC, fall-back 2024-11-03 06:00 UTC.
        ("2024-03-10T04:30:00+00:00", NEW_YORK, date(2024, 3, 9)),  # 23:30 EST, UTC 10th
        ("2024-03-10T07:00:00+00:00", NEW_YORK, date(2024, 3, 10)),  # 03:00 EDT
        ("2024-11-03T03:59:59+00:00", NEW_YORK, date(2024, 11, 2)),  # 23:59:59 EDT, UTC 3rd
        ("2024-11-03T05:30:00+00:00", NEW_YORK, date(2024, 11, 3)),  # 01:30 EDT
        ("2024-11-03T06:30:00+00:00", NEW_YORK, date(2024, 11, 3)),  # 01:30 EST
        ("2024-11-04T04:59:59+00:00", NEW_YORK, date(2024, 11, 3)),  # 23:59:59 EST, UTC 4th
        # East of UTC the local date runs ahead.
        ("2024-07-14T20:30:00+00:00", ZoneInfo("Pacific/Fiji"), date(2024, 7, 15)),
        ("2024-01-01T10:00:00+00:00", ZoneInfo("Pacific/Kiritimati"), date(2024, 1, 2)),
        ("2024-01-01T10:00:00+00:00", ZoneInfo("UTC"), date(2024, 1, 1)),
    ],
)
def test_local_date(instant: str, tz: ZoneInfo, expected: date) -> None:
    assert local_date(datetime.fromisoformat(instant), tz) == expected


def test_local_date_of_a_non_utc_aware_time() -> None:
    # 00:30 in India (+05:30) on the 15th is 21:00 UTC on the 14th, 23:00 CEST on the 14th.
    start = datetime(2024, 7, 15, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert local_date(start, BERLIN) == date(2024, 7, 14)


def test_local_date_rejects_naive_times() -> None:
    with pytest.raises(InvalidInputError) as err:
        local_date(datetime(2024, 7, 15, 0, 30), BERLIN)
    assert err.value.field == "start"


def test_the_ellipsoid_constants_are_geographiclib_s_wgs84() -> None:
    # tracker.geo spells WGS-84 out so that importing it does not load geographiclib.
    from tracker import geo

    assert Geodesic.WGS84.a == geo._A
    assert Geodesic.WGS84.f * (2.0 - Geodesic.WGS84.f) == geo._E2

"""Waypoints in fixed-point integers under a track key: what reads back, the bytes a fix
costs, and distances unchanged beyond the stated precision."""

from __future__ import annotations

import itertools
import math
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import column, create_engine, select, table

from bench.waypoint_store import TARGET_BYTES, bytes_per_fix, realistic_trips
from tests.helpers.store import StepClock
from tracker.fixcodec import ACC_SCALE, DEG_SCALE, SPEED_SCALE, decode, encode, sql_encode
from tracker.geo import Fix, TrackFilter, step_m, summarize
from tracker.gpx import read_gpx
from tracker.store import Tracker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gpx"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HALF_UNIT = 0.5 / DEG_SCALE + 1e-15  # the most a stored coordinate is off, in degrees

# Values whose scaled form is (or is nearest to) an exact half: where rounding rules differ.
TIES = [0.0, -0.0, 5e-8, -5e-8, 1.5e-7, -1.5e-7, 52.12345675, -52.12345675, 0.125, -0.125]


def _sql(values: list[float], scale: float) -> list[int]:
    """``values`` encoded by SQLite, as the migration's statements do (a REAL column)."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (i INTEGER PRIMARY KEY, v REAL)")
            conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", [(v,) for v in values])
            t = table("t", column("i"), column("v"))
            query = select(sql_encode(t.c.v, scale)).order_by(t.c.i)
            return list(conn.execute(query).scalars())
    finally:
        engine.dispose()


@given(st.lists(st.floats(-180, 180), max_size=50))
def test_the_migration_sql_encodes_exactly_as_the_app(values: list[float]) -> None:
    values = [*TIES, *values]
    for scale in (DEG_SCALE, ACC_SCALE, SPEED_SCALE):
        assert _sql(values, scale) == [encode(v, scale) for v in values]


@given(st.decimals(-180, 180, places=7, allow_nan=False, allow_infinity=False))
def test_a_coordinate_with_seven_decimals_reads_back_as_the_same_float(value: Decimal) -> None:
    assert decode(encode(float(value), DEG_SCALE), DEG_SCALE) == float(value)


@given(st.floats(-180, 180))
def test_any_coordinate_reads_back_within_half_a_unit(value: float) -> None:
    assert abs(decode(encode(value, DEG_SCALE), DEG_SCALE) - value) <= HALF_UNIT


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**9),  # microseconds after the previous fix
            st.floats(-90, 90),
            st.floats(-180, 180),
            st.none() | st.floats(0, 100_000),
            st.none() | st.floats(0, 1_000),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_added_fixes_read_back_within_the_stated_precision(
    tmp_path_factory: pytest.TempPathFactory,
    fixes: list[tuple[int, float, float, float | None, float | None]],
) -> None:
    path = tmp_path_factory.mktemp("rt") / "t.db"
    t = datetime(2026, 3, 10, 7, tzinfo=UTC)
    points = []
    for step, lat, lng, acc, spd in fixes:
        t += timedelta(microseconds=step)
        points.append((t, lat, lng, acc, spd))
    with Tracker.open(path, timezone="UTC") as store:
        trip = store.trips.start({"start_time": points[0][0]})
        # Two calls: the second appends after the track's first fix and time base.
        store.trips.add_points(trip.id, points[:1])
        store.trips.add_points(trip.id, points[1:])
        back = store.trips.waypoints(trip.id)
    assert [w.seq for w in back] == list(range(len(points)))
    for w, (t, lat, lng, acc, spd) in zip(back, points, strict=True):
        assert w.time == t  # exact, to the microsecond
        assert abs(w.lat - lat) <= HALF_UNIT and abs(w.lng - lng) <= HALF_UNIT
        assert (w.accuracy is None) == (acc is None) and (w.speed is None) == (spd is None)
        if acc is not None and w.accuracy is not None:
            assert abs(w.accuracy - acc) <= 0.005 + 1e-9
        if spd is not None and w.speed is not None:
            assert abs(w.speed - spd) <= 0.005 + 1e-9


def test_gps_values_as_phones_and_gpx_write_them_round_trip_exactly(store: Tracker) -> None:
    t = datetime(2026, 3, 10, 7, 0, 0, 123456, tzinfo=UTC)
    points = [
        (t, 52.5200066, 13.404954, 3.9, 13.89),
        (t + timedelta(milliseconds=1), -33.8567844, 151.2152967, 12.0, None),
        (t + timedelta(seconds=1), -90.0, 180.0, None, 0.0),
        (t + timedelta(days=400), 0.0000001, -179.9999999, 1000.25, 999.99),
    ]
    trip = store.trips.start({"start_time": t})
    store.trips.add_points(trip.id, points)
    back = store.trips.waypoints(trip.id)
    assert [(w.time, w.lat, w.lng, w.accuracy, w.speed) for w in back] == points


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.gpx")))
def test_gpx_import_stores_every_point_within_the_stated_precision(
    store: Tracker, name: str
) -> None:
    (track,) = read_gpx(FIXTURES / name)
    (trip,) = store.trips.import_gpx(FIXTURES / name)
    back = store.trips.waypoints(trip.id)
    assert len(back) == len(track.fixes)
    for w, fix in zip(back, track.fixes, strict=True):
        assert w.time == fix.time
        assert abs(w.lat - fix.lat) <= HALF_UNIT and abs(w.lng - fix.lng) <= HALF_UNIT
        if fix.accuracy is None:
            assert w.accuracy is None
        else:
            assert w.accuracy is not None and abs(w.accuracy - fix.accuracy) <= 0.005 + 1e-9


def _length_m(points: list[tuple[float, float]]) -> float:
    return math.fsum(step_m(*a, *b) for a, b in itertools.pairwise(points))


def test_distances_change_by_less_than_the_metre_stored(db_path: Path, clock: StepClock) -> None:
    """stop() measures the stored fixes. Each is off by < 0.6 cm, so a segment by < 1.6 cm;
    over trips of 200-1,800 random-walk fixes (errors that do not cancel, unlike a smooth
    drive's) the length moved by ~0.2 m at most, under the metre a distance is stored to:
    the stored distance is the same or, on a rounding boundary, one metre off."""
    worst = 0.0
    with Tracker.open(db_path, timezone="UTC", clock=clock) as store:
        for _, fixes in realistic_trips(20_000, seed=7):
            points = [(EPOCH + timedelta(microseconds=t), *rest) for t, *rest in fixes]
            trip = store.trips.start({"start_time": points[0][0]})
            store.trips.add_points(trip.id, points)
            clock.value = points[-1][0]
            done = store.trips.stop(trip.id)
            expected = summarize([Fix(*p) for p in points], TrackFilter(), "km").distance
            assert abs(done.distance - expected) <= Decimal("0.001")
            stored = [(w.lat, w.lng) for w in store.trips.waypoints(trip.id)]
            given_m = _length_m([(lat, lng) for _, lat, lng, _, _ in points])
            worst = max(worst, abs(_length_m(stored) - given_m))
    assert worst < 1.0  # metres, over a whole trip


def test_a_fix_costs_at_most_40_bytes_with_its_index(db_path: Path, clock: StepClock) -> None:
    with Tracker.open(db_path, timezone="UTC", clock=clock) as store:
        for _, fixes in realistic_trips(60_000, seed=3):
            points = [(EPOCH + timedelta(microseconds=t), *rest) for t, *rest in fixes]
            trip = store.trips.start({"start_time": points[0][0]})
            store.trips.add_points(trip.id, points)
    assert bytes_per_fix(db_path) <= TARGET_BYTES


def test_track_keys_are_stable_across_vacuum(store: Tracker, db_path: Path) -> None:
    """``track.key`` is an INTEGER PRIMARY KEY: VACUUM renumbers only implicit rowids."""
    t = datetime(2026, 3, 10, 7, tzinfo=UTC)
    trips = []
    for i in range(3):
        trip = store.trips.start({"start_time": t})
        store.trips.add_points(trip.id, [(t + timedelta(seconds=s), 50.0 + i, 8.0) for s in (1, 2)])
        trips.append(trip.id)
    with closing(sqlite3.connect(db_path)) as con:
        before = con.execute("SELECT trip_id, key FROM track ORDER BY key").fetchall()
        con.execute("VACUUM")
        assert con.execute("SELECT trip_id, key FROM track ORDER BY key").fetchall() == before
    assert [store.trips.waypoints(i)[0].lat for i in trips] == [50.0, 51.0, 52.0]

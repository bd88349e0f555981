"""Recording trips through the library API: live, manual, edit, delete, import, read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers.store import BOTH_BACKENDS, StepClock
from tracker.errors import (
    AmbiguousIdError,
    IdTooShortError,
    InvalidInputError,
    NotFoundError,
    StateError,
)
from tracker.geo import TrackFilter
from tracker.store import Tracker

pytestmark = BOTH_BACKENDS  # the same API on a SQLite file and on PostgreSQL

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gpx"


def _line(start: datetime, n: int, step_s: float = 1.0, dlat: float = 1e-4) -> list[tuple]:
    """n fixes heading north, ``dlat`` degrees (~11 m) apart."""
    return [
        (start + timedelta(seconds=i * step_s), 52.5 + i * dlat, 13.4, 5.0, None) for i in range(n)
    ]


def test_live_recording_computes_distance_duration_points_and_date(
    store: Tracker, clock: StepClock
) -> None:
    trip = store.trips.start({"classification": "business", "description": "client"})
    assert (trip.status, trip.sync_state) == ("recording", "recording")
    start = clock()
    store.trips.add_point(trip.id, {"time": start, "lat": 52.5, "lng": 13.4, "accuracy": 4.0})
    assert store.trips.add_points(trip.id, _line(start + timedelta(seconds=1), 100)) == 100
    clock.advance(600)
    done = store.trips.stop(trip.id)
    # The bulk line starts where the single fix was: 99 steps of 1e-4 deg latitude,
    # 52.5 to 52.5099 N along a meridian: 1,101.64 m on WGS-84 (geographiclib), 1.1008 km on
    # the mean sphere that was used before.
    assert done.distance == Decimal("1.102")
    assert done.unit == "km"
    assert done.duration_ms == 600_000
    assert done.start is not None and done.start.lat == Decimal("52.5")
    assert done.end is not None and done.end.lat == Decimal("52.5099")
    assert (done.status, done.sync_state) == ("complete", "pending")
    assert str(done.date) == "2026-03-10"  # 07:00 UTC = 08:00 in Berlin
    assert store.trips.waypoint_count(trip.id) == 101


def test_stop_drops_poor_fixes_and_impossible_jumps(store_url: str, clock: StepClock) -> None:
    flt = TrackFilter(max_accuracy_m=20.0, max_speed_kmh=200.0)
    with Tracker.open_url(store_url, timezone="UTC", track_filter=flt, clock=clock) as t:
        trip = t.trips.start()
        points = _line(clock(), 11)
        points[3] = (points[3][0], points[3][1], points[3][2], 500.0, None)  # poor accuracy
        points[6] = (points[6][0], 53.5, 13.4, 5.0, None)  # 100 km jump in 1 s
        t.trips.add_points(trip.id, points)
        done = t.trips.stop(trip.id)
    # The cleaned track still runs from fix 0 to fix 10: 10 x 11.1 m.
    assert done.distance == Decimal("0.111")


def test_filter_thresholds_are_configurable(store_url: str, clock: StepClock) -> None:
    loose = TrackFilter(max_accuracy_m=1000.0, max_speed_kmh=1_000_000.0)
    with Tracker.open_url(store_url, timezone="UTC", track_filter=loose, clock=clock) as t:
        trip = t.trips.start()
        points = _line(clock(), 3)
        points[1] = (points[1][0], 53.5, 13.4, 500.0, None)
        t.trips.add_points(trip.id, points)
        assert t.trips.stop(trip.id).distance > Decimal(200)


def test_trip_date_is_the_local_date_at_start(store_url: str, clock: StepClock) -> None:
    with Tracker.open_url(store_url, timezone="Europe/Berlin", clock=clock) as t:
        # 23:30 UTC on 31 March is 01:30 on 1 April in Berlin (summer time).
        late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
        trip = t.trips.start({"start_time": late})
        assert str(trip.date) == "2026-04-01"
        # Crossing local midnight keeps the start date.
        evening = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)  # 23:30 local
        clock.value = evening + timedelta(hours=2)
        night = t.trips.start({"start_time": evening})
        done = t.trips.stop(night.id)
        assert str(done.date) == "2026-07-01" and done.duration_ms == 7_200_000
        # The day DST starts in Berlin (29 March 2026, 02:00 -> 03:00).
        dst = t.trips.add({"start_time": datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "distance": "5"})
        assert str(dst.date) == "2026-03-29"
    with Tracker.open_url(store_url, timezone="America/New_York", clock=clock) as t:
        # 03:00 UTC on 1 Nov is still 31 Oct in New York (EDT, UTC-4).
        ny = t.trips.add({"start_time": datetime(2026, 11, 1, 3, 0, tzinfo=UTC), "distance": "1"})
        assert str(ny.date) == "2026-10-31"
        assert ny.timezone == "America/New_York"


def test_manual_entry_edit_and_delete(store: Tracker) -> None:
    car = store.cars.add({"name": "Golf", "make": "VW", "year": 2021, "odometer": "45123.4"})
    trip = store.trips.add({"date": "2026-03-01", "distance": "42.195", "unit": "mile"})
    assert (trip.source, trip.distance, trip.unit) == ("manual", Decimal("42.195"), "mile")
    edited = store.trips.edit(
        trip.id,
        {
            "classification": "business",
            "description": "fair",
            "car_id": car.id,
            "customer_id": "cus_1",
            "class_segment_ids": ["cls_1"],
        },
    )
    assert (edited.classification, edited.car_id, edited.version) == ("business", car.id, 2)
    cleared = store.trips.edit(trip.id, {"description": None})
    assert cleared.description is None
    gone = store.trips.delete(trip.id)
    assert gone.lifecycle == "deleted" and gone.deleted_at is not None
    assert store.trips.list() == []
    assert [t.id for t in store.trips.list(include_deleted=True)] == [trip.id]
    assert store.trips.delete(trip.id).lifecycle == "deleted"  # harmless twice
    with pytest.raises(StateError, match="deleted"):
        store.trips.edit(trip.id, {"notes": "x"})


def test_unknown_ids_and_prefixes(store: Tracker) -> None:
    trip = store.trips.add({"date": "2026-03-01", "distance": "1"})
    assert store.trips.get(trip.id[:8]).id == trip.id
    with pytest.raises(NotFoundError):
        store.trips.get("abc")  # too short to be a prefix
    with pytest.raises(NotFoundError):
        store.trips.get("ffffffff-not-there")
    with pytest.raises(InvalidInputError, match="car_id"):
        store.trips.edit(trip.id, {"car_id": "nope"})


def test_a_prefix_too_short_or_starting_several_ids_gets_its_own_answer(store: Tracker) -> None:
    with store.db.write() as s:  # ids chosen to share prefixes (the API makes random ones)
        for suffix in ("1111", "2222", "3333"):
            s.connection().exec_driver_sql(
                "INSERT INTO car (id, name, created_at, updated_at) VALUES "
                f"('abcd0000-{suffix}', 'car {suffix}', '2026-01-01T00:00:00Z', "
                "'2026-01-01T00:00:00Z')"
            )
    with pytest.raises(IdTooShortError, match="at least 4 characters"):
        store.cars.get("abc")
    with pytest.raises(AmbiguousIdError) as ambiguous:
        store.cars.get("abcd0000")
    assert ambiguous.value.candidates == [f"abcd0000-{n}" for n in ("1111", "2222", "3333")]
    assert "give more characters" in str(ambiguous.value)
    assert store.cars.get("abcd0000-2").id == "abcd0000-2222"
    trip = store.trips.add({"date": "2026-03-01", "distance": "1", "car_id": "abcd0000-3"})
    assert trip.car_id == "abcd0000-3333"  # a prefix is stored as the whole id
    with pytest.raises(InvalidInputError, match="ambiguous"):
        store.trips.edit(trip.id, {"car_id": "abcd"})


def test_points_only_go_to_recording_trips(store: Tracker, clock: StepClock) -> None:
    manual = store.trips.add({"date": "2026-03-01", "distance": "1"})
    with pytest.raises(StateError, match="not recording"):
        store.trips.add_points(manual.id, _line(clock(), 2))


def test_waypoints_must_move_forward_in_time_across_calls(store: Tracker, clock: StepClock) -> None:
    trip = store.trips.start()
    store.trips.add_points(trip.id, _line(clock(), 5))
    with pytest.raises(InvalidInputError, match=r"waypoints\[0\]\.time"):
        store.trips.add_points(trip.id, _line(clock(), 2))
    with pytest.raises(InvalidInputError, match=r"waypoints\[1\]\.time"):
        t = clock() + timedelta(hours=1)
        store.trips.add_points(trip.id, [(t, 52.0, 13.0), (t, 52.0, 13.0)])
    assert store.trips.waypoint_count(trip.id) == 5


@pytest.mark.slow
def test_large_bulk_append_round_trips(store: Tracker, clock: StepClock) -> None:
    trip = store.trips.start()
    n = 120_000
    assert store.trips.add_points(trip.id, _line(clock(), n, step_s=0.5, dlat=1e-6)) == n
    assert store.trips.waypoint_count(trip.id) == n
    points = store.trips.waypoints(trip.id)
    assert points[-1].seq == n - 1 and points[-1].time == clock() + timedelta(seconds=(n - 1) / 2)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.gpx")))
def test_gpx_fixtures_import_as_complete_trips(store: Tracker, name: str) -> None:
    (trip,) = store.trips.import_gpx(FIXTURES / name, {"classification": "business"})
    assert (trip.source, trip.status, trip.sync_state) == ("gpx", "complete", "pending")
    assert trip.classification == "business"
    assert trip.duration_ms is not None and trip.duration_ms > 0
    assert store.trips.waypoint_count(trip.id) > 10


def test_gpx_import_of_a_bad_file_writes_nothing(store: Tracker, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gpx"
    bad.write_text("<gpx><trk><trkseg><trkpt lat='999' lon='0'/></trkseg></trk></gpx>")
    with pytest.raises(InvalidInputError, match="gpx"):
        store.trips.import_gpx(bad)
    assert store.trips.list() == []


def test_a_trip_started_in_the_future_can_still_be_stopped(
    store: Tracker, clock: StepClock
) -> None:
    """The clock stepped back after the start (or the start came from a fast clock)."""
    trip = store.trips.start({"start_time": clock() + timedelta(hours=2)})
    done = store.trips.stop(trip.id)
    assert done.end_time == done.start_time
    assert done.duration_ms == 0
    other = store.trips.start({"start_time": clock() + timedelta(hours=2)})
    with pytest.raises(InvalidInputError, match="end_time"):
        store.trips.stop(other.id, end_time=clock())  # an explicit end before the start


def test_a_gpx_file_imported_twice_adds_its_trips_once(store: Tracker) -> None:
    from tests.tracker.test_gpx import gpx, pt, trk

    text = gpx(trk([pt(0), pt(1, lat="52.51")]), trk([pt(5), pt(6, lat="52.52")]))
    first = store.trips.import_gpx(text)
    assert len(first) == 2
    assert store.trips.import_gpx(text) == []  # the same tracks: known by their keys
    assert store.trips.import_gpx(text.encode()) == []  # the same bytes, however given
    other = gpx(trk([pt(7), pt(8, lat="52.53")]))
    assert len(store.trips.import_gpx(other)) == 1
    assert store.trips.count() == 3

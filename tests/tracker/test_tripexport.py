"""The pure half of ``tracker trip export``: spreadsheet-safe cells the import reads back,
exact fixed-point text for GPX, and an export that streams (memory flat in the trips)."""

from __future__ import annotations

import io
import itertools
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tracker.csvtrips import guard, unguard
from tracker.fixcodec import ACC_SCALE, DEG_SCALE, SPEED_SCALE, encode
from tracker.gpx import DOP_TO_METRES
from tracker.store import Tracker
from tracker.tripexport import _fixed, decimal_e7, gpx_time, xml_text

_ALPHABET = ["'", "=", "+", "-", "@", "\t", "\r", "a", " "]


def test_unguard_undoes_guard_for_every_short_text() -> None:
    for size in range(4):
        for chars in itertools.product(_ALPHABET, repeat=size):
            text = "".join(chars)
            cell = guard(text)
            assert unguard(cell) == text, repr(text)
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)


def test_unguard_reads_a_hand_quoted_formula_and_leaves_other_quotes() -> None:
    assert unguard("'=SUM(A1)") == "=SUM(A1)"
    assert unguard("'it's") == "'it's"
    assert unguard("''=x") == "'=x"
    assert guard("-Sydney") == "'-Sydney" and guard("Sydney") == "Sydney"


def test_coordinates_as_text_read_back_as_the_same_stored_integer() -> None:
    for stored in [*range(-1_800_000_000, 1_800_000_001, 99_991), 1, -1, 0, 10**7, -5]:
        text = decimal_e7(stored)
        assert encode(float(text), DEG_SCALE) == stored, text
    assert decimal_e7(-338688000) == "-33.8688" and decimal_e7(0) == "0"


def test_accuracy_as_hdop_and_speed_read_back_as_the_same_stored_integer() -> None:
    for acc_cm in range(0, 10_000_000, 997):
        hdop = float(_fixed(acc_cm * 2, 3))
        assert encode(hdop * DOP_TO_METRES, ACC_SCALE) == acc_cm
    for speed_cms in range(0, 1_000_000, 331):
        assert encode(float(_fixed(speed_cms, 2)), SPEED_SCALE) == speed_cms


def test_gpx_time_is_utc_with_microseconds_only_when_there_are_some() -> None:
    assert gpx_time(0) == "1970-01-01T00:00:00Z"
    assert gpx_time(1_500_001) == "1970-01-01T00:00:01.500001Z"


class _Null(io.StringIO):
    def write(self, text: str) -> int:  # the output is not what is measured
        return len(text)


def test_export_memory_does_not_grow_with_the_number_of_trips(any_store: Tracker) -> None:
    peaks = {}
    added = 0
    for count in (1_000, 20_000):
        any_store.add_trips(
            {"date": f"2026-01-{1 + n % 28:02d}", "distance": "1.5", "description": f"t{n}"}
            for n in range(added, count)
        )
        added = count
        sink = _Null()
        tracemalloc.start()
        try:
            report = any_store.export_trips(sink, "csv")
            peaks[count] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.trips == count
    # A list of 20k rows would hold megabytes; a stream holds a row (and the SQL cache).
    assert peaks[20_000] < peaks[1_000] * 1.5 + 200_000, peaks


def test_on_postgresql_the_trips_and_fixes_come_through_server_side_cursors(
    pg_url: str,
) -> None:
    # psycopg's default cursor holds a whole result in the client (in libpq, where
    # tracemalloc does not see it); a named cursor leaves it on the server, fetched in
    # batches. Both the trips and each track's fixes are read so.
    with Tracker.open_url(pg_url, timezone="UTC") as store:
        start = datetime(2026, 3, 1, 8, tzinfo=UTC)
        trip = store.trips.start({"start_time": start})
        store.trips.add_points(
            trip.id, [(start + timedelta(seconds=s), 52.5, 13.4 + s / 1e4) for s in range(3)]
        )
        store.trips.stop(trip.id, end_time=start + timedelta(minutes=1))
        store.trips.add({"date": "2026-03-02", "distance": "1"})
        cursors: list[tuple[str, bool]] = []

        def seen(_c: Any, cursor: Any, statement: str, *_rest: Any) -> None:
            read = (
                "trips"
                if "trip_import" in statement
                else "fixes"
                if "waypoint" in statement
                else ""
            )
            if read:
                cursors.append((read, getattr(cursor, "name", None) is not None))

        event.listen(store.db.engine, "before_cursor_execute", seen)
        try:
            for fmt in ("csv", "gpx"):
                store.export_trips(_Null(), fmt)
        finally:
            event.remove(store.db.engine, "before_cursor_execute", seen)
    assert cursors == [("trips", True), ("trips", True), ("fixes", True), ("fixes", True)]


def test_an_origin_key_fits_the_import_key_limit() -> None:
    from tracker.bulkrows import MAX_KEY
    from tracker.importkeys import origin_key

    longest = origin_key("x" * 300) or origin_key("x" * (MAX_KEY - 5))
    assert longest is not None and len(longest) == MAX_KEY
    assert origin_key("") is None and origin_key(" \t") is None and origin_key("a\nb") is None
    assert origin_key(" 7f3a ") == "trip:7f3a"


@pytest.mark.parametrize(
    "text", ["plain", "a & b < c > d", "line\r\nbreak\rcr", "]]> <![CDATA[", "émoji 🚗 \t tab"]
)
def test_xml_text_reads_back_unchanged(text: str) -> None:
    import xml.etree.ElementTree as ET

    assert ET.fromstring(f"<a>{xml_text(text)}</a>").text == text


def test_on_sqlite_an_export_walks_the_list_order_index_and_sorts_nothing(
    tmp_path: Path,
) -> None:
    # The sort key must be the index's own expression (a literal '', not a bound one).
    from tracker.tripexport import trips_query

    with Tracker.open(tmp_path / "trips.db", timezone="UTC") as store:
        store.trips.add({"date": "2026-03-01", "distance": "1"})
        with store.db.read() as s:
            conn = s.connection()
            compiled = trips_query("sqlite", None, None).compile(dialect=conn.dialect)
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)]
    assert any("USING INDEX ix_trip_list_order" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan

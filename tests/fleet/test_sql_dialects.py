"""The store's raw SQL on both backends: SQLite's driver SQL (``?``/``:name``, id lists
through ``json_each``, the date sort key) rewritten for psycopg (tracker.db.for_postgres,
tracker.sqlids, tracker.sqldates), the trip list's PostgreSQL form (tracker.triplist.list_sql),
statements respelled by dialect (tracker.respell); and the reads that use them give the same
answers on a SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.store import claim, manual_trips
from tracker.db import for_postgres, qmark_to_format
from tracker.outbox import read_outbox_trips
from tracker.respell import by_dialect, respelled
from tracker.sqldates import dates_for_postgres
from tracker.sqlids import ids_for_postgres
from tracker.store import Tracker
from tracker.triplist import COUNT_SQL, PAGE_SQL, list_sql


def test_each_json_each_becomes_jsonb_array_elements_text() -> None:
    sql = (
        "SELECT id FROM trip WHERE id IN (SELECT value FROM json_each(?)) "
        "AND seq IN (SELECT CAST(value AS INTEGER) FROM JSON_EACH( :ids ))"
    )
    assert ids_for_postgres(sql) == (
        "SELECT id FROM trip WHERE id IN (SELECT value FROM "
        "jsonb_array_elements_text(CAST(? AS jsonb))) "
        "AND seq IN (SELECT CAST(value AS INTEGER) FROM "
        "jsonb_array_elements_text(CAST(:ids AS jsonb)))"
    )
    assert ids_for_postgres("SELECT json_each FROM t") == "SELECT json_each FROM t"


def test_named_placeholders_become_pyformat_but_casts_and_quotes_stay() -> None:
    sql = "SELECT x::text, ':no', :a_1, (:b) FROM t WHERE c = :c AND d LIKE '%:e'"
    assert qmark_to_format(sql) == (
        "SELECT x::text, ':no', %(a_1)s, (%(b)s) FROM t WHERE c = %(c)s AND d LIKE '%%:e'"
    )
    assert for_postgres("SELECT 1 FROM json_each(:ids)") == (
        "SELECT 1 FROM jsonb_array_elements_text(CAST(%(ids)s AS jsonb))"
    )


def test_the_trip_list_has_a_postgres_form_and_sqlite_keeps_its_own() -> None:
    assert list_sql(PAGE_SQL, "sqlite") is PAGE_SQL
    for sql in (PAGE_SQL, COUNT_SQL):
        pg = list_sql(sql, "postgresql")
        assert "INDEXED BY" in sql and "INDEXED BY" not in pg
        assert "coalesce(t.date, '')" not in pg
        assert "CAST(:state AS TEXT) IS NULL" in pg


def test_lists_filters_and_pages_read_alike(any_store: Tracker) -> None:
    ids = manual_trips(any_store, 7)
    held = {c.trip_id for c in claim(any_store, "worker-a", 2, timedelta(minutes=5))}
    assert held == set(ids[:2])  # the oldest entries
    any_store.trips.delete(ids[-1])
    listed = any_store.trips.list()
    assert [t.id for t in listed] == list(reversed(ids[:-1]))  # newest date first
    assert len(any_store.trips.list(include_deleted=True)) == 7
    in_flight = any_store.trips.list(sync_state="in_flight")
    assert {t.id for t in in_flight} == held
    assert {t.id for t in any_store.trips.list(sync_state="pending")} == set(ids[2:-1])
    first = any_store.trips.page(limit=4)
    assert first.more == 2 and first.next is not None
    rest = any_store.trips.page(limit=4, after=first.next)
    assert [t.id for t in first.trips + rest.trips] == [t.id for t in listed]
    assert rest.next is None


@pytest.mark.parametrize("any_store_url", ["postgres"], indirect=True)
def test_the_push_reads_typed_columns_as_on_sqlite(any_store: Tracker) -> None:
    trip = any_store.trips.add(
        {
            "date": "2026-03-04",
            "distance": "12.50",
            "start": {"lat": "47.1", "lng": "8.5", "address": {"city": "Zürich"}},
            "class_segment_ids": ["s1"],
            "custom_data": {"k": 1},
        }
    )
    with any_store.db.read() as s:
        read = read_outbox_trips(s.connection(), [trip.id])[trip.id]
    assert read.date is not None and read.date.isoformat() == "2026-03-04"
    assert read.start is not None and read.start.address == {"city": "Zürich"}
    assert read.end is None
    assert read.class_segment_ids == ["s1"]
    assert read.custom_data == {"k": 1}
    assert read.base is None


def test_the_date_sort_key_reads_the_typed_date_as_its_text_on_postgres() -> None:
    sql = "WHERE coalesce(t.date, '') >= ? ORDER BY COALESCE(date,''), coalesce(t.start_time, '')"
    assert dates_for_postgres(sql) == (
        "WHERE coalesce(CAST(t.date AS TEXT), '') >= ? "
        "ORDER BY coalesce(CAST(date AS TEXT), ''), coalesce(t.start_time, '')"
    )
    assert dates_for_postgres(dates_for_postgres(sql)) == dates_for_postgres(sql)
    assert "CAST(t.date AS TEXT)" in for_postgres("SELECT coalesce(t.date, '') FROM trip AS t")


def test_a_respelling_that_no_longer_matches_its_statement_is_an_error() -> None:
    sql = "SELECT json_extract(r, '$.a') FROM t"
    assert by_dialect(sql, {"json_extract(r, '$.a')": "(r -> 'a')"}) == {
        "sqlite": sql,
        "postgresql": "SELECT (r -> 'a') FROM t",
    }
    with pytest.raises(ValueError, match="not in the statement"):
        respelled(sql, {"json_extract(r, '$.b')": "(r -> 'b')"})

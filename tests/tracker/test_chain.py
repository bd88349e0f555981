"""The history hash chain's pure half (tracker.chain, tracker.verify.check_trip,
tracker.provenance rules): canonical bytes, digests and each way a chain fails, no I/O."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tracker.chain import (
    BOOKKEEPING,
    COVERED,
    HeadDigest,
    canonical,
    changes_text,
    diff,
    link_hash,
    recorded_how,
    state_digest,
    stored_form,
)
from tracker.provenance import recorded_after, trip_end
from tracker.tables import Trip
from tracker.verify import Link, check_trip

ROW = tuple(
    {"id": "t1", "distance": "12.50", "duration_ms": 60_000, "description": "Zürich"}.get(c)
    for c in COVERED
)


#: A rich trip's covered row exactly as a SQLite store holds it (read from one made by
#: ``trips.add``, its id then fixed), and its state digest computed before the chain learnt
#: PostgreSQL's typed values: existing stores must keep verifying, so this never changes.
SQLITE_ROW: tuple[str | int | None, ...] = (
    "0b7f1c3e-2a4d-4e8f-9c1b-5d6e7f809a1b",
    "complete",
    "active",
    "manual",
    None,
    "2026-03-04",
    "Europe/Zurich",
    "2026-03-04T07:15:00.000000Z",
    "2026-03-04T08:00:30.250000Z",
    "47.376887",
    "8.541694",
    "-33.8688",
    "151.2093",
    '{"address1": "Bahnhofstrasse 1", "city": "Z\\u00fcrich"}',
    "null",
    "12.50",
    "km",
    2730250,
    "business",
    "Kundentermin “Süd”",
    "a\nb",
    None,
    "c-1",
    '["s1", "s2"]',
    '{"b": 1.5, "a": [true, null]}',
    "2026-03-04T10:00:00.000000Z",
    None,
    None,
)
SQLITE_DIGEST = "c01d17afe52dbec33d14990b229b9a81ba437d262171a2bb6339f6402f157ab6"


def _chain(trip_id: str, states: list[str]) -> list[Link]:
    links, prev = [], None
    for n, state in enumerate(states):
        at = f"2026-01-0{n + 1}T00:00:00.000000Z"
        h = link_hash(prev, trip_id, at, "edited", None, None, state)
        links.append(Link(n + 1, at, "edited", None, None, state, h))
        prev = h
    return links


def test_canonical_form_is_compact_utf8_json() -> None:
    assert canonical(["a", 1, None, "é"]) == '["a",1,null,"é"]'.encode()


def test_state_digest_is_sha256_of_the_documented_bytes() -> None:
    pairs = [[name, value] for name, value in zip(COVERED, ROW, strict=True)]
    expected = hashlib.sha256(canonical(["tracker-chain/1/state", pairs])).hexdigest()
    assert state_digest(ROW) == expected


def test_a_sqlite_row_keeps_its_digest() -> None:
    assert state_digest(SQLITE_ROW) == SQLITE_DIGEST


def test_typed_values_hash_as_their_sqlite_text() -> None:
    """What PostgreSQL's driver returns for the same trip hashes to SQLite's bytes."""
    typed = list(SQLITE_ROW)
    typed[COVERED.index("date")] = date(2026, 3, 4)
    typed[COVERED.index("start_time")] = datetime(2026, 3, 4, 8, 15, tzinfo=UTC) - timedelta(
        hours=1
    )
    typed[COVERED.index("distance")] = Decimal("12.50")
    typed[COVERED.index("custom_data")] = {"b": 1.5, "a": [True, None]}
    typed[COVERED.index("class_segment_ids")] = ["s1", "s2"]
    assert state_digest(typed) == SQLITE_DIGEST
    assert diff(SQLITE_ROW, typed) == {}  # nothing changed, whichever form it came in


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("x", "x"),
        (3, 3),
        (1.5, 1.5),
        (None, None),
        (True, 1),
        (False, 0),
        (b"\x01\xff", "x'01ff'"),
        (date(999, 1, 2), "0999-01-02"),
        (datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "2026-01-02T03:04:05.000006Z"),
        (Decimal("0.10"), "0.10"),
        (Decimal("1E+2"), "100"),
        ({"k": "ü"}, '{"k": "\\u00fc"}'),
    ],
)
def test_stored_form_is_sqlites_text(value: object, stored: object) -> None:
    assert stored_form(value) == stored
    assert type(stored_form(value)) is type(stored)


def test_a_value_with_no_stored_form_is_refused() -> None:
    with pytest.raises(TypeError, match="no stored form"):
        stored_form(object())
    with pytest.raises(ValueError, match="naive"):
        stored_form(datetime(2026, 1, 1))


def test_link_hash_is_sha256_of_the_documented_bytes() -> None:
    items = ["tracker-chain/1/link", "", "t1", "at", "recorded", "by hand", None, "s"]
    expected = hashlib.sha256(canonical(items)).hexdigest()
    assert link_hash(None, "t1", "at", "recorded", "by hand", None, "s") == expected


def test_every_stored_value_changes_the_state() -> None:
    base = state_digest(ROW)
    for n, value in enumerate(ROW):
        for other in ("x", 0, None, b"\x00"):
            if other == value:
                continue
            changed = list(ROW)
            changed[n] = other
            assert state_digest(changed) != base, (COVERED[n], other)
    # Text and integer of the same digits are different stored values.
    as_text = [str(v) if c == "duration_ms" else v for c, v in zip(COVERED, ROW, strict=True)]
    assert state_digest(as_text) != base


def test_every_link_field_changes_the_hash() -> None:
    args = ("prev", "t1", "at", "edited", "detail", '{"a":[1,2]}', "state")
    base = link_hash(*args)
    for n in range(len(args)):
        changed = list(args)
        changed[n] = f"{args[n]}!"
        assert link_hash(*changed) != base  # type: ignore[arg-type]


def test_state_needs_every_covered_column() -> None:
    with pytest.raises(ValueError, match="covered"):
        state_digest(ROW[:-1])


def test_every_trip_column_is_covered_or_named_bookkeeping() -> None:
    """A new trip column must be put on one side: in the chain, or outside it on purpose."""
    columns = set(Trip.__table__.columns.keys())  # type: ignore[attr-defined]
    assert set(COVERED) | BOOKKEEPING == columns
    assert not set(COVERED) & BOOKKEEPING


def test_diff_names_each_changed_column_with_old_and_new() -> None:
    after = list(ROW)
    after[COVERED.index("notes")] = "new"
    after[COVERED.index("distance")] = "13"
    changes = diff(ROW, after)
    assert changes == {"distance": ["12.50", "13"], "notes": [None, "new"]}
    assert changes_text(changes) == '{"distance":["12.50","13"],"notes":[null,"new"]}'
    assert changes_text({}) is None


def test_head_digest_depends_on_every_trip_and_its_order() -> None:
    def head(pairs: list[tuple[str, str | None]]) -> str:
        digest = HeadDigest()
        for trip_id, h in pairs:
            digest.add(trip_id, h)
        return digest.hexdigest()

    one = head([("a", "1"), ("b", "2")])
    assert one == head([("a", "1"), ("b", "2")])
    assert one != head([("a", "1"), ("b", "3")])
    assert one != head([("a", "1")])
    assert one != head([("b", "2"), ("a", "1")])


def test_a_clean_chain_verifies_and_returns_its_head() -> None:
    links = _chain("t1", ["s0", state_digest(ROW)])
    assert check_trip("t1", ROW, links[-1].hash, links) == (None, links[-1].hash)


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        ("row", "trip's fields differ"),
        ("link", "history link 1 (edited at 2026-01-01T00:00:00.000000Z) was changed"),
        ("removed", "was changed, or a link before it removed"),
        ("last removed", "trip's fields differ"),
        ("head", "latest history link was removed"),
        ("unhashed", "lost its hash"),
        ("no links", "added outside the tool"),
        ("no row", "trip row was deleted"),
    ],
)
def test_each_way_a_chain_breaks_is_named(tamper: str, says: str) -> None:
    links = _chain("t1", ["s0", "s1", state_digest(ROW)])
    row: tuple[object, ...] | None = ROW
    head: str | None = links[-1].hash
    if tamper == "row":
        row = tuple("99" if c == "distance" else v for c, v in zip(COVERED, ROW, strict=True))
    elif tamper == "link":
        links[0] = Link(1, links[0].at, "edited", "x", None, "s0", links[0].hash)
    elif tamper == "removed":
        del links[1]
    elif tamper == "last removed":
        del links[-1]
    elif tamper == "head":
        head = links[0].hash
    elif tamper == "unhashed":
        links[1] = Link(2, links[1].at, "edited", None, None, "s1", None)
    elif tamper == "no links":
        links = []
    else:
        row = None
    reason, _ = check_trip("t1", row, head, links)  # type: ignore[arg-type]
    assert reason is not None and says in reason


@pytest.mark.parametrize(
    ("source", "origin", "key", "bulk", "how"),
    [
        ("live", None, None, False, "live GPS"),
        ("gpx", None, "gpx:ab:0", False, "GPX import"),
        ("manual", None, "csv:ab:3", True, "CSV import"),
        ("manual", None, None, True, "bulk import"),
        ("manual", None, "mine-7", False, "bulk import"),
        ("manual", None, None, False, "entered by hand"),
        ("manual", "server", None, False, "pulled from the server"),
    ],
)
def test_how_a_trip_was_recorded(
    source: str, origin: str | None, key: str | None, bulk: bool, how: str
) -> None:
    assert recorded_how(source, origin, key, bulk=bulk) == how


def test_when_a_trip_ended_and_how_long_after_it_was_recorded() -> None:
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    end = start + timedelta(minutes=30)
    assert trip_end(date(2026, 3, 1), "UTC", start, end, None) == end
    assert trip_end(date(2026, 3, 1), "UTC", start, None, 90_000) == start + timedelta(seconds=90)
    by_date = trip_end(date(2026, 3, 1), "Europe/Berlin", None, None, None)
    assert by_date == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # the next midnight in Berlin
    assert trip_end(None, "UTC", None, None, None) is None
    assert recorded_after(end + timedelta(days=2), end) == timedelta(days=2)
    assert recorded_after(start, end) == timedelta(0)  # recorded while it happened
    assert recorded_after(start, None) is None

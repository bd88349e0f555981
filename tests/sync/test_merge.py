"""Property tests (hypothesis) of the pure two-way merge, over generated Tight mileage records.

The issue's properties, on canonical records (``sync.tight.canonical``) merged with
``sync.tight.merge``:

- with local = base the result is the server's;
- with server = base it is the local one;
- no change of either side is ever dropped without a conflict;
- merging twice changes nothing;
- server normalisation alone never yields a change (the sandbox's own ``apply_item``, then
  the spellings api-facts.md documents for Tight: "12.50", numbers, milliseconds,
  ``countryCode``, expanded ``customer``/``car``/``classSegments``).

And the round trip through a real SQLite store: a server record pulled into a local trip
(``inbound.Decider`` and ``local_values``), pushed back unchanged (``mapping.save_body``),
is no change; pulled again it is nothing to write.

Generated save items are what the sandbox accepts (a property holds them to its
``validate_item``). The round trip generates only what a local trip can hold
(``holdable``) for the edit tests; the pull-and-push-back round trip takes every record:
what a local trip cannot hold (a place with one coordinate or none, a named location) is
sent back from the base as it was (``mapping.keep_unheld``), and distances compare as one
length (``KILOMETER`` under the default ``MILE`` conversion, more than 3 decimals).

A ``carId`` no local car has is held: the pull adds that car here (half the generated cars
are known to the store, half are not).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sync.sandbox.mileage import Rules, parse_instant, validate_item
from sync.sandbox.records import apply_item, blank_record
from sync.settings import MileageSettings
from sync.tight.canonical import FIELDS, Canon, canonical
from sync.tight.inbound import Decider
from sync.tight.mapping import save_body
from sync.tight.merge import changed, merge
from tracker.decisions import Applied
from tracker.inputs import MAX_DURATION_MS
from tracker.store import Tracker

PROPS = settings(max_examples=200, deadline=None, derandomize=True)
THREE_WAY_PROPS = settings(max_examples=150, deadline=None, derandomize=True)
"""Three records per example: fewer examples, the same time."""
STORE_PROPS = settings(max_examples=80, deadline=None, derandomize=True)
"""Six store transactions per example."""

STATUSES = ("BUSINESS", "NOT_BUSINESS", "PENDING")
"""``mileageStatus`` as documented (v6 samples and the v5 set; the settings' defaults)."""
ADDRESS_KEYS = ("address1", "address2", "city", "state", "zip", "phoneWork")
RULES = Rules()
CFG = MileageSettings()
KEY = CFG.local_id_key

# ------------------------------------------------------------------------ strategies
# Built once and shared: the helpers below take ``draw`` and reuse these.
_chars = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
words = st.sampled_from(["", "Client visit", "Kundentermin München", "  padded  "]) | st.text(
    _chars, max_size=12
)
"""Text as a user types it: empty (the same as absent), spaces kept, any Unicode but NUL and
lone surrogates (the store refuses those)."""


def ids(prefix: str) -> st.SearchStrategy[str]:
    # A small pool, so that two sides often pick the same id.
    return st.integers(0, 5).map(lambda n: f"{prefix}_{n:04x}")


def _scaled(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    # Integers scaled: decimals with exactly ``places`` places, and cheap to draw.
    return st.integers(low * 10**places, high * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )


_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
days = st.integers(date(1970, 1, 2).toordinal(), date(2099, 12, 30).toordinal()).map(
    date.fromordinal
)
moments = st.integers(
    0, (datetime(2099, 12, 30, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
).map(lambda n: _EPOCH + timedelta(microseconds=n))
amounts = _scaled(0, 100_000, 3)
lats = _scaled(-90, 90, 6)
lngs = _scaled(-180, 180, 6)
_flags = st.booleans()
_presence = st.sampled_from(["absent", "null", "set", "set"])
_statuses = st.sampled_from(STATUSES)
_instant_styles = st.sampled_from(["ms", "seconds", "micro", "offset"])
_quarter_hours = st.integers(-12 * 4, 14 * 4)
_address_keys = st.lists(st.sampled_from(ADDRESS_KEYS), unique=True, max_size=4)
_address_values = st.none() | words
_shapes = {
    True: st.sampled_from(["both", "none"]),
    False: st.sampled_from(["both", "none", "lat", "lng"]),
}
_units = {units: st.sampled_from(units) for units in (("MILE",), ("MILE", "KILOMETER"))}
_two_moments = st.lists(moments, min_size=2, max_size=2)
_customers, _cars = ids("cus"), ids("car")
_segment_ids = st.lists(ids("cls"), max_size=4)
_durations = st.integers(0, MAX_DURATION_MS)
_deductions = st.builds(dict, amount=st.integers(0, 10**6))
_extra_places = st.integers(1, 3)
_countries = st.sampled_from([None, "USA", "DEU"])


def decimal_text(value: Decimal, *, trim: bool) -> str:
    """``12.500`` as ``12.500`` or, trimmed, ``12.5`` (never an exponent)."""
    return format(value.normalize() if trim else value, "f")


def instant_text(draw: st.DrawFn, moment: datetime) -> str:
    """An ISO-8601 instant with an offset, as a client may send it."""
    style = draw(_instant_styles)
    if style == "ms":
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if style == "seconds":
        return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if style == "micro":
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    zone = timezone(timedelta(minutes=15 * draw(_quarter_hours)))
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def endpoint(draw: st.DrawFn, moment: datetime | None, *, holdable: bool) -> dict[str, Any] | None:
    """``start``/``end``: time, lat, lng and address, each there or not. ``holdable``: only
    what a local trip can keep (a place has both coordinates; an address needs them)."""
    point: dict[str, Any] = {}
    if moment is not None:
        point["time"] = instant_text(draw, moment)
    shape = draw(_shapes[holdable])
    if shape in ("both", "lat"):
        point["lat"] = decimal_text(draw(lats), trim=draw(_flags))
    if shape in ("both", "lng"):
        point["lng"] = decimal_text(draw(lngs), trim=draw(_flags))
    if (shape == "both" or not holdable) and draw(_flags):
        point["address"] = {key: draw(_address_values) for key in draw(_address_keys)}
    return point or None


@st.composite
def save_items(
    draw: st.DrawFn, *, holdable: bool = False, units: tuple[str, ...] = ("MILE", "KILOMETER")
) -> dict[str, Any]:
    """A ``POST /v6/mileage`` item (api-facts.md 1.3) the sandbox accepts.

    Optional fields are absent, null or set. ``holdable=True`` keeps to what a local trip
    can hold: coordinates in pairs and an address only with them (``tracker.inputs.Place``).
    """
    item: dict[str, Any] = {
        "date": draw(days).isoformat(),
        "status": "ACTIVE",
        # Always sent (save_body does): the sandbox fills PENDING for an item without one.
        "mileageStatus": draw(_statuses),
    }

    def maybe(key: str, value: Callable[[], Any]) -> None:
        presence = draw(_presence)
        if presence != "absent":
            item[key] = None if presence == "null" else value()

    maybe("description", lambda: draw(words))
    maybe("notes", lambda: draw(words))
    maybe("customerId", lambda: draw(_customers))
    maybe("carId", lambda: draw(_cars))
    maybe("classSegmentIds", lambda: draw(_segment_ids))
    item["distance"] = {
        "type": draw(_units[units]),
        "value": decimal_text(draw(amounts), trim=draw(_flags)),
    }
    for key, moment in zip(("start", "end"), sorted(draw(_two_moments)), strict=True):
        timed = draw(_flags)
        maybe(key, lambda: endpoint(draw, moment if timed else None, holdable=holdable))  # noqa: B023
    maybe("duration", lambda: draw(_durations))
    maybe("deduction", lambda: draw(_deductions))
    item["customData"] = {KEY: "trip-1"}  # a fresh id per example where the store needs one
    return item


def stored(item: dict[str, Any], record_id: str = "mlg_0000000000000001") -> dict[str, Any]:
    """The record the sandbox stores for a create: its own pure normalisation."""
    return apply_item(blank_record(record_id, RULES), copy.deepcopy(item))


def decimal_spelling(draw: st.DrawFn, value: Any) -> Any:
    """The same number as Tight may write it: trimmed, zero-padded, or a JSON number."""
    amount = Decimal(str(value))
    places = max(0, -int(amount.normalize().as_tuple().exponent))
    padded = amount.quantize(Decimal(1).scaleb(-(places + draw(_extra_places))))
    spellings: list[Any] = [format(amount.normalize(), "f"), format(padded, "f")]
    if amount == amount.to_integral_value():
        spellings.append(int(amount))
    if Decimal(repr(float(amount))) == amount:
        spellings.append(float(amount))
    return spellings[draw(st.integers(0, len(spellings) - 1))]


def instant_spelling(draw: st.DrawFn, text: str) -> str:
    """A stored UTC instant as Tight may write it: with or without milliseconds, ``Z`` or
    ``+00:00`` (api-facts.md 1.9)."""
    moment = parse_instant(text)
    assert moment is not None
    moment = moment.astimezone(UTC)
    choices = [moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")]
    choices.append(moment.isoformat(timespec="milliseconds"))
    if moment.microsecond == 0:
        choices.append(moment.isoformat(timespec="seconds").replace("+00:00", "Z"))
    return choices[draw(st.integers(0, len(choices) - 1))]


@st.composite
def tight_spellings(draw: st.DrawFn, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` (the sandbox's read shape) as Tight's read samples show it (api-facts.md
    1.3): ``12.50`` or a number, instants with milliseconds, coordinates padded or numbers,
    ``countryCode``, names in the expanded ``customer``/``car``/``classSegments`` (in any
    order), a ``location`` and a ``route``: none of it a change of the user's."""
    out = copy.deepcopy(record)
    distance = out["distance"]
    distance["value"] = decimal_spelling(draw, distance["value"])
    for key in ("start", "end"):
        point = out[key]
        if point is None:
            continue
        if point["time"] is not None:
            point["time"] = instant_spelling(draw, point["time"])
        for axis in ("lat", "lng"):
            if point[axis] is not None:
                point[axis] = decimal_spelling(draw, point[axis])
        if point["address"] is not None:
            point["address"]["countryCode"] = draw(_countries)
        if draw(_flags):
            point["location"] = {"id": "loc_0001", "name": "Office"}
    if out["customer"] is not None:
        out["customer"].update(name="ACME Corp", email="billing@acme.example")
    if out["car"] is not None:
        out["car"].update(name="Work car", make="VW", model="ID.3")
    segments = [
        {**segment, "label": {"id": "cll_1", "name": "Region", "requiredness": "NOT_REQUIRED"}}
        for segment in out["classSegments"]
    ]
    out["classSegments"] = draw(st.permutations(segments))
    if draw(_flags):
        out["route"] = {"id": "mrt_1", "waypoints": [{"lat": 52.52, "lng": 13.405}]}
    return out


canons = save_items().map(canonical)


@st.composite
def three_ways(draw: st.DrawFn) -> tuple[Canon, Canon, Canon]:
    """(base, local, server): each side keeps the base's value of a field or takes one of two
    others, so fields are unchanged, changed on one side, changed on both alike, or apart."""
    base, one, two = draw(canons), draw(canons), draw(canons)

    def side() -> Canon:
        return {name: draw(st.sampled_from([base, one, two]))[name] for name in FIELDS}

    return base, side(), side()


# ------------------------------------------------------------------------ the generators
@PROPS
@given(save_items(), save_items(holdable=True))
def test_generated_items_are_what_the_sandbox_accepts(item: Any, holdable: Any) -> None:
    # Realistic by construction: the sandbox's reading of the docs refuses nothing here.
    assert validate_item(item, creating=True, rules=RULES) == []
    assert validate_item(holdable, creating=True, rules=RULES) == []


# ------------------------------------------------------------------------ the merge
@PROPS
@given(canons, canons)
def test_with_local_equal_to_base_the_result_is_the_servers(base: Canon, server: Canon) -> None:
    result = merge(base, dict(base), server)
    assert result.clean
    assert result.local_changes == {}
    assert result.result(base) == server
    assert sorted(result.from_server) == sorted(changed(base, server))


@PROPS
@given(canons, canons)
def test_with_server_equal_to_base_the_result_is_the_local_one(base: Canon, local: Canon) -> None:
    result = merge(base, local, dict(base))
    assert result.clean
    assert result.from_server == {}
    assert result.result(local) == local
    assert result.local_changes == {name: local[name] for name in changed(base, local)}


@THREE_WAY_PROPS
@given(three_ways())
def test_no_change_of_either_side_is_dropped_without_a_conflict(
    sides: tuple[Canon, Canon, Canon],
) -> None:
    base, local, server = sides
    result = merge(base, local, server)
    merged = result.result(local)
    conflicts = {c.name: c for c in result.conflicts}
    assert len(conflicts) == len(result.conflicts)  # one conflict per field at most
    for name in FIELDS:
        here, there = local[name] != base[name], server[name] != base[name]
        if name in conflicts:
            # A conflict only where both sides changed, differently; it names all three.
            assert here and there and local[name] != server[name]
            c = conflicts[name]
            assert (c.base, c.local, c.server) == (base[name], local[name], server[name])
            continue
        if here:
            assert merged[name] == local[name], name
        if there:
            assert merged[name] == server[name], name
        if not here and not there:
            assert merged[name] == base[name], name
        # What is pushed is exactly what changed here only; taken, what changed there only.
        assert (name in result.local_changes) == (here and not there), name
        assert (name in result.from_server) == (there and not here), name


@PROPS
@given(canons, canons)
def test_without_a_base_every_difference_is_a_conflict(local: Canon, server: Canon) -> None:
    result = merge(None, local, server)
    assert [c.name for c in result.conflicts] == [n for n in FIELDS if local[n] != server[n]]
    assert result.from_server == {} and result.local_changes == {}
    assert all(c.base is None for c in result.conflicts)


@THREE_WAY_PROPS
@given(three_ways())
def test_merging_twice_changes_nothing(sides: tuple[Canon, Canon, Canon]) -> None:
    base, local, server = sides
    first = merge(base, local, server)
    merged = first.result(local)
    again = merge(base, merged, server)
    assert again.result(merged) == merged
    assert again.from_server == {}
    assert again.local_changes == first.local_changes
    assert again.conflicts == first.conflicts
    if first.clean:
        # The server's copy becomes the base once taken: what is left to push is exactly
        # the local changes, and nothing more comes from the server.
        rebased = merge(server, merged, server)
        assert rebased.clean and rebased.from_server == {}
        assert rebased.local_changes == first.local_changes
        # Pushed, the server says what the trip says: nothing at all.
        pushed = merge(merged, merged, dict(merged))
        assert (pushed.from_server, pushed.local_changes, pushed.conflicts) == ({}, {}, [])


# ------------------------------------------------------------------------ normalisation
@PROPS
@given(save_items(), st.data())
@example(
    item={
        "date": "2024-02-29",
        "mileageStatus": "BUSINESS",
        "customerId": "cus_0001",
        "classSegmentIds": ["cls_0002", "cls_0001", "cls_0002"],
        "distance": {"type": "MILE", "value": "12.5"},
        "start": {"time": "2023-11-07T06:31:56.5+01:00", "lat": "38.8977", "address": {}},
        "end": {"lng": "-77.0365", "address": {"city": "Washington", "zip": None}},
        "duration": 3600000,
        "customData": {KEY: "t1"},
    },
    data=None,  # (the @example below feeds explicit spellings)
).via("the api-facts sample, spelled by hand")
def test_server_normalisation_alone_never_yields_a_change(item: Any, data: Any) -> None:
    sent = canonical(item)
    echo = stored(item)  # the save answer: the sandbox's normalisation, the merge base
    if data is None:
        read = copy.deepcopy(echo)
        read["distance"]["value"] = "12.50"
        read["start"]["time"] = "2023-11-07T05:31:56.500Z"
        read["start"]["lat"] = 38.89770
        read["end"]["address"]["countryCode"] = "USA"
        read["customer"]["name"] = "ACME Corp"
        read["classSegments"].reverse()
    else:
        read = data.draw(tight_spellings(echo), label="read")
    assert canonical(echo) == sent
    assert canonical(read) == sent
    # The base is kept as JSON text in the store; that changes nothing either.
    assert canonical(json.loads(json.dumps(read))) == sent
    assert changed(canonical(echo), canonical(read)) == []
    result = merge(canonical(echo), sent, canonical(read))
    assert (result.from_server, result.local_changes, result.conflicts) == ({}, {}, [])


@THREE_WAY_PROPS
@given(save_items(), canons, st.data())
def test_normalisation_never_turns_a_local_change_into_a_conflict(
    item: Any, other: Canon, data: Any
) -> None:
    # The user edits some fields here; the server only re-spelled what we sent.
    sent = canonical(item)
    edited = {name: data.draw(st.sampled_from([sent[name], other[name]])) for name in FIELDS}
    read = data.draw(tight_spellings(stored(item)))
    result = merge(canonical(stored(item)), edited, canonical(read))
    assert result.clean
    assert result.from_server == {}
    assert result.local_changes == {n: edited[n] for n in FIELDS if edited[n] != sent[n]}


# ------------------------------------------------------------------------ the round trip
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    """One real SQLite store for a property's examples (each uses fresh ids); half the cars
    the generated ``carId`` values name are known here, the pull adds the others."""
    path: Path = tmp_path_factory.mktemp("merge") / "t.db"
    with Tracker.open(path, timezone="UTC") as opened:
        for n in range(3):
            opened.cars.add({"name": f"Car {n}", "remote_id": f"car_{n:04x}"})
        yield opened


_record_ids = count(1)


def pull(store: Tracker, cfg: MileageSettings, record: dict[str, Any]) -> Applied:
    """One page of one record, decided and applied as the mileage pull does."""
    decider = Decider(cfg, "ask")
    remote_ids, local_ids, decide = decider.page([record])
    applied = store.inbox.apply(remote_ids, local_ids, decide)
    assert decider.unreadable == []
    return applied


def pushed(store: Tracker, cfg: MileageSettings, trip_id: str) -> Canon:
    """The canonical form of what a push of the trip would send now."""
    local = store.inbox.local([trip_id])[trip_id]
    return canonical(save_body(local.trip, cfg, base=local.base))


def nothing_to_write(applied: Applied) -> bool:
    return (applied.unchanged, applied.updated, applied.conflicts, applied.changed) == (
        1,
        0,
        [],
        [],
    )


@STORE_PROPS
@given(kilometres=st.sampled_from(["MILE", "KILOMETER"]), data=st.data())
def test_pulled_values_pushed_back_unchanged_are_no_change(
    store: Tracker, kilometres: str, data: Any
) -> None:
    cfg = MileageSettings(kilometres_as="KILOMETER") if kilometres == "KILOMETER" else CFG
    units = ("MILE", "KILOMETER")  # either way: distances compare as one length
    record_id = f"mlg_{next(_record_ids):016x}"
    item = data.draw(save_items(units=units), label="item")
    trip_id = item["customData"][KEY] = str(uuid.uuid4())
    record = data.draw(tight_spellings(stored(item, record_id)), label="record")

    created = pull(store, cfg, record)
    assert created.created == 1
    assert pushed(store, cfg, trip_id) == canonical(record)
    # Pulled again, in another spelling of the same values: nothing to write.
    respelled = data.draw(tight_spellings(stored(item, record_id)), label="respelled")
    assert nothing_to_write(pull(store, cfg, respelled))

    # Edited on the server (by another client): the trip takes the new values once.
    edit = data.draw(save_items(units=units), label="edit")
    edit["customData"] = item["customData"]
    record2 = data.draw(tight_spellings(stored(edit, record_id)), label="record2")
    taken = pull(store, cfg, record2)
    differ = changed(canonical(record), canonical(record2))
    assert (taken.updated, taken.unchanged, taken.conflicts) == (
        (1, 0, []) if differ else (0, 1, [])
    )
    assert pushed(store, cfg, trip_id) == canonical(record2)
    assert nothing_to_write(pull(store, cfg, record2))


@STORE_PROPS
@given(data=st.data())
def test_a_local_edit_against_a_respelled_server_copy_is_no_conflict(
    store: Tracker, data: Any
) -> None:
    cfg = CFG
    record_id = f"mlg_{next(_record_ids):016x}"
    item = data.draw(save_items(holdable=True, units=("MILE",)), label="item")
    trip_id = item["customData"][KEY] = str(uuid.uuid4())
    assert pull(store, cfg, data.draw(tight_spellings(stored(item, record_id)))).created == 1
    notes = data.draw(words.filter(bool), label="notes")
    store.trips.edit(trip_id, {"notes": notes})  # a change waiting to be pushed
    mine = pushed(store, cfg, trip_id)

    applied = pull(store, cfg, data.draw(tight_spellings(stored(item, record_id))))
    assert (applied.updated, applied.conflicts, applied.changed) == (0, [], [])
    # The trip keeps the local edit, and it is all that a push would change.
    assert pushed(store, cfg, trip_id) == mine
    assert changed(canonical(stored(item, record_id)), mine) == (
        [] if notes == item.get("notes") else ["notes"]
    )

"""V: bad local input, through the library and the CLI.

Reuses the corpus and strategies of ``tests/tracker/test_inputs.py`` (fixed list of bad
trips and waypoints, hypothesis strategies for bad trips and coordinates) and adds bad
edits, then counts: cases, typed rejections (``InvalidInputError`` naming a field), rows
changed (whole-database fingerprint before/after), and the CLI's exit code and one-line
message. The opposite oracles: valid exotic text round-trips byte-identical through the
file, the push body and the sandbox (V6); a stored record that cannot be sent is parked,
not blocking the queue (V7).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.cli import main
from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxTransport, create_app
from sync.settings import MileageSettings, Settings
from tests.helpers.remote import push
from tests.helpers.store import StepClock
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import KEY
from tests.reliability.profile import size
from tests.tracker.snapshot import fingerprint
from tests.tracker.test_inputs import (
    BAD_POINTS,
    BAD_TRIPS,
    EXOTIC,
    GOOD_TRIP,
    T0,
    bad_numbers,
    bad_trips,
)
from tracker.errors import InvalidInputError
from tracker.store import Tracker

CASES = size(1_000, 50_000)

bad_text = st.one_of(
    st.text(max_size=20).map(lambda s: s + "\x00"),
    st.text(max_size=20).map(lambda s: "\udc80" + s),
    st.integers(10_001, 10_050).map(lambda n: "xy" * (n // 2 + 1)),
)
bad_edits = st.one_of(
    st.builds(lambda s: {"notes": s}, bad_text),
    st.builds(lambda s: {"description": s}, bad_text),
    st.builds(
        lambda d: {"distance": d},
        st.one_of(
            st.decimals(max_value=Decimal("-0.001"), allow_nan=False),
            st.just(Decimal("NaN")),
            st.just(float("inf")),
            st.decimals(min_value=Decimal("1000000.001"), allow_nan=False, allow_infinity=False),
        ),
    ),
    st.builds(lambda k: {k: None}, st.sampled_from(["classification", "date", "distance"])),
    st.builds(lambda n: {"custom_data": {f"k{i}": i for i in range(n)}}, st.integers(50, 80)),
    st.just({}),
)
bad_point_lists = st.builds(
    lambda lat, lng, where: (lat, lng, where),
    bad_numbers,
    st.one_of(st.floats(min_value=-180, max_value=180), bad_numbers),
    st.integers(min_value=0, max_value=4),
)


class Counts:
    def __init__(self) -> None:
        self.c: Counter[str] = Counter()
        self.problems: list[str] = []

    def check(self, store: Tracker, label: str, call: Any) -> None:
        """Run ``call``: it must raise InvalidInputError naming a field, changing nothing."""
        before = fingerprint(store.path)
        self.c["cases"] += 1
        try:
            call()
        except InvalidInputError as err:
            if err.field:
                self.c["typed rejections"] += 1
            else:
                self.problems.append(f"{label}: error names no field")
        except Exception as err:
            self.c["untyped errors"] += 1
            self.problems.append(f"{label}: {type(err).__name__}: {err}"[:300])
        else:
            self.c["accepted"] += 1
            self.problems.append(f"{label}: accepted")
        after = fingerprint(store.path)
        changed = sum(before[t] != after[t] for t in before)
        if changed:
            self.c["cases that changed rows"] += 1
            self.problems.append(f"{label}: {changed} table(s) changed")


@pytest.fixture
def fast_store(tmp_path: Path) -> Iterator[Tracker]:
    with Tracker.open(
        tmp_path / "tracker.db", timezone="UTC", busy_timeout=1.0, clock=StepClock(T0)
    ) as t:
        yield t


@pytest.mark.timeout(size(120, 7200))
def test_bad_local_input_is_rejected_typed_and_changes_nothing(
    fast_store: Tracker, scorecard: Scorecard, capsys: pytest.CaptureFixture[str]
) -> None:
    store = fast_store
    good = store.trips.add(GOOD_TRIP)
    live = store.trips.start({"start_time": T0 - timedelta(minutes=5)})
    counts = Counts()

    # 1. The fixed corpus (tests/tracker/test_inputs.py), library API.
    for label, override, _field in BAD_TRIPS:
        data = {**GOOD_TRIP, **override}
        data = {k: v for k, v in data.items() if v is not None or k != "date"}
        counts.check(store, f"fixed trip {label}", lambda d=data: store.trips.add(d))
    base = [(T0 - timedelta(seconds=10 - i), 52.0, 13.0) for i in range(5)]
    for label, point, _field in BAD_POINTS:
        counts.check(
            store,
            f"fixed point {label}",
            lambda p=point: store.trips.add_points(live.id, [p, *base]),
        )
    fixed = counts.c["cases"]

    # 2. Hypothesis: bad trips, bad waypoint lists, bad edits.
    @settings(
        max_examples=CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        kind=st.sampled_from(["trip", "points", "edit"]),
        trip=bad_trips,
        point=bad_point_lists,
        edit=bad_edits,
    )
    def case(kind: str, trip: dict[str, Any], point: Any, edit: dict[str, Any]) -> None:
        if kind == "trip":
            counts.check(
                store, f"trip {trip!r:.200}", lambda: store.trips.add({**GOOD_TRIP, **trip})
            )
        elif kind == "points":
            lat, lng, where = point
            fixes = [(T0 + timedelta(seconds=1 + i), 10.0, 10.0) for i in range(5)]
            fixes[where] = (fixes[where][0], lat, lng)
            counts.check(store, f"points {point!r}", lambda: store.trips.add_points(live.id, fixes))
        else:
            counts.check(store, f"edit {edit!r:.200}", lambda: store.trips.edit(good.id, edit))

    case()
    generated = counts.c["cases"] - fixed

    # 3. The CLI: exit 65, one line on stderr, no traceback, nothing written (below: usage).
    cli_cases = [
        ["trip", "add", "--distance", "12,5", "--date", "2026-03-01"],
        ["trip", "add", "--distance", "-3", "--date", "2026-03-01"],
        ["trip", "add", "--distance", "nan", "--date", "2026-03-01"],
        ["trip", "add", "--distance", "inf", "--date", "2026-03-01"],
        ["trip", "add", "--distance", "1e308", "--date", "2026-03-01"],
        ["trip", "add", "--distance", "1.2345", "--date", "2026-03-01"],
        ["trip", "add", "--distance", "3"],
        ["trip", "add", "--distance", "3", "--date", "9999-01-01"],
        ["trip", "add", "--distance", "3", "--start-time", "1969-12-31T08:00:00+00:00"],
        ["trip", "add", "--distance", "3", "--date", "2026-03-01", "-d", "x" * 501],
        ["trip", "start", "--at", "yesterday"],
        ["trip", "start", "--lat", "95", "--lng", "0"],
        ["trip", "point", live.id, "95", "0"],
        ["trip", "point", live.id, "0", "181"],
        ["trip", "point", live.id, "nan", "0"],
        ["trip", "point", live.id, "--", "0", "-inf"],
        ["trip", "edit", good.id, "--distance", "-1"],
        ["trip", "show", "no-such-trip"],
    ]
    # A value outside an option's choices is refused by the parser: a usage error (exit 2)
    # listing the choices, and nothing written either.
    usage_cases = [
        ["trip", "add", "--distance", "3", "--date", "2026-03-01", "-c", "charity"],
        ["trip", "add", "--distance", "3", "--date", "2026-03-01", "--unit", "furlong"],
    ]
    cli_ok = 0
    cli_problems: list[str] = []
    settings_env = pytest.MonkeyPatch()
    settings_env.setenv("TRACKER_HOME", str(store.path.parent))
    settings_env.setenv("TRACKER_TIMEZONE", "UTC")
    try:
        for argv in cli_cases + usage_cases:
            before = fingerprint(store.path)
            with pytest.raises(SystemExit) as done:
                main(argv)
            _out, err = capsys.readouterr()
            code = done.value.code
            if argv in usage_cases:
                clean = code == 2 and "is not one of" in err and "Traceback" not in err
            else:
                one_line = len(err.strip().splitlines()) == 1
                clean = code == 65 and one_line and "Traceback" not in err
            if clean and fingerprint(store.path) == before:
                cli_ok += 1
                continue
            cli_problems.append(f"{argv} -> {code}: {err.strip()[:200]}")
    finally:
        settings_env.undo()

    c = counts.c
    rows = [
        Row(
            "V bad inputs rejected with a typed error naming the field",
            ratio(
                c["typed rejections"], c["cases"], f"cases ({fixed} fixed + {generated} generated)"
            ),
            "100 %",
            c["typed rejections"] == c["cases"],
        ),
        Row(
            "V cases that changed the database",
            ratio(c["cases that changed rows"], c["cases"], "cases"),
            "0",
            c["cases that changed rows"] == 0,
        ),
        Row(
            "V CLI: exit 65 and one line (2 and the choices for a usage error), nothing written",
            ratio(cli_ok, len(cli_cases) + len(usage_cases), "commands"),
            "100 %",
            cli_ok == len(cli_cases) + len(usage_cases),
        ),
    ]
    scorecard.record(
        "V",
        title="Bad local input",
        section=11,
        rows=rows,
        raw={**c, "fixed": fixed, "generated": generated, "cli_ok": cli_ok, "cli": len(cli_cases)},
        notes="fixed corpus and strategies shared with tests/tracker/test_inputs.py",
    )
    assert generated >= CASES
    assert not counts.problems, counts.problems[:5]
    assert not cli_problems, cli_problems[:5]


@pytest.mark.tampers  # writes a row the tool would refuse, with plain SQL
def test_exotic_text_round_trips_and_unsendable_rows_never_block(
    tmp_path: Path, scorecard: Scorecard
) -> None:
    sandbox = Sandbox(rate_limit=None)
    home = tmp_path / "home"
    with Tracker.open(home / "tracker.db", timezone="UTC") as store:
        ids = {
            text: store.trips.add(
                {**GOOD_TRIP, "description": text[:500], "notes": text, "custom_data": {"t": text}}
            ).id
            for text in EXOTIC
        }
        (poison,) = [store.trips.add(GOOD_TRIP).id]
        with store.db.write() as session:  # legacy data that bypassed validation
            session.connection().exec_driver_sql(
                "UPDATE trip SET custom_data = '{\"k\": NaN}' WHERE id = ?", (poison,)
            )
        mileage = MileageSettings(url="http://sandbox", token=DEFAULT_TOKEN)
        engine = SyncEngine(
            Settings(home=home, mileage=mileage),
            store,
            transport=SandboxTransport(create_app(sandbox)),
        )
        report = push(engine)
        engine.close()
        exact = 0
        for text, trip_id in ids.items():
            local = store.trips.get(trip_id)
            (record,) = sandbox.records_with_custom(KEY, trip_id)
            sent = next(d.item for d in sandbox.deliveries if d.custom(KEY) == trip_id)
            same = (
                local.notes == text
                and record["notes"] == text
                and sent["notes"] == text
                and record["customData"]["t"] == text
                and json.dumps(record["notes"]).encode() == json.dumps(text).encode()
            )
            exact += same
        parked = [(p.trip_id, p.error_type) for p in report.parked]
    rows = [
        Row(
            "V6 valid exotic text round-tripped byte-identical (file, push body, sandbox)",
            ratio(exact, len(EXOTIC), "strings"),
            "100 %",
            exact == len(EXOTIC),
        ),
        Row(
            "V7 stored record that cannot be sent: parked, queue not blocked",
            f"parked {parked and parked[0][1]}; synced {report.synced}/{len(EXOTIC)} others",
            "parked LOCAL_INVALID; others synced",
            parked == [(poison, "LOCAL_INVALID")] and report.synced == len(EXOTIC),
        ),
    ]
    scorecard.record(
        "V6-V7",
        title="Valid exotic input and unsendable stored rows",
        section=11,
        rows=rows,
        raw={"exotic": len(EXOTIC), "exact": exact, "parked": parked, "synced": report.synced},
    )
    assert exact == len(EXOTIC)
    assert parked == [(poison, "LOCAL_INVALID")]
    assert report.synced == len(EXOTIC)

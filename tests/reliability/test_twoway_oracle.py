"""The two-way oracle's unknown-outcome window (tests/reliability/twoway.py), on a history
played by hand: the interleaving campaign A8 met when it failed one run in three.

A child's create reached Tight and its answer was lost (the child was killed); the next
child read the page holding the record and was killed before storing it (it re-read the
same page: the pull's checkpoint had not moved); the record was deleted on Tight; a later
child proved the create absent and sent it again. The file never learned the first id, so
the create is inside the documented window; a read by a run that lived to store it, or an
id the file names, puts it outside.
"""

from __future__ import annotations

from pathlib import Path

from tests.reliability.twoway import (
    KEY,
    Event,
    LocalAck,
    LocalRow,
    LocalState,
    Verdicts,
    check,
    killed_runs,
)

TRIP = "5a1e0f3c-0000-4000-8000-00000000000a"
FIRST, AGAIN = "mlg_00000000000000f1", "mlg_00000000000000a2"
FIELDS = {"description": "L1", "notes": None, "mileageStatus": "PENDING"}


def _verdicts(killed: set[str], told: str = "") -> Verdicts:
    history = [
        Event(0, "created", FIRST, "c1.1", dict(FIELDS), TRIP),
        Event(1, "read", FIRST, "c2.1", dict(FIELDS), TRIP),
        Event(2, "other-delete", FIRST, "?", dict(FIELDS), TRIP),
        Event(3, "created", AGAIN, "c3.1", dict(FIELDS), TRIP),
    ]
    row = LocalRow(TRIP, AGAIN, "active", None, "local", "L1", None, "unclassified")
    local = LocalState({TRIP: row}, {}, 0, {TRIP: told} if told else {})
    records = {AGAIN: {"id": AGAIN, **FIELDS, "customData": {KEY: TRIP}}}
    return check([LocalAck(TRIP, "add")], local, history, records, killed)


def test_a_read_lost_with_its_killed_run_is_inside_the_unknown_outcome_window() -> None:
    v = _verdicts({"c2.1"})
    assert (v.recreated, v.deletes_lost, v.duplicates, v.diverged) == ([], [], [], [])
    (said,) = v.recreated_unknown
    assert said.endswith("(read only by runs killed before storing it: ['c2.1'])")


def test_a_read_by_a_run_that_lived_to_store_it_makes_the_create_a_failure() -> None:
    v = _verdicts(set())
    assert v.recreated == [f"{TRIP}: created again as {AGAIN} after {FIRST} was deleted on Tight"]
    assert v.duplicates == [f"{TRIP}: created 2 times"]
    assert v.deletes_lost == [f"{TRIP} ({FIRST}): active, remote id {AGAIN}"]


def test_an_id_the_file_names_makes_the_create_a_failure_even_after_a_killed_read() -> None:
    v = _verdicts({"c2.1"}, told=f" | reconciled: found on the server as {FIRST}")
    assert len(v.recreated) == 1 and not v.recreated_unknown


def test_killed_runs_are_the_runs_a_child_started_and_never_ended(tmp_path: Path) -> None:
    (tmp_path / "c7.out").write_text("READY\nSYNC\nSYNCED failures=-\nACK x add\nSYNC\n")
    (tmp_path / "c8.out").write_text("READY\nSYNC\nSYNCED failures=-\n")
    (tmp_path / "c9.out").write_text("READY\n")
    outs = [tmp_path / f"c{n}.out" for n in (7, 8, 9, 10)]  # c10 never wrote a line
    assert killed_runs(outs) == {"c7.2"}

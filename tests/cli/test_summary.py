"""The lines a sync ends with: what happened, what needs the user, the command to run."""

from __future__ import annotations

from typing import Any

import pytest

from sync.cli.summary import summary_lines
from tests.helpers.cli import run
from tracker.store import Tracker

QUIET_JOURNAL = {"pending": 0, "parked": 0, "conflicts": 0}


def _push(**counts: Any) -> dict[str, Any]:
    base = {"synced": 0, "deleted": 0, "deleted_locally": 0, "retried": 0, "in_doubt": 0}
    return base | {"parked": [], "requests": 0} | counts


def test_a_push_says_what_it_did_and_what_needs_the_user() -> None:
    doc = {
        "push": _push(synced=3, deleted_locally=1, parked=[{"trip_id": "x"}], requests=2),
        "journal": {"pending": 2, "parked": 1, "conflicts": 0},
    }
    assert summary_lines(doc) == [
        "push: 3 saved on Tight; 1 deleted before they reached Tight (nothing to send); "
        "1 parked: `tracker parked list` (2 requests)",
        "queue: 2 pending; 1 parked: `tracker parked list`",
    ]


def test_steps_that_did_nothing_say_so_in_one_line_each() -> None:
    doc = {
        "costs": {
            "items": 50,
            "complete": True,
            "inserted": 0,
            "updated": 0,
            "marked_not_seen": 0,
            "quarantined": 2,
            "ambiguous": 0,
        },
        "mileage": {"records": 0, "updated": 0, "created": 0, "deleted": 0, "conflicts": []},
        "push": _push(),
        "journal": QUIET_JOURNAL,
    }
    assert summary_lines(doc) == [
        "costs: 50 read; 2 quarantined: `tracker costs list --quarantined`",
        "from Tight: 0 records read, nothing new",
        "push: nothing was due",
        "queue: empty, all synced",
    ]


@pytest.mark.usefixtures("point_at_sandbox")
def test_a_trip_deleted_before_it_was_pushed_is_not_said_deleted_on_tight(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    with Tracker.open(tmp_path / "home" / "tracker.db", timezone="UTC") as store:
        trip = store.trips.add({"date": "2026-03-01", "distance": "2"})
        store.trips.delete(trip.id)
    code, out, err = run(capsys, "sync", "--push")
    assert code == 0, err
    assert "1 deleted before they reached Tight (nothing to send)" in out
    assert "deleted on Tight" not in out


def test_a_step_that_failed_says_why_instead_of_counting_nothing() -> None:
    doc = {
        "mileage": {"records": 0, "updated": 0, "created": 0, "deleted": 0, "conflicts": []},
        "push": _push(retried=1),
        "failures": {"mileage": {"error": "TransientRemoteError", "message": "cannot connect"}},
        "journal": {"pending": 1, "parked": 0, "conflicts": 0},
    }
    assert summary_lines(doc) == [
        "from Tight: not done: cannot connect",
        "push: 1 kept for later",
        "queue: 1 pending",
    ]

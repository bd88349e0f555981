"""Odd items on one cost page (issue 13, finding 9): duplicate IDs, an ID sent as a string
beside the same ID as a number, and a ``LastUpdated`` in 2099.

A stdlib server on loopback plays the page; the pull runs through the real CLI into a real
SQLite file. One copy per ID is stored, deterministically, and said so; the counts add up;
a quarantined copy is not cleared by its valid twin on the same page; a date from the
future is quarantined, not stored, so it cannot freeze the cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from sync.cli.exitcodes import ExitCode
from sync.settings import Settings
from tests.helpers.cli import run
from tests.helpers.loopback import Quiet, serve
from tracker.costs import CostIn
from tracker.costs.upsert import store_costs
from tracker.store import Tracker

LIST = "/api/business-mobile/v1/additional-costs/list"
MARCH = "2026-03-01 10:00:00"
COUNTS = ("inserted", "updated", "unchanged", "stale", "duplicates", "quarantined")


class OnePage(Quiet):
    """A bare-array costs list: ``page`` on page 1, nothing after it."""

    page: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        items = self.page if url.path == LIST and query.get("page") == "1" else []
        data = json.dumps(items).encode()
        self.send_response(200 if url.path == LIST else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch, page: list[dict[str, Any]]) -> Iterator[None]:
    with serve(type("Handler", (OnePage,), {"page": page})) as url:
        monkeypatch.setenv("TRACKER_COSTS_URL", f"{url}/api/business-mobile")
        monkeypatch.setenv("TRACKER_COSTS_TOKEN", "t0ken")
        yield


def pull(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, "sync", "--pull", "--json")
    return code, json.loads(out)["costs"], err


def opened() -> Tracker:
    return Tracker.open(Settings().db_path, timezone="UTC")


def test_duplicate_and_mistyped_ids_on_one_page_are_stored_once_and_counted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = [
        {"ID": 1, "Amount": 1, "LastUpdated": "2026-03-02 10:00:00"},  # newest: kept
        {"ID": 1, "Amount": 2, "LastUpdated": MARCH},
        {"ID": 2, "Amount": 3, "LastUpdated": MARCH},
        {"ID": 2, "Amount": 4, "LastUpdated": MARCH},  # a tie: the later copy is kept
        {"ID": "7", "Amount": 5, "LastUpdated": MARCH},  # quarantined: ID is a string
        {"ID": 7, "Amount": 6, "LastUpdated": MARCH},  # valid twin: stored, clears nothing
        {"ID": 8, "Amount": 7, "LastUpdated": MARCH},
    ]
    with serving(monkeypatch, page):
        code, report, err = pull(capsys)
    assert code == ExitCode.DATAERR, err  # a quarantined item needs the user
    assert report["items"] == len(page) == sum(report[name] for name in COUNTS)
    assert (report["inserted"], report["duplicates"], report["quarantined"]) == (4, 2, 1)
    assert report["repeated_ids"] == ["1", "2", "7"]
    assert "came more than once on one page" in err
    with opened() as store:
        assert store.costs.get(1).amount == Decimal("1")
        assert store.costs.get(2).amount == Decimal("4")
        assert store.costs.get(7).amount == Decimal("6")
        (bad,) = store.costs.quarantine()
    assert bad.cost_id == "7"
    assert '"ID": "7"' in bad.raw


def test_a_last_updated_from_the_future_is_quarantined_and_cannot_freeze_the_cost(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(monkeypatch, [{"ID": 9, "Amount": 1, "LastUpdated": "2099-01-01 00:00:00"}]):
        code, report, err = pull(capsys)
    assert code == ExitCode.DATAERR, err
    assert (report["inserted"], report["quarantined"]) == (0, 1)
    assert "from the future" in report["quarantine_reasons"][0]["reason"]
    # The platform fixes the date: the real update is stored and leaves quarantine.
    with serving(monkeypatch, [{"ID": 9, "Amount": 2, "LastUpdated": MARCH}]):
        code, report, err = pull(capsys)
    assert code == ExitCode.OK, err
    assert (report["inserted"], report["stale"], report["resolved"]) == (1, 0, 1)
    with opened() as store:
        assert store.costs.get(9).amount == Decimal("2")
        assert store.costs.quarantine() == []


def test_a_stamp_from_the_future_stored_before_the_rule_never_makes_updates_stale(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A database written before the rule holds cost 9 stamped 2099 (stored directly here,
    # as the old upsert did); the next pull's real update must win over it.
    with opened() as store, store.db.write() as session:
        frozen = CostIn(
            id=9,
            last_updated=datetime(2099, 1, 1, tzinfo=UTC),
            amount=Decimal("1"),
            currency="EUR",
            raw={"ID": 9},
        )
        now = datetime.now(UTC)
        store_costs(session.connection(), [frozen], None, now, timedelta(minutes=5))
    with serving(monkeypatch, [{"ID": 9, "Amount": 2, "LastUpdated": MARCH}]):
        code, report, err = pull(capsys)
    assert code == ExitCode.OK, err
    assert (report["updated"], report["stale"]) == (1, 0)
    with opened() as store:
        assert store.costs.get(9).amount == Decimal("2")


class OneCost(OnePage):
    """``GET .../additional-costs/9``: cost 9 with the date in ``page[0]``."""

    def do_GET(self) -> None:
        if not self.path.endswith("/v1/additional-costs/9"):
            super().do_GET()
            return
        data = json.dumps(self.page[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_refresh_answering_a_date_from_the_future_is_quarantined(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    future = [{"ID": 9, "Amount": 1, "LastUpdated": "2099-01-01 00:00:00"}]
    with serve(type("Handler", (OneCost,), {"page": future})) as url:
        monkeypatch.setenv("TRACKER_COSTS_URL", f"{url}/api/business-mobile")
        monkeypatch.setenv("TRACKER_COSTS_TOKEN", "t0ken")
        code, out, err = run(capsys, "costs", "refresh", "9", "--json")
    assert code == ExitCode.OK, err
    result = json.loads(out)
    assert (result["outcome"], result["cost"]) == ("quarantined", None)
    assert "from the future" in result["reason"]
    with opened() as store:
        assert [q.cost_id for q in store.costs.quarantine()] == ["9"]

"""Finding 4: deep, huge-number and NaN JSON from a remote never crashes a run.

A costs page with one item nested 1,000 levels deep, one with ``NaN``, one with a
5,000-digit integer and one whose ``Labels`` string nests 1,000 levels: those four are
quarantined, the rest of the page stored, and the next pull passes them again. A page nested
100,000 levels deep, or a push answer like it, is a temporary failure (75), never exit 70.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sync.http.jsonlimits import BadItem, JsonLimitError, check_limits, loads_limited, loads_page
from sync.settings import Settings
from tests.helpers.cli import run
from tests.helpers.loopback import Quiet, serve

DEEP_ITEM = (
    b'{"ID": 3, "Amount": 1, "LastUpdated": "2024-03-04 10:00:00", "x": '
    + (b"[" * 1000 + b"]" * 1000)
    + b"}"
)
NAN_ITEM = b'{"ID": 4, "Amount": NaN, "LastUpdated": "2024-03-04 10:00:00"}'
HUGE_ITEM = b'{"ID": 5' + b"0" * 5000 + b', "Amount": 1, "LastUpdated": "2024-03-04 10:00:00"}'
DEEP_LABELS = json.dumps(
    {"ID": 6, "Amount": 1, "LastUpdated": "2024-03-04 10:00:00", "Labels": "[" * 1000 + "]" * 1000}
).encode()
DEEP_ANSWER = b"[" * 100_000 + b"]" * 100_000
DEEP_ENVELOPE = b'{"Items": [], "more": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001


def good(cost_id: int) -> bytes:
    return json.dumps(
        {"ID": cost_id, "Amount": 10.5, "LastUpdated": "2024-03-04 10:00:00"}
    ).encode()


class PoisonedCosts(Quiet):
    """Page 1: two good costs around four poisoned ones; page 2 ends the list."""

    def do_GET(self) -> None:
        if "page=1" in self.path:
            items = [good(1), DEEP_ITEM, NAN_ITEM, HUGE_ITEM, DEEP_LABELS, good(2)]
            body = b'{"Items": [' + b", ".join(items) + b"]}"
        else:
            body = b'{"Items": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DeepPage(Quiet):
    """An envelope nested 100,000 levels deep outside its items: the page is unreadable."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(DEEP_ENVELOPE)))
        self.end_headers()
        self.wfile.write(DEEP_ENVELOPE)


class DeepSaveAnswer(Quiet):
    """Every POST /v6/mileage is answered 200 with a body nested 100,000 levels deep."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(DEEP_ANSWER)))
        self.end_headers()
        self.wfile.write(DEEP_ANSWER)


def costs_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TRACKER_COSTS_URL", url)
    monkeypatch.setenv("TRACKER_COSTS_TOKEN", "t0ken-for-costs")
    monkeypatch.setenv("TRACKER_COSTS_PAGE_SIZE", "6")


def stored(db: Path) -> tuple[list[int], list[str]]:
    with closing(sqlite3.connect(db)) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM cost ORDER BY id")]
        reasons = [row[0] for row in conn.execute("SELECT reason FROM cost_quarantine")]
    return ids, reasons


def test_poisoned_items_are_quarantined_and_the_page_stored_every_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(PoisonedCosts) as url:
        costs_env(monkeypatch, url)
        for _ in range(2):  # page after page, run after run: never stuck on them
            code, _, err = run(capsys, "sync", "--pull")
            assert code == 65, err  # items in quarantine need the user
            assert "Traceback" not in err
            ids, reasons = stored(Settings().db_path)
            assert ids == [1, 2]
            assert len(reasons) == 4
            assert any("deeper than" in r for r in reasons)
            assert any("NaN" in r for r in reasons)
            assert any("digits" in r for r in reasons)
            assert any("Labels" in r for r in reasons)


def test_a_page_nested_100k_deep_is_a_temporary_failure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(DeepPage) as url:
        costs_env(monkeypatch, url)
        monkeypatch.setenv("TRACKER_COSTS_RETRIES", "1")  # what follows a retry: one is enough
        monkeypatch.setenv("TRACKER_COSTS_BACKOFF_INITIAL", "0.05")
        code, _, err = run(capsys, "sync", "--pull")
    assert code == 75, err
    assert "Traceback" not in err
    assert "not JSON" in err


def test_a_push_answer_nested_100k_deep_leaves_the_trip_queued(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(DeepSaveAnswer) as url:
        monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
        monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "t0ken-for-mileage")
        run(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01", "-d", "one")
        code, _, err = run(capsys, "sync", "--push")
    assert code == 75, err
    assert "Traceback" not in err
    with closing(sqlite3.connect(Settings().db_path)) as conn:
        states = [row[0] for row in conn.execute("SELECT state FROM journal")]
        remote = [row[0] for row in conn.execute("SELECT remote_id FROM trip")]
    assert states and "synced" not in [s.lower() for s in states]
    assert remote == [None]


# ---------------------------------------------------------------- the limits themselves


def test_limits_refuse_depth_digits_and_constants_as_value_errors() -> None:
    for text in (DEEP_ANSWER, b'{"a": NaN}', b"[Infinity]", b"[1" + b"0" * 100 + b"]"):
        with pytest.raises(JsonLimitError):
            loads_limited(text)
    check_limits(b"[" * 64 + b"]" * 64)
    with pytest.raises(JsonLimitError):
        check_limits(b"[" * 65 + b"]" * 65)


def test_brackets_digits_and_escapes_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": "[" * 500 + "\\" + '"' + "{" * 70, "b": "1" * 500, "c": [[["]"]]]})
    assert loads_limited(text) == json.loads(text)


def test_a_page_keeps_its_good_items_around_a_bad_one() -> None:
    page = b'{"total": 3, "Items": [{"ID": 1, "x": "a,]}"}, ' + DEEP_ITEM + b", 2.5]}"
    parsed: dict[str, Any] = loads_page(page, parse_float=Decimal)
    first, bad, last = parsed["Items"]
    assert first == {"ID": 1, "x": "a,]}"} and last == Decimal("2.5")
    assert isinstance(bad, BadItem) and "deeper" in bad.reason
    assert parsed["total"] == 3
    with pytest.raises(ValueError, match="deeper"):
        loads_page(DEEP_ENVELOPE)

"""Finding 5: ids the server assigns are checked before they are stored or put in a path.

A loopback Tight answers every save SUCCESS with the id it is told to (a path escape, one id
for every trip, a 1 MB id) and records every request: nothing goes to another path, no
token leaves for it, no two trips become one record, nothing absurd is stored.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from typing import Any, ClassVar

import pytest

from sync.settings import Settings
from sync.tight.api import record_path
from tests.helpers.cli import run
from tests.helpers.loopback import Quiet, serve

TOKEN = "t0ken-for-mileage"


class Assigns(Quiet):
    """Answers each saved item SUCCESS with ``remote_id``; queries list those records."""

    remote_id: ClassVar[str] = ""
    seen: ClassVar[list[tuple[str, str, str]]] = []
    saved: ClassVar[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def _note(self) -> bytes:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            self.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        return body

    def _answer(self, status: int, document: Any) -> None:
        self.send_json(status, document)

    def do_POST(self) -> None:
        body = self._note()
        if self.path == "/v6/mileage":
            items = json.loads(body)["data"]
            results = []
            for item in items:
                record = {**item, "id": self.remote_id}
                self.saved.append(record)
                results.append({"result": "SUCCESS", "statusCode": 200, "data": record})
            self._answer(200, {"result": "SUCCESS", "data": results})
        elif self.path == "/v6/mileage/query":
            self._answer(200, {"result": "SUCCESS", "data": self.saved, "cursor": None})
        else:
            self._answer(404, {"error": [{"type": "NOT_FOUND", "message": "no"}]})

    def do_DELETE(self) -> None:
        self._note()
        self._answer(404, {"error": [{"type": "NOT_FOUND", "message": "no"}]})

    do_GET = do_DELETE


def play(remote_id: str) -> type[Assigns]:
    return type("Playing", (Assigns,), {"remote_id": remote_id, "seen": [], "saved": []})


def setup(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", TOKEN)


def remote_ids() -> list[str | None]:
    with closing(sqlite3.connect(Settings().db_path)) as conn:
        return [row[0] for row in conn.execute("SELECT remote_id FROM trip ORDER BY id")]


def add_trip(capsys: pytest.CaptureFixture[str], text: str) -> str:
    code, out, err = run(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01",
                         "-d", text, "--json")  # fmt: skip
    assert code == 0, err
    return str(json.loads(out)["id"])


def test_a_path_escaping_id_never_reaches_a_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = play("../auth/token?x=")
    with serve(handler) as url:
        setup(monkeypatch, url)
        trip = add_trip(capsys, "one")
        code, _, err = run(capsys, "sync", "--push")
        assert code == 75, err  # a success without a usable id: in doubt, kept queued
        run(capsys, "trip", "delete", trip)
        for _ in range(2):
            code, _, err = run(capsys, "sync", "--push")
            assert "Traceback" not in err
    assert remote_ids() == [None]
    paths = {path for _, path, _ in handler.seen}
    assert paths <= {"/v6/mileage", "/v6/mileage/query"}, paths
    assert all("auth" not in path for path in paths)


def test_one_id_given_to_three_trips_makes_none_of_them_synced(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = play("mlg_same")
    with serve(handler) as url:
        setup(monkeypatch, url)
        for text in ("one", "two", "three"):
            add_trip(capsys, text)
        code, _, err = run(capsys, "sync", "--push")
        assert code == 65, err
        code, out, _ = run(capsys, "parked", "list", "--json")
    parked = json.loads(out)
    assert [p["error_type"] for p in parked] == ["SERVER_ID_TAKEN"] * 3
    assert remote_ids() == [None, None, None]
    assert not any(method == "DELETE" for method, _, _ in handler.seen)


def test_an_id_of_one_megabyte_is_never_stored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = play("mlg_" + "x" * 1_000_000)
    with serve(handler) as url:
        setup(monkeypatch, url)
        add_trip(capsys, "one")
        code, _, err = run(capsys, "sync", "--push")
    assert code == 75, err
    assert remote_ids() == [None]


def test_record_paths_take_only_tight_shaped_ids() -> None:
    assert record_path("mlg_12345") == "/v6/mileage/mlg_12345"
    for bad in ("../auth/token?x=", "a/b", "", "x" * 101, "mlg 1", "mlg%2F"):
        with pytest.raises(ValueError, match="not a Tight id"):
            record_path(bad)

"""Two-way sync against a Tight-compatible server we did not build the client with: a few
lines of stdlib ``http.server`` with other conventions than the sandbox's.

This server answers saves with the items in reverse order, spells numbers as JSON numbers
(``distance.value``, ``lat``, ``lng``), dates as instants, ignores the query's date filter
and sort (newest first), caps every page at 2 records whatever ``limit`` asks, and uses
opaque cursors. None of that may look like a change, lose an edit, or prove a delete
wrongly.
"""

from __future__ import annotations

import base64
import http.server
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sync.engine import SyncEngine
from sync.settings import Settings
from tests.helpers.remote import KEY, fast_mileage
from tracker.enums import SyncState
from tracker.store import Tracker


class OtherTight(http.server.BaseHTTPRequestHandler):
    records: ClassVar[dict[str, dict[str, Any]]] = {}
    calls: ClassVar[list[str]] = []
    ids = itertools.count(1)
    lock = threading.Lock()

    # -- the server's own spelling of what it stores
    @staticmethod
    def spelled(item: dict[str, Any], record_id: str) -> dict[str, Any]:
        out = {k: v for k, v in item.items() if k not in ("customerId", "classSegmentIds")}
        out["id"] = record_id
        out["date"] = f"{item['date']}T00:00:00Z"
        customer = item.get("customerId")
        out["customer"] = {"id": customer, "name": "?"} if customer else None
        out["classSegments"] = [{"id": i, "name": "?"} for i in item.get("classSegmentIds", [])]
        distance = item.get("distance")
        if distance:
            out["distance"] = {"type": distance["type"], "value": float(distance["value"])}
        for end in ("start", "end"):
            point = item.get(end)
            if point:
                out[end] = {**point, "lat": float(point["lat"]), "lng": float(point["lng"])}
        return out

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")

    def do_POST(self) -> None:
        body = self._body()
        with self.lock:
            self.calls.append(f"POST {self.path}")
            if self.path == "/v6/mileage":
                results = []
                for item in body["data"]:
                    record_id = item.get("id") or f"mlg_other{next(self.ids)}"
                    merged = {**self.records.get(record_id, {}), **self.spelled(item, record_id)}
                    self.records[record_id] = merged
                    results.append({"result": "SUCCESS", "statusCode": 200, "data": merged})
                self._send(200, {"result": "SUCCESS", "data": results[::-1]})
                return
            if self.path == "/v6/mileage/query":
                ordered = sorted(self.records.values(), key=lambda r: r["date"], reverse=True)
                start = int(base64.b64decode(body["cursor"])) if body.get("cursor") else 0
                page = ordered[start : start + 2]
                after = start + 2
                cursor = base64.b64encode(str(after).encode()).decode()
                more = after < len(ordered)
                self._send(200, {"data": page, "cursor": {"after": cursor if more else None}})
                return
        self._send(404, {"result": "FAILURE", "error": [{"type": "NOT_FOUND"}]})

    def do_GET(self) -> None:
        with self.lock:
            self.calls.append(f"GET {self.path}")
            record = self.records.get(self.path.rsplit("/", 1)[-1])
        if record is None:
            self._send(404, {"result": "FAILURE", "error": [{"type": "NOT_FOUND"}]})
        else:
            self._send(200, {"result": "SUCCESS", "data": record})

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def other_tight() -> Iterator[str]:
    OtherTight.records = {}
    OtherTight.calls = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OtherTight)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_two_way_sync_against_another_convention(
    home: Path, store: Tracker, other_tight: str
) -> None:
    settings = Settings(home=home, mileage=fast_mileage(other_tight, batch_size=3))
    with SyncEngine(settings, store) as engine:
        trips = [
            store.trips.add(
                {
                    "date": f"2026-11-{day:02d}",
                    "distance": "12.50",
                    "unit": "mile",
                    "customer_id": "cus_1",
                    "class_segment_ids": ["cls_1"],
                    "start": {"lat": "52.5200", "lng": "13.4050"},
                    "end": {"lat": 48.1374, "lng": 11.5755},
                    "start_time": f"2026-11-{day:02d}T08:00:00Z",
                    "end_time": f"2026-11-{day:02d}T09:00:00Z",
                }
            ).id
            for day in range(1, 6)
        ]
        first = engine.run(push=True, pull=True)
        assert first.ok, first.failures
        assert all(store.trips.get(t).sync_state == SyncState.SYNCED for t in trips)
        by_local = {r["customData"][KEY]: r["id"] for r in OtherTight.records.values()}
        assert sorted(by_local) == sorted(trips)  # reversed answers matched by the echo
        assert all(store.trips.get(t).remote_id == by_local[t] for t in trips)

        # The server's spelling read back: no change, nothing sent.
        versions = {t: store.trips.get(t).version for t in trips}
        OtherTight.calls.clear()
        second = engine.run(push=True, pull=True)
        assert second.mileage is not None
        assert (second.mileage.unchanged, second.mileage.updated) == (5, 0)
        assert "POST /v6/mileage" not in OtherTight.calls
        assert {t: store.trips.get(t).version for t in trips} == versions

        # Another client edits one, deletes another; here a third is edited.
        edited, deleted, mine = trips[0], trips[1], trips[2]
        with OtherTight.lock:
            OtherTight.records[by_local[edited]]["notes"] = "from the accountant"
            del OtherTight.records[by_local[deleted]]
        store.trips.edit(mine, {"description": "edited here"})
        third = engine.run(push=True, pull=True)
        assert third.ok, third.failures
        assert third.mileage is not None
        assert (third.mileage.updated, third.mileage.deleted) == (1, 1)
        assert store.trips.get(edited).notes == "from the accountant"
        assert store.trips.get(deleted).deleted_by == "server"
        assert OtherTight.records[by_local[mine]]["description"] == "edited here"
        assert len(OtherTight.records) == 4  # the deleted one never came back
        assert store.journal.counts().pending == 0
        assert store.conflicts.count() == 0

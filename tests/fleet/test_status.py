"""`tracker status` on a PostgreSQL store: the URL without its password, no file mode, and
the fleet's daemons and running syncs counted from their own leases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.helpers.cli import run
from tests.helpers.store import manual_trips
from tracker.store import Tracker

TTL = timedelta(minutes=5)


def test_status_on_postgres_counts_the_fleets_daemons(
    pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", pg_url)
    with Tracker.open_url(pg_url, timezone="UTC") as store:
        manual_trips(store, 3)
        for owner in ("vm1:10:a", "vm2:20:b"):
            assert store.leases.acquire(f"daemon:{owner}", owner, TTL) is not None
        assert store.leases.acquire("daemon:vm3:30:c", "vm3:30:c", -TTL) is not None  # dead
        assert store.leases.acquire("push:vm1:11:d", "vm1:11:d", TTL) is not None
    code, out, err = run(capsys, "status", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["database"] == pg_url  # no password in the test URL to hide
    assert doc["database_mode"] is None
    assert doc["journal"]["pending"] == 3 and doc["trips"] == 3
    assert doc["daemon"] == {"running": True, "owner": "vm1:10:a", "count": 2}
    assert doc["sync_running"] is True
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "2 running (vm1:10:a, vm2:20:b)" in out
    assert "PostgreSQL" in out

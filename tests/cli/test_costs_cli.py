"""``tracker costs``: list, show, refresh, --json shapes, exit codes, and server text that
tries to drive the terminal (S9) never printed raw.

The sub-app is mounted on a tiny root here (the lead mounts it as ``tracker costs``); data
comes from a real pull against the sandbox over loopback into the TRACKER_HOME database.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from sync.cli import costs as costs_cli
from sync.cli.exitcodes import ExitCode, exit_code_for
from sync.clock import ManualClock
from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxServer, serve
from sync.settings import Settings
from tests.helpers.remote import pull
from tracker.store import Tracker

EVIL = "x\x1b]0;pwned\x07\x1b[2J\x9b31m"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b")


@pytest.fixture
def sandbox() -> Sandbox:
    sandbox = Sandbox()
    sandbox.seed_costs(3, seed=2)
    sandbox.add_cost(
        {
            "ID": 40,
            "Amount": Decimal("10.30"),
            "LastUpdated": "2024-03-04 10:00:00",
            "StartTimestamp": "2024-03-04 09:00:00",
            "Labels": json.dumps({"en": EVIL}),
            "Notes": EVIL,
            "StartLocationName": EVIL,
            "CostType": 31337,
        }
    )
    sandbox.add_cost({"ID": 41, "Amount": EVIL, "LastUpdated": EVIL})
    return sandbox


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with serve(sandbox) as running:
        # Workaround until the sandbox sets TCP_NODELAY itself (~40 ms per response otherwise).
        if running._sock is not None:
            running._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield running


@pytest.fixture
def pulled(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TRACKER_COSTS_URL", server.costs_url)
    monkeypatch.setenv("TRACKER_COSTS_TOKEN", DEFAULT_TOKEN)
    settings = Settings()
    with Tracker.open(settings.db_path, timezone="UTC") as store:
        with SyncEngine(settings, store, clock=ManualClock()) as engine:
            report = pull(engine)
    assert (report.inserted, report.quarantined) == (4, 1)
    return settings


def invoke(*args: str) -> tuple[int, str]:
    """Run ``costs ARGS``; returns the exit code the real CLI would use, and stdout."""
    root = typer.Typer()
    root.add_typer(costs_cli.app, name="costs")
    result = CliRunner().invoke(root, ["costs", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return int(exit_code_for(result.exception)), result.stdout
    return result.exit_code, result.stdout


def invoke_json(*args: str) -> Any:
    code, out = invoke(*args, "--json")
    assert code == 0, out
    return json.loads(out)


def assert_no_raw_controls(text: str) -> None:
    for raw in RAW_CONTROLS:
        assert raw not in text


@pytest.mark.usefixtures("pulled")
def test_terminal_escapes_from_the_server_are_never_printed_raw() -> None:
    for args in (["list"], ["show", "40"], ["list", "--quarantined"]):
        code, out = invoke(*args)
        assert code == 0, out
        assert_no_raw_controls(out)
    code, out = invoke("show", "40")
    assert "\\x1b" in out  # shown, made visible
    for args in (["list"], ["show", "40"], ["list", "--quarantined"]):
        code, out = invoke(*args, "--json")
        assert code == 0
        assert_no_raw_controls(out)
    shown = invoke_json("show", "40")
    assert shown["label"] == EVIL  # the data itself is intact
    assert shown["notes"] == EVIL


@pytest.mark.usefixtures("pulled")
def test_list_and_show_json_shapes() -> None:
    listed = invoke_json("list")
    assert sorted(c["id"] for c in listed) == [1, 2, 3, 40]
    assert all("raw" not in c for c in listed)
    shown = invoke_json("show", "40")
    assert shown["amount"] == "10.30"  # exact, as text
    assert (shown["cost_type"], shown["cost_type_name"]) == (31337, "unknown")
    assert shown["raw"]["Amount"] == "10.30"
    assert shown["start_time"] == "2024-03-04T09:00:00Z"
    quarantined = invoke_json("list", "--quarantined")
    reasons = [(q["cost_id"], q["reason"].split(":")[0]) for q in quarantined]
    assert reasons == [("41", "LastUpdated")]
    _, out = invoke("show", "40")
    assert "10.30 EUR" in out
    assert "31337 (unknown)" in out


def test_list_by_trip(pulled: Settings, sandbox: Sandbox) -> None:
    with Tracker.open(pulled.db_path, timezone="UTC") as store:
        trip = store.trips.add({"distance": "3", "date": "2024-03-04"})
        sandbox.add_cost(
            {"ID": 77, "Amount": 2, "LastUpdated": "2024-03-05 10:00:00", "TripGuid": trip.id}
        )
        with SyncEngine(pulled, store, clock=ManualClock()) as engine:
            pull(engine)
    assert [c["id"] for c in invoke_json("list", "--trip", trip.id[:6])] == [77]
    code, out = invoke("list", "--trip", trip.id)
    assert code == 0
    assert "77" in out
    assert "1 cost" in out
    code, _ = invoke("list", "--trip", "no-such-trip")
    assert code == ExitCode.DATAERR


@pytest.mark.usefixtures("pulled")
def test_show_an_unknown_cost_is_a_data_error() -> None:
    code, _ = invoke("show", "999")
    assert code == ExitCode.DATAERR
    root = typer.Typer()
    root.add_typer(costs_cli.app, name="costs")
    result = CliRunner().invoke(root, ["costs", "show", "999"])
    assert "tracker costs list" in str(result.exception)
    assert invoke("show", "abc")[0] == ExitCode.USAGE


@pytest.mark.usefixtures("pulled")
def test_refresh_one_cost(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.update_cost(2, Amount=Decimal("99.90"), LastUpdated="2025-01-01 00:00:00")
    code, out = invoke("refresh", "2")
    assert code == 0, out
    assert "cost 2: updated" in out
    assert invoke_json("show", "2")["amount"] == "99.90"
    assert invoke_json("refresh", "2")["outcome"] == "unchanged"
    sandbox.remove_cost(3)
    assert invoke_json("refresh", "3")["outcome"] == "gone"
    monkeypatch.setenv("TRACKER_COSTS_TOKEN", "wrong")
    assert invoke("refresh", "2")[0] == ExitCode.NOPERM


def test_refresh_without_a_url_is_a_config_error() -> None:
    assert invoke("refresh", "1")[0] == ExitCode.CONFIG


def test_importing_the_commands_stays_light() -> None:
    probe = (
        "import sys\n"
        "import sync.cli.costs\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'httpx', 'alembic', 'pydantic')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "HEAVY []" in result.stdout
    code, out = invoke("--help")
    assert code == 0
    for command in ("list", "show", "refresh"):
        assert command in out

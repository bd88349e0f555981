"""Two-way sync from the command line, against the sandbox over loopback: ``tracker sandbox
edit/remove`` play another client, ``tracker sync`` exits 65 while a conflict is open,
``tracker status --json`` counts it, ``tracker conflicts list|show|resolve`` settles it, and
``tracker trip list --all`` shows a trip deleted on Tight."""

from __future__ import annotations

import json

import pytest

from sync.sandbox import Sandbox, SandboxServer
from tests.helpers.cli import run

pytestmark = pytest.mark.usefixtures("point_at_sandbox")


def add_synced(capsys: pytest.CaptureFixture[str], description: str) -> tuple[str, str]:
    """A trip added and synced: (local id, Tight id)."""
    _, out, _ = run(
        capsys,
        "trip",
        "add",
        "--distance",
        "5",
        "--date",
        "2026-11-02",
        "-d",
        description,
        "--json",
    )
    trip_id = json.loads(out)["id"]
    assert run(capsys, "sync")[0] == 0
    _, out, _ = run(capsys, "trip", "show", trip_id, "--json")
    return trip_id, json.loads(out)["remote_id"]


def test_conflict_from_the_command_line(
    capsys: pytest.CaptureFixture[str], server: SandboxServer, sandbox: Sandbox
) -> None:
    trip_id, remote_id = add_synced(capsys, "base")
    code, out, _ = run(
        capsys,
        "sandbox",
        "edit",
        remote_id,
        "--set",
        "description=on the web",
        "--set",
        "mileageStatus=BUSINESS",
        "--url",
        server.url,
    )
    assert code == 0
    assert json.loads(out)["mileageStatus"] == "BUSINESS"
    assert run(capsys, "trip", "edit", trip_id, "-d", "on the laptop")[0] == 0

    code, out, err = run(capsys, "sync")
    assert code == 65
    assert "queue: 1 in conflict: `tracker conflicts list`" in out
    assert "tracker conflicts list" in err
    _, out, _ = run(capsys, "status", "--json")
    assert json.loads(out)["journal"]["conflicts"] == 1

    code, out, _ = run(capsys, "conflicts", "list", "--json")
    [held] = json.loads(out)
    assert (held["trip_id"], held["kind"]) == (trip_id, "edit")
    code, out, _ = run(capsys, "conflicts", "show", trip_id[:8])
    assert code == 0
    assert "on the web" in out and "on the laptop" in out and "base" in out
    # Not decided for every field: a clear error, nothing changes.
    code, _, err = run(capsys, "conflicts", "resolve", trip_id[:8])
    assert code == 65
    assert "choose local or remote" in err
    code, _, err = run(capsys, "conflicts", "resolve", trip_id[:8], "--field", "notes=local")
    assert code == 65
    assert "not in conflict" in err

    code, out, _ = run(
        capsys, "conflicts", "resolve", trip_id[:8], "--field", "description=local", "--json"
    )
    assert code == 0
    assert json.loads(out)["trip"]["description"] == "on the laptop"
    assert run(capsys, "sync")[0] == 0
    stored = sandbox.record(remote_id)
    assert stored is not None
    assert (stored["description"], stored["mileageStatus"]) == ("on the laptop", "BUSINESS")
    _, out, _ = run(capsys, "trip", "show", trip_id, "--json")
    assert json.loads(out)["classification"] == "business"
    assert json.loads(run(capsys, "conflicts", "list", "--json")[1]) == []


def test_server_delete_shows_as_a_tombstone(
    capsys: pytest.CaptureFixture[str], server: SandboxServer, sandbox: Sandbox
) -> None:
    trip_id, remote_id = add_synced(capsys, "gone soon")
    assert run(capsys, "sandbox", "remove", remote_id, "--url", server.url)[0] == 0
    assert run(capsys, "sync")[0] == 0
    _, out, _ = run(capsys, "trip", "list")
    assert trip_id[:8] not in out
    _, out, _ = run(capsys, "trip", "list", "--deleted")
    assert trip_id[:8] in out
    assert "deleted on" in out
    _, out, _ = run(capsys, "trip", "list", "--deleted", "--json")
    assert [(t["id"], t["deleted_by"]) for t in json.loads(out)["trips"]] == [(trip_id, "server")]
    _, out, _ = run(capsys, "trip", "list", "--all")  # everything: tombstones too
    assert trip_id[:8] in out and "deleted on" in out
    _, out, _ = run(capsys, "trip", "list", "--all", "--json")
    assert [(t["id"], t["deleted_by"]) for t in json.loads(out)["trips"]] == [(trip_id, "server")]
    assert run(capsys, "sync")[0] == 0
    assert sandbox.records == {}  # never re-created


def test_sandbox_edit_needs_a_running_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "sandbox", "remove", "mlg_1", "--url", "http://127.0.0.1:9"
    )  # nothing listens on the discard port
    assert code == 78
    assert "no sandbox answers" in err

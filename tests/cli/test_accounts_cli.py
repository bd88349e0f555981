"""``tracker account ...`` and ``tracker sync --account`` against the sandbox over loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    Sandbox,
    SandboxServer,
)
from tests.helpers.cli import run, run_json

pytestmark = pytest.mark.usefixtures("point_at_sandbox")


def test_accounts_are_added_listed_shown_disabled_and_enabled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    added = run_json(
        capsys, "account", "add", "acme", "--tight-token-ref", "file:/run/secrets/acme"
    )
    assert (added["name"], added["tight_token_ref"], added["trips"]) == (
        "acme",
        "file:/run/secrets/acme",
        0,
    )
    code, _, err = run(capsys, "account", "add", "leaky", "--tight-token-ref", "sbx_secret")
    assert code == 65 and "not the secret" in err and "sbx_secret" not in err  # never echoed
    code, _, err = run(capsys, "account", "add", "half", "--tight-client-id", "c")
    assert code == 65 and "together" in err
    code, out, _ = run(capsys, "account", "list")
    assert code == 0 and "2 accounts" in out and "token from file:/run/secrets/acme" in out
    assert [a["name"] for a in run_json(capsys, "account", "list")] == ["default", "acme"]
    assert run_json(capsys, "account", "disable", "acme")["disabled_at"] is not None
    code, _, err = run(
        capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01", "--account", "acme"
    )
    assert code == 65 and "disabled" in err
    assert run_json(capsys, "account", "enable", "acme")["disabled_at"] is None
    code, _, err = run(capsys, "account", "show", "nope")
    assert code == 65 and "tracker account list" in err


def test_sync_account_pushes_that_accounts_trips_with_its_credentials(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text(DEFAULT_CLIENT_SECRET)
    assert (
        run(
            capsys,
            "account",
            "add",
            "acme",
            "--tight-client-id",
            DEFAULT_CLIENT_ID,
            "--tight-user-id",
            "user-acme",
            "--tight-secret-ref",
            f"file:{secret}",
        )[0]
        == 0
    )
    for account in ("acme", "acme", None):
        extra = ("--account", account) if account else ()
        code, _, err = run(capsys, "trip", "add", "--distance", "2", "--date", "2026-11-20", *extra)
        assert code == 0, err
    code, out, err = run(capsys, "sync", "--push", "--account", "acme", "--json")
    assert code == 0, err
    assert json.loads(out)["push"]["synced"] == 2
    assert sorted(map(sandbox.owner_of, sandbox.records)) == ["user-acme", "user-acme"]
    shown = run_json(capsys, "account", "show", "acme")
    assert (shown["trips"], shown["pending"]) == (2, 0)
    assert run_json(capsys, "account", "show", "default")["pending"] == 1
    code, out, _ = run(capsys, "sync", "--push", "--json")  # the implicit account's trip
    assert code == 0 and json.loads(out)["push"]["synced"] == 1
    secret.unlink()
    code, _, err = run(capsys, "sync", "--account", "acme")
    assert code == 78 and f"file:{secret}" in err


def test_status_counts_each_account_once_the_store_has_accounts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "accounts" not in run_json(capsys, "status")  # a single-user store: no such part
    run(capsys, "account", "add", "acme", "--tight-token-ref", "env:ACME_TOKEN")
    run(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01", "--account", "acme")
    run(capsys, "trip", "add", "--distance", "2", "--date", "2026-03-01")
    doc = run_json(capsys, "status")
    assert doc["accounts"] == [
        {"name": "default", "active": True, "trips": 1, "pending": 1},
        {"name": "acme", "active": True, "trips": 1, "pending": 1},
    ]
    assert doc["journal"]["pending"] == 2  # the whole store
    run(capsys, "account", "disable", "acme")
    code, out, _ = run(capsys, "status", "--account", "acme")
    assert code == 0 and "account acme" in out and "1 trips, 1 open (disabled)" in out
    assert [a["name"] for a in run_json(capsys, "status", "--account", "acme")["accounts"]] == [
        "acme"
    ]
    code, _, err = run(capsys, "status", "--account", "nope")
    assert code == 65 and "tracker account list" in err


def test_a_csv_import_gives_its_trips_to_an_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet = tmp_path / "trips.csv"
    sheet.write_text("date,distance\n2026-03-01,12.5\n2026-03-02,3\n")
    run(capsys, "account", "add", "acme", "--tight-token-ref", "env:ACME_TOKEN")
    code, _, err = run(capsys, "trip", "import", str(sheet), "--account", "nope")
    assert code == 65 and "tracker account list" in err
    code, _, err = run(capsys, "trip", "import", str(sheet), "--account", "acme")
    assert code == 0, err
    shown = run_json(capsys, "account", "show", "acme")
    assert (shown["trips"], shown["pending"]) == (2, 2)
    assert run_json(capsys, "account", "show", "default")["trips"] == 0


def costs_platform(
    sandbox: Sandbox, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The costs API at the sandbox: the settings' token (the implicit account's) and acme's
    own, read from ACME_COSTS, for a user with a list of its own."""
    monkeypatch.setenv("TRACKER_COSTS_URL", server.costs_url)
    monkeypatch.setenv("TRACKER_COSTS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("ACME_COSTS", "costs-acme")
    sandbox.add_costs_user("costs-acme")


def add_acme_with_costs(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "account",
        "add",
        "acme",
        "--tight-token-ref",
        "env:TRACKER_MILEAGE_TOKEN",
        "--costs-token-ref",
        "env:ACME_COSTS",
    )
    assert code == 0, err


def test_an_account_with_a_costs_token_pulls_its_own_costs(
    capsys: pytest.CaptureFixture[str],
    sandbox: Sandbox,
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    costs_platform(sandbox, server, monkeypatch)
    sandbox.seed_costs(3, seed=1, token="costs-acme")
    sandbox.seed_costs(2, seed=2)  # the implicit account's (the settings' token)
    add_acme_with_costs(capsys)
    code, out, _ = run(capsys, "account", "show", "acme")
    assert code == 0 and "costs token from env:ACME_COSTS" in out
    code, out, err = run(capsys, "sync", "--pull", "--account", "acme")
    assert code == 0, err
    assert "costs: 3 read; 3 new" in out
    costs = run_json(capsys, "costs", "list", "--json")
    assert len(costs) == 3
    monkeypatch.delenv("ACME_COSTS")
    code, _, err = run(capsys, "sync", "--pull", "--account", "acme")
    assert code == 78 and "env:ACME_COSTS" in err


def test_costs_are_listed_and_refreshed_as_their_account(
    capsys: pytest.CaptureFixture[str],
    sandbox: Sandbox,
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    costs_platform(sandbox, server, monkeypatch)
    acme = sandbox.seed_costs(2, seed=1, token="costs-acme")
    shared = sandbox.seed_costs(1, seed=2)
    add_acme_with_costs(capsys)
    for extra in (("--account", "acme"), ()):
        code, _, err = run(capsys, "sync", "--pull", *extra)
        assert code == 0, err
    listed = run_json(capsys, "costs", "list", "--account", "acme", "--json")
    assert sorted(c["id"] for c in listed) == sorted(c["ID"] for c in acme)
    assert {c["account"] for c in listed} == {"acme"}
    every = run_json(capsys, "costs", "list", "--json")
    assert {c["id"]: c["account"] for c in every}[shared[0]["ID"]] == "default"
    # Changed on the platform: refreshed with acme's token (the shared list has no such ID).
    sandbox.update_cost(acme[0]["ID"], token="costs-acme", LastUpdated="2026-11-01 00:00:00")
    code, out, err = run(capsys, "costs", "refresh", str(acme[0]["ID"]))
    assert code == 0, err
    assert f"cost {acme[0]['ID']}: updated" in out
    code, _, err = run(capsys, "costs", "list", "--account", "nope")
    assert code == 65 and "nope" in err

"""Fleet mode's lists (issue 17): ``trip list --account`` (keyset pages of one account's
trips), the account in ``trip list`` and ``trip show`` once the store has accounts, and
``trip import FILE.gpx --account``; on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run, run_json
from tests.helpers.store import BOTH_BACKENDS

pytestmark = [BOTH_BACKENDS, pytest.mark.usefixtures("cli_store")]


def _account(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, _, err = run(capsys, "account", "add", name, "--tight-token-ref", f"env:{name}_TOKEN")
    assert code == 0, err


def _add(capsys: pytest.CaptureFixture[str], day: int, account: str | None = None) -> str:
    extra = ("--account", account) if account else ()
    code, out, err = run(
        capsys, "trip", "add", "--distance", "1", "--date", f"2026-03-{day:02d}", "-q", *extra
    )
    assert code == 0, err
    return out.strip()


def _listed(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    doc: dict[str, Any] = run_json(capsys, "trip", "list", *args)
    return doc


def test_trip_list_account_pages_through_that_accounts_trips_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _account(capsys, "acme")
    _account(capsys, "beta")
    acme = [_add(capsys, day, "acme") for day in (1, 2, 3, 4, 5)]
    mine = [_add(capsys, day) for day in (2, 6)]
    beta = [_add(capsys, 3, "beta")]

    first = _listed(capsys, "--account", "acme", "--limit", "2")
    assert [t["id"] for t in first["trips"]] == acme[:2:-1]  # newest first: 5, 4
    assert (first["more"], first["more_exact"]) == (3, True)
    rest = _listed(capsys, "--account", "acme", "--after", first["next"])
    assert [t["id"] for t in rest["trips"]] == acme[2::-1]
    assert (rest["more"], rest["next"]) == (0, None)
    assert {t["account"] for t in first["trips"] + rest["trips"]} == {"acme"}

    implicit = _listed(capsys, "--account", "default")["trips"]
    assert [(t["id"], t["account"]) for t in implicit] == [
        (mine[1], "default"),
        (mine[0], "default"),
    ]
    everything = _listed(capsys, "--all")["trips"]
    assert sorted(t["id"] for t in everything) == sorted(acme + mine + beta)
    assert {t["id"]: t["account"] for t in everything}[beta[0]] == "beta"

    run(capsys, "account", "disable", "beta")  # its trips stay, and are listed
    assert [t["id"] for t in _listed(capsys, "--all", "--account", "beta")["trips"]] == beta
    run(capsys, "trip", "delete", acme[0])
    assert len(_listed(capsys, "--account", "acme")["trips"]) == 4
    assert len(_listed(capsys, "--account", "acme", "--deleted")["trips"]) == 5
    assert _listed(capsys, "--account", "acme", "--state", "synced")["trips"] == []


def test_the_table_has_an_account_column_once_the_store_has_accounts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add(capsys, 1)
    code, out, _ = run(capsys, "trip", "list")
    assert code == 0 and "account" not in out  # a single user's store: as it always was
    assert _listed(capsys)["trips"][0]["account"] == "default"

    _account(capsys, "acme")
    _add(capsys, 2, "acme")
    code, out, _ = run(capsys, "trip", "list")
    head = out.splitlines()[1].split()
    assert code == 0 and head == [
        "id",
        "date",
        "distance",
        "class",
        "sync",
        "account",
        "description",
    ]
    # The last cell (no description): whose trip it is.
    assert [line.split()[-1] for line in out.splitlines()[2:]] == ["acme", "default"]
    code, out, _ = run(capsys, "trip", "list", "--all")
    assert code == 0 and "account" in out.splitlines()[1].split()
    # One account's list: its name in the title, no column repeating it.
    code, out, _ = run(capsys, "trip", "list", "--account", "acme")
    assert code == 0 and out.splitlines()[0] == "1 trip of account acme"
    assert "account" not in out.splitlines()[1]
    code, out, _ = run(capsys, "trip", "list", "--all", "--account", "acme")
    assert code == 0 and out.splitlines()[-1] == "1 trip of account acme"
    _account(capsys, "empty")
    code, out, _ = run(capsys, "trip", "list", "--account", "empty")
    assert (code, out) == (0, "no trips of account empty\n")


def test_an_unknown_account_is_refused_with_the_other_account_commands_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add(capsys, 1)
    for args in (["--account", "nope"], ["--all", "--account", "nope"]):
        code, out, err = run(capsys, "trip", "list", *args)
        assert code == 65, err
        assert "no account with id 'nope'" in err and "tracker account list" in err
        assert out == "" and "Traceback" not in err
    code, _, err = run(capsys, "account", "show", "nope")  # the same code and words
    assert code == 65 and "no account with id 'nope'" in err


def test_trip_show_says_whose_trip_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    _account(capsys, "acme")
    theirs, mine = _add(capsys, 1, "acme"), _add(capsys, 2)
    code, out, _ = run(capsys, "trip", "show", theirs)
    assert code == 0
    assert [line.split() for line in out.splitlines() if line.startswith("account")] == [
        ["account", "acme"]
    ]
    assert run_json(capsys, "trip", "show", theirs)["account"] == "acme"
    code, out, _ = run(capsys, "trip", "show", mine)
    assert code == 0 and not any(line.startswith("account") for line in out.splitlines())
    assert run_json(capsys, "trip", "show", mine)["account"] == "default"


def _gpx(tmp_path: Path, name: str, minute: int) -> Path:
    path = tmp_path / f"{name}.gpx"
    points = "".join(
        f'<trkpt lat="52.5{s}" lon="13.4{s}"><time>2026-03-01T08:{minute:02d}:{s:02d}Z</time>'
        "</trkpt>"
        for s in range(3)
    )
    path.write_text(
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>{name}</name><trkseg>{points}</trkseg></trk></gpx>",
        encoding="utf-8",
    )
    return path


def test_a_gpx_import_gives_its_trips_to_an_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _account(capsys, "acme")
    one, two = _gpx(tmp_path, "one", 1), _gpx(tmp_path, "two", 2)
    code, out, err = run(
        capsys, "trip", "import", str(one), str(two), "--account", "acme", "--json"
    )
    assert code == 0, err
    made = json.loads(out)
    assert [(t["description"], t["account"]) for t in made] == [("one", "acme"), ("two", "acme")]
    listed = _listed(capsys, "--account", "acme")["trips"]
    assert sorted(t["id"] for t in listed) == sorted(t["id"] for t in made)
    shown = run_json(capsys, "account", "show", "acme")
    assert (shown["trips"], shown["pending"]) == (2, 2)
    assert run_json(capsys, "account", "show", "default")["trips"] == 0

    three = _gpx(tmp_path, "three", 3)
    code, out, err = run(capsys, "trip", "import", str(three), "--account", "nope")
    assert code == 65 and "tracker account list" in err and out == ""
    run(capsys, "account", "disable", "acme")
    code, out, err = run(capsys, "trip", "import", str(three), "--account", "acme")
    assert code == 65 and "disabled" in err and out == ""
    assert len(_listed(capsys, "--all")["trips"]) == 2  # nothing of either was imported
    code, out, err = run(capsys, "trip", "import", str(three), "--account", "default", "--json")
    assert code == 0, err
    assert [t["account"] for t in json.loads(out)] == ["default"]

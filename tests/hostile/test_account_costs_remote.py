"""Costs per account against a platform we did not write (issue 17): a few lines of stdlib
``http.server`` that keys each user's list by an ``X-Api-Key`` header with no scheme, pages
by offset and limit, answers bare arrays and refuses an unknown key with 401. Each account's
pull must go with its own key and the platform's settings (header, paging) unchanged, and
read only its own user's costs; the implicit account's pull uses the settings' key.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from sync.cli.exitcodes import ExitCode
from tests.helpers.cli import run, run_json
from tests.helpers.loopback import Quiet, serve

LIST = "/api/business-mobile/v1/additional-costs/list"


def cost(ident: int) -> dict[str, Any]:
    return {"ID": ident, "Amount": ident + 0.5, "LastUpdated": "2026-03-01 10:00:00"}


class KeyedLists(Quiet):
    """Each key reads its own user's list; offset/limit paging; a bare array per page."""

    lists: ClassVar[dict[str, list[dict[str, Any]]]] = {
        "implicit-key": [cost(i) for i in range(1, 8)],
        "acme-key": [cost(i) for i in range(100, 125)],
    }
    seen: ClassVar[list[tuple[str | None, str]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        key = self.headers.get("X-Api-Key")
        type(self).seen.append((key, url.query))
        if url.path != LIST:
            self.send_json(404, {"Message": "no such route"})
            return
        if key not in self.lists:
            self.send_json(401, {"Message": "unknown key"})
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        offset, limit = int(query.get("offset", "0")), int(query.get("limit", "10"))
        self.send_json(200, self.lists[key][offset : offset + limit])


def test_each_account_pulls_its_own_list_with_the_platforms_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Server(KeyedLists):
        seen: ClassVar[list[tuple[str | None, str]]] = []  # a log of this test's own

    server = Server
    with serve(server) as url:
        for name, value in {
            "TRACKER_COSTS_URL": f"{url}/api/business-mobile",
            "TRACKER_COSTS_TOKEN": "implicit-key",
            "TRACKER_COSTS_AUTH_HEADER": "X-Api-Key",
            "TRACKER_COSTS_AUTH_SCHEME": "",
            "TRACKER_COSTS_PAGING": "offset",
            "TRACKER_COSTS_PAGE_SIZE": "10",
            "TRACKER_COSTS_TOTAL_KEY": "",
            "TRACKER_MILEAGE_TWO_WAY": "false",
            "ACME_TIGHT": "tight-token",
            "ACME_COSTS": "acme-key",
        }.items():
            monkeypatch.setenv(name, value)
        code, _, err = run(
            capsys,
            "account",
            "add",
            "acme",
            "--tight-token-ref",
            "env:ACME_TIGHT",
            "--costs-token-ref",
            "env:ACME_COSTS",
        )
        assert code == ExitCode.OK, err
        code, out, err = run(capsys, "sync", "--pull", "--account", "acme", "--json")
        assert code == ExitCode.OK, err
        report = json.loads(out)["costs"]
        assert (report["complete"], report["inserted"]) == (True, 25)
        acme_keys = {key for key, _ in server.seen}
        assert acme_keys == {"acme-key"}  # its own key, in the platform's header
        assert all("offset=" in query and "limit=10" in query for _, query in server.seen)
        code, out, err = run(capsys, "sync", "--pull", "--json")
        assert code == ExitCode.OK, err
        assert json.loads(out)["costs"]["inserted"] == 7
        assert {key for key, _ in server.seen} == {"acme-key", "implicit-key"}
        # Each pull marked only its own costs: a second acme pull leaves the others seen.
        code, out, err = run(capsys, "sync", "--pull", "--account", "acme", "--json")
        assert code == ExitCode.OK, err
        assert json.loads(out)["costs"]["marked_not_seen"] == 0
    acme = run_json(capsys, "costs", "list", "--account", "acme", "--json")
    assert sorted(c["id"] for c in acme) == list(range(100, 125))
    every = run_json(capsys, "costs", "list", "--json")
    assert all(c["seen_in_last_pull"] for c in every)
    assert {c["account"] for c in every if c["id"] < 100} == {"default"}

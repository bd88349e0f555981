"""Hostile paging (issue 13, finding 1): a costs list that caps the page size below what we
ask, with no way to say so but its answers, and one that announces more than it gives.

Each server is a few lines of stdlib ``http.server`` on loopback; the pull runs through the
real CLI (``tracker sync --pull``) into a real SQLite file. A walk must prove its end: the
capped list is read in full (all 236 costs, nothing marked not seen), and a list ending
below its own announced total is an incomplete pull (exit 75, nothing marked not seen).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from sync.cli.exitcodes import ExitCode
from sync.settings import Settings
from tests.helpers.cli import run
from tests.helpers.loopback import Quiet, serve
from tracker.store import Tracker

N = 236
CAP = 50
LIST = "/api/business-mobile/v1/additional-costs/list"


def cost(ident: int) -> dict[str, Any]:
    return {"ID": ident, "Amount": ident + 0.25, "LastUpdated": "2026-03-01 10:00:00"}


class CappedList(Quiet):
    """A costs list that never returns more than ``CAP`` items, whatever is asked.

    ``envelope``: False gives a bare array, numbering pages by the size given (page N starts
    at N * 50); True gives ``{"Items": [...], "TotalCount": total}`` with 0-based
    ``PageIndex``, numbering pages by the size *asked* (page 1 of 100 starts at item 100,
    though only 50 came back): both readings of "page N" are found in the wild.
    """

    costs: ClassVar[list[dict[str, Any]]] = [cost(i) for i in range(1, N + 1)]
    envelope: ClassVar[bool] = False
    announced: ClassVar[int | None] = None  # a total larger than the list: a lying server
    asked: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != LIST:
            self.reply(404, {"Message": "no such route"})
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        type(self).asked.append(query)
        if self.envelope:
            asked = int(query.get("pageSize", "20"))
            start = int(query.get("PageIndex", "0")) * asked
        else:
            asked = int(query.get("pageSize", "20"))
            start = (int(query.get("page", "1")) - 1) * min(asked, CAP)
        items = self.costs[start : start + min(asked, CAP)]
        if self.envelope:
            total = self.announced if self.announced is not None else len(self.costs)
            self.reply(200, {"Items": items, "TotalCount": total})
        else:
            self.reply(200, items)

    def reply(self, status: int, body: Any) -> None:
        self.send_json(status, body)


@contextmanager
def capped(monkeypatch: pytest.MonkeyPatch, **behaviour: Any) -> Iterator[type[CappedList]]:
    handler = type("Handler", (CappedList,), {"asked": [], **behaviour})
    with serve(handler) as url:
        monkeypatch.setenv("TRACKER_COSTS_URL", f"{url}/api/business-mobile")
        monkeypatch.setenv("TRACKER_COSTS_TOKEN", "t0ken")
        monkeypatch.setenv("TRACKER_COSTS_PAGE_SIZE", "100")
        if behaviour.get("envelope"):
            monkeypatch.setenv("TRACKER_COSTS_FIRST_PAGE", "0")
            monkeypatch.setenv("TRACKER_COSTS_PAGE_PARAM", "PageIndex")
            monkeypatch.setenv("TRACKER_COSTS_TOTAL_KEY", "TotalCount")
        yield handler


def pull(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, "sync", "--pull", "--json")
    return code, json.loads(out)["costs"], err


def stored() -> tuple[list[int], list[int]]:
    """(IDs stored, IDs marked not seen) in the TRACKER_HOME database."""
    with Tracker.open(Settings().db_path, timezone="UTC") as store:
        views = store.costs.list()
    return sorted(v.id for v in views), sorted(v.id for v in views if not v.seen_in_last_pull)


@pytest.mark.parametrize("envelope", [False, True], ids=["bare-array", "items-totalcount"])
def test_a_server_capping_the_page_size_is_followed_without_a_gap(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], envelope: bool
) -> None:
    with capped(monkeypatch, envelope=envelope) as server:
        code, first, err = pull(capsys)
        assert code == ExitCode.OK, err
        assert (first["complete"], first["inserted"], first["items"]) == (True, N, N)
        assert stored() == (list(range(1, N + 1)), [])
        # Once the cap is seen, the walk asks for it: both numberings then agree.
        assert {q["pageSize"] for q in server.asked[1:5]} == {str(CAP)}
        # A second pull reads everything again: nothing is marked not seen.
        code, second, err = pull(capsys)
        assert code == ExitCode.OK, err
        assert (second["unchanged"], second["marked_not_seen"]) == (N, 0)
        assert stored() == (list(range(1, N + 1)), [])


def test_a_bare_array_short_page_is_confirmed_by_an_empty_next_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No total, no flag: the short last page (36 items) is the end only once the page
    # starting right after it comes back empty.
    with capped(monkeypatch) as server:
        code, report, err = pull(capsys)
        assert code == ExitCode.OK, err
        assert report["stop_reason"] == "empty_page"
        last = server.asked[-1]
        assert (int(last["page"]) - 1) * int(last["pageSize"]) == N  # right after item 236


def test_a_list_ending_below_its_announced_total_is_an_incomplete_pull(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with capped(monkeypatch, envelope=True) as _:
        assert pull(capsys)[0] == ExitCode.OK  # 236 stored, all seen
    # The same costs minus the last ten, but a total of 300: the walk cannot prove the list
    # is whole, so the ten it did not read are not marked not seen.
    fewer = [cost(i) for i in range(1, N - 9)]
    with capped(monkeypatch, envelope=True, costs=fewer, announced=300):
        code, report, err = pull(capsys)
    assert code == ExitCode.TEMPFAIL, err
    assert (report["complete"], report["stop_reason"]) == (False, "short_of_total")
    assert report["marked_not_seen"] == 0
    assert "announced 300" in err
    assert stored() == (list(range(1, N + 1)), [])

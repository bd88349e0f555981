"""H: hostile and odd servers, each a few lines of stdlib ``http.server`` on loopback, against
the real ``tracker`` command in a real subprocess with a wall-time bound.

Each server plays one behaviour nobody wrote into the sandbox: a costs list that caps its
page size, one that announces more than it gives, items nested a thousand levels deep, a
5,000-digit number or a bare NaN, a page nested 100k deep, a save answer nested 100k deep,
an id that escapes its path, one id for every trip, a message full of terminal escapes,
headers dripped a byte a second, a server that never answers, a redirect. For every run the
campaign counts what must never happen:

- an exit 70 or a traceback (a crash);
- a run still going past its bound (a hang: the bound is several times the manual run's
  time budget, so a loaded machine never trips it);
- a raw escape, bidi override or zero-width character from the server on the terminal;
- a costs walk reported complete although the server withheld costs, or a cost marked not
  seen by a walk that did not prove it;
- an exit code other than the documented one for what happened.

The scorecard row (section 18) publishes the counts; docs/reliability.md explains them.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers.loopback import Quiet, serve
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import EXE, clean_env

pytestmark = pytest.mark.slow

LIST = "/api/business-mobile/v1/additional-costs/list"
SAVE = "/v6/mileage"
BOUND = 60.0
"""Seconds a manual run may take here before it counts as a hang (its own budget is far
shorter: docs/sync-guarantees.md)."""
RAW = ("\x1b", "\u202e", "\u200b", "\x07")
"""What a server's text may carry that must never reach a terminal raw."""
NASTY = "\x1b[2J\x1b]0;pwned\x07all synced\u202eevil\u200b"


def cost(ident: int) -> dict[str, Any]:
    return {"ID": ident, "Amount": ident + 0.25, "LastUpdated": "2026-03-01 10:00:00"}


# ----------------------------------------------------------------------------- servers
class Server(Quiet):
    """Base: JSON answers and a record of every request (method, path)."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def reply(self, status: int, body: Any, raw: bytes | None = None) -> None:
        self.send_json(status, body, raw=raw)

    def note(self) -> bytes:
        type(self).seen.append((self.command, self.path))
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class CappedCosts(Server):
    """At most 50 items a page; bare array; pages numbered by the size given."""

    costs: ClassVar[list[dict[str, Any]]] = [cost(i) for i in range(1, 237)]

    def do_GET(self) -> None:
        self.note()
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        asked = int(query.get("pageSize", "20"))
        start = (int(query.get("page", "1")) - 1) * min(asked, 50)
        self.reply(200, self.costs[start : start + min(asked, 50)])


class LyingTotal(Server):
    """An envelope announcing 300 costs that ends after 120."""

    def do_GET(self) -> None:
        self.note()
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        asked = int(query.get("pageSize", "20"))
        start = int(query.get("PageIndex", "0")) * asked
        items = [cost(i) for i in range(1, 121)][start : start + asked]
        self.reply(200, {"Items": items, "TotalCount": 300})


class PoisonedItems(Server):
    """One page: good costs around an item nested 1,000 deep, a 5,000-digit amount, a NaN."""

    def do_GET(self) -> None:
        self.note()
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        if query.get("page", "1") != "1":
            self.reply(200, [])
            return
        good = [json.dumps(cost(i)) for i in range(1, 6)]
        deep = '{"ID": 90, "Amount": 1, "LastUpdated": "2026-03-01 10:00:00", "X": ' + (
            "[" * 1000 + "]" * 1000 + "}"
        )
        digits = '{"ID": 91, "Amount": ' + "9" * 5000 + ', "LastUpdated": "2026-03-01 10:00:00"}'
        nan = '{"ID": 92, "Amount": NaN, "LastUpdated": "2026-03-01 10:00:00"}'
        page = "[" + ",".join([good[0], deep, good[1], digits, good[2], nan, *good[3:]]) + "]"
        self.reply(200, None, raw=page.encode())


class DeepPage(Server):
    def do_GET(self) -> None:
        self.note()
        self.reply(200, None, raw=b"[" * 100_000 + b"]" * 100_000)


class Tight(Server):
    """Answers every save with ``answer(items)``; queries list nothing."""

    def answer(self, items: list[dict[str, Any]]) -> tuple[int, Any, bytes | None]:
        raise NotImplementedError

    def do_POST(self) -> None:
        body = self.note()
        if self.path == SAVE:
            status, document, raw = self.answer(json.loads(body)["data"])
            self.reply(status, document, raw)
        else:
            self.reply(200, {"result": "SUCCESS", "data": [], "cursor": None})

    def do_DELETE(self) -> None:
        self.note()
        self.reply(404, {"error": [{"type": "NOT_FOUND", "message": "no"}]})


def _success(items: list[dict[str, Any]], ident: Callable[[int], str]) -> dict[str, Any]:
    return {
        "result": "SUCCESS",
        "data": [
            {"result": "SUCCESS", "statusCode": 200, "data": {**item, "id": ident(i)}}
            for i, item in enumerate(items)
        ],
    }


class DeepAnswer(Tight):
    def answer(self, items: list[dict[str, Any]]) -> tuple[int, Any, bytes | None]:
        return 200, None, b"[" * 100_000 + b"]" * 100_000


class EscapingId(Tight):
    def answer(self, items: list[dict[str, Any]]) -> tuple[int, Any, bytes | None]:
        return 200, _success(items, lambda _: "../auth/token?x="), None


class OneIdForAll(Tight):
    def answer(self, items: list[dict[str, Any]]) -> tuple[int, Any, bytes | None]:
        return 200, _success(items, lambda _: "mlg_same"), None


class EscapesInMessages(Tight):
    def answer(self, items: list[dict[str, Any]]) -> tuple[int, Any, bytes | None]:
        error = {"type": "INVALID_VALUE", "message": NASTY, "param": NASTY}
        results = [{"result": "FAILURE", "statusCode": 400, "error": [error]} for _ in items]
        return 207, {"result": "FAILURE", "data": results}, None


class Redirect(Tight):
    def do_POST(self) -> None:
        self.note()
        self.send_response(308)
        self.send_header("Location", "https://elsewhere.invalid/v6/mileage")
        self.send_header("Content-Length", "0")
        self.end_headers()


class DripHeaders(Tight):
    """One header byte a second, for as long as the client listens."""

    def do_POST(self) -> None:
        self.note()
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(600):
                self.wfile.write(b"X")
                self.wfile.flush()
                time.sleep(1.0)  # the server's pace, not a wait of the test
        except OSError:
            return


class Silent(Tight):
    """Reads the request and never answers."""

    def do_POST(self) -> None:
        self.note()
        try:
            self.connection.settimeout(600)
            self.connection.recv(1)  # blocks until the client gives up
        except OSError:
            return


# ----------------------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    name: str
    server: type[Server]
    remote: str  # "costs" or "mileage"
    argv: tuple[str, ...]
    exits: frozenset[int]
    env: dict[str, str] = field(default_factory=dict)
    trips: int = 0
    withheld: bool = False
    """The server withholds costs: the walk must not say complete."""
    served: int | None = None
    """Costs the server has in all (each must be stored when it says complete)."""


SCENARIOS = [
    Scenario("costs capped at 50 (bare array)", CappedCosts, "costs", ("--pull",),
             frozenset({0}), served=236),
    Scenario("costs total announced but not given", LyingTotal, "costs", ("--pull",),
             frozenset({75}), withheld=True,
             env={"TRACKER_COSTS_FIRST_PAGE": "0", "TRACKER_COSTS_PAGE_PARAM": "PageIndex",
                  "TRACKER_COSTS_TOTAL_KEY": "TotalCount"}),
    Scenario("cost items 1,000 deep, 5,000 digits, NaN", PoisonedItems, "costs", ("--pull",),
             frozenset({65})),
    Scenario("costs page nested 100k deep", DeepPage, "costs", ("--pull",), frozenset({65, 75}),
             withheld=True),
    Scenario("save answer nested 100k deep", DeepAnswer, "mileage", ("--push",),
             frozenset({75}), trips=3),
    Scenario("save answer id escaping its path", EscapingId, "mileage", ("--push",),
             frozenset({75}), trips=2),
    Scenario("one id for every trip", OneIdForAll, "mileage", ("--push",), frozenset({65}),
             trips=3),
    Scenario("terminal escapes in server messages", EscapesInMessages, "mileage", ("--push",),
             frozenset({65}), trips=2),
    Scenario("redirect (308)", Redirect, "mileage", ("--push",), frozenset({78}), trips=2),
    Scenario("headers dripped a byte a second", DripHeaders, "mileage", ("--push",),
             frozenset({75}), trips=2),
    Scenario("a server that never answers", Silent, "mileage", ("--push",), frozenset({75}),
             trips=2),
]  # fmt: skip


@dataclass
class Outcome:
    name: str
    code: int | None
    seconds: float
    crashed: bool
    hung: bool
    escapes: int
    wrongly_complete: bool
    wrong_exit: bool
    detail: str


def _env(home: Path, scenario: Scenario, url: str) -> dict[str, str]:
    env = clean_env(TRACKER_HOME=str(home), TRACKER_MILEAGE_TWO_WAY="false")
    if scenario.remote == "costs":
        env.update(
            TRACKER_COSTS_URL=f"{url}/api/business-mobile",
            TRACKER_COSTS_TOKEN="t0ken",
            TRACKER_COSTS_PAGE_SIZE="100",
        )
    else:
        env.update(TRACKER_MILEAGE_URL=url, TRACKER_MILEAGE_TOKEN="t0ken")
    env.update(scenario.env)
    return env


def _tracker(env: dict[str, str], *argv: str, bound: float) -> tuple[int | None, str, str]:
    try:
        done = subprocess.run(
            [EXE, *argv], env=env, capture_output=True, text=True, timeout=bound, check=False
        )
    except subprocess.TimeoutExpired as hung:
        out = hung.stdout.decode() if isinstance(hung.stdout, bytes) else (hung.stdout or "")
        err = hung.stderr.decode() if isinstance(hung.stderr, bytes) else (hung.stderr or "")
        return None, out, err
    return done.returncode, done.stdout, done.stderr


def _costs(home: Path) -> tuple[int, int]:
    """(costs stored, costs marked not seen) in the scenario's database."""
    with closing(sqlite3.connect(home / "tracker.db")) as conn:
        stored = conn.execute("SELECT count(*) FROM cost").fetchone()[0]
        unseen = conn.execute("SELECT count(*) FROM cost WHERE seen_in_last_pull = 0").fetchone()
    return int(stored), int(unseen[0])


def play(scenario: Scenario, home: Path) -> Outcome:
    handler = type(scenario.server.__name__, (scenario.server,), {"seen": []})
    with serve(handler) as url:
        env = _env(home, scenario, url)
        for i in range(scenario.trips):
            code, _, err = _tracker(
                env, "trip", "add", "--distance", "1.5", "--date", "2026-03-01",
                "-d", f"trip {i}", bound=BOUND,
            )  # fmt: skip
            assert code == 0, err
        started = time.monotonic()
        code, out, err = _tracker(env, "sync", *scenario.argv, "--json", bound=BOUND)
        seconds = time.monotonic() - started
    shown = out + err
    escapes = sum(shown.count(raw) for raw in RAW)
    wrongly_complete = False
    if scenario.remote == "costs" and code is not None:
        try:
            report = json.loads(out).get("costs") or {}
        except ValueError:
            report = {}
        stored, unseen = _costs(home) if (home / "tracker.db").exists() else (0, 0)
        complete = bool(report.get("complete"))
        if complete and (scenario.withheld or (scenario.served or 0) > stored):
            wrongly_complete = True
        if unseen and not complete:
            wrongly_complete = True
    crashed = code == 70 or "Traceback" in err
    return Outcome(
        scenario.name,
        code,
        round(seconds, 1),
        crashed=crashed,
        hung=code is None,
        escapes=escapes,
        wrongly_complete=wrongly_complete,
        wrong_exit=code is not None and code not in scenario.exits,
        detail=err.strip().splitlines()[-1][:200] if err.strip() else "",
    )


def test_hostile_servers(tmp_path: Path, scorecard: Scorecard) -> None:
    outcomes = [play(s, tmp_path / f"s{i}") for i, s in enumerate(SCENARIOS)]
    n = len(outcomes)
    crashes = [o.name for o in outcomes if o.crashed]
    hangs = [o.name for o in outcomes if o.hung]
    escapes = sum(o.escapes for o in outcomes)
    complete = [o.name for o in outcomes if o.wrongly_complete]
    wrong = [f"{o.name}: exit {o.code} ({o.detail})" for o in outcomes if o.wrong_exit]
    longest = max(o.seconds for o in outcomes)
    scorecard.record(
        "h_hostile",
        title="Hostile and odd servers against the tracker command (H)",
        section=18,
        rows=[
            Row("hostile servers tried", f"{n} servers, each through `tracker sync`",
                ">= 10", n >= 10),
            Row("walks wrongly reported complete", ratio(len(complete), n, "runs"), "0",
                not complete),
            Row("hangs past the bound", ratio(len(hangs), n, f"runs (bound {BOUND:g} s); "
                f"longest run {longest:g} s"), "0", not hangs),
            Row("exit-70 crashes or tracebacks", ratio(len(crashes), n, "runs"), "0",
                not crashes),
            Row("escapes reaching a terminal", f"{escapes} raw control characters", "0",
                escapes == 0),
            Row("documented exit code", ratio(n - len(wrong), n, "runs"), "all", not wrong),
        ],
        raw={"outcomes": [o.__dict__ for o in outcomes]},
    )  # fmt: skip
    assert not crashes and not hangs and escapes == 0, outcomes
    assert not complete, complete
    assert not wrong, wrong

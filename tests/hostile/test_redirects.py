"""A server that redirects (http to https, a moved API): never followed (the token must not
travel), reported as a configuration error naming the Location (exit 78), nothing marked in
doubt, every change kept. Issue 13, finding 10."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from sync.errors import ConfigError
from sync.http.client import redirect_error
from tests.helpers.cli import run, run_json
from tests.helpers.loopback import Quiet, serve


class Elsewhere(Quiet):
    """Where the redirect points: any request reaching it is a test failure."""

    seen: ClassVar[list[str]] = []
    lock = threading.Lock()

    def _note(self) -> None:
        with type(self).lock:
            type(self).seen.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _note


class Moved(Quiet):
    """Answers every request with ``status`` and a Location on ``target``."""

    status = 301
    target = ""

    def _moved(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(type(self).status)
        self.send_header("Location", f"{type(self).target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _moved


@pytest.fixture
def elsewhere() -> Iterator[str]:
    Elsewhere.seen = []
    with serve(Elsewhere) as url:
        yield url


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_configuration_error_naming_the_location(status: int) -> None:
    error = redirect_error(status, "https://api.example/v6/mileage", "POST", "http://x/v6/mileage")
    assert isinstance(error, ConfigError)
    assert "https://api.example/v6/mileage" in str(error)
    assert f"HTTP {status}" in str(error)


@pytest.mark.parametrize("status", [200, 204, 304, 400, 404, 503])
def test_other_answers_are_no_redirect(status: int) -> None:
    assert redirect_error(status, "https://api.example/", "GET", "http://x/") is None


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_push_to_a_redirecting_server_exits_78_and_marks_nothing_in_doubt(
    status: int,
    elsewhere: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Moved.status, Moved.target = status, elsewhere
    with serve(Moved) as url:
        monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
        monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "t0k3n-must-not-travel")
        for day in (1, 2):
            run(capsys, "trip", "add", "--distance", "3.5", "--date", f"2026-03-0{day}")
        code, _out, err = run(capsys, "sync", "--push")
    assert code == 78
    assert f"{elsewhere}/v6/mileage" in err  # the Location, so the user can fix the URL
    assert "t0k3n" not in err
    assert Elsewhere.seen == []  # never followed: the token did not travel
    journal = run_json(capsys, "status")["journal"]
    assert journal["in_doubt"] == 0  # nothing was processed: nothing to reconcile
    assert journal["pending"] == 2 and journal["in_flight"] == 0 and journal["synced"] == 0


def test_two_way_sync_against_a_redirecting_server_exits_78(
    elsewhere: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Moved.status, Moved.target = 308, elsewhere
    with serve(Moved) as url:
        monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
        monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "t0k3n-must-not-travel")
        run(capsys, "trip", "add", "--distance", "3.5", "--date", "2026-03-01")
        code, _out, err = run(capsys, "sync")
    assert code == 78
    assert elsewhere in err
    assert Elsewhere.seen == []
    journal = run_json(capsys, "status")["journal"]
    assert journal["in_doubt"] == 0 and journal["pending"] == 1


def test_costs_pull_from_a_redirecting_server_exits_78(
    elsewhere: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Moved.status, Moved.target = 301, elsewhere
    with serve(Moved) as url:
        monkeypatch.setenv("TRACKER_COSTS_URL", f"{url}/api/business-mobile")
        monkeypatch.setenv("TRACKER_COSTS_TOKEN", "t0k3n-must-not-travel")
        code, _out, err = run(capsys, "sync", "--pull")
    assert code == 78
    assert f"{elsewhere}/api/business-mobile" in err
    assert Elsewhere.seen == []

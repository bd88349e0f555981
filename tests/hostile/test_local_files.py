"""Files on this machine that someone else could have planted: a config file another user can
write, symbolic links where the database and the log file go (findings 7 and 8 of issue 13).

Each test runs the real ``tracker`` command on real files, with a loopback server standing in
for the remote that a planted file would send the token to.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from sync import logs
from sync.cli.exitcodes import ExitCode
from sync.errors import ConfigError
from sync.settings import config_file_refusal
from tests.helpers.cli import run
from tests.helpers.loopback import Quiet, serve
from tracker.db import file_refusal, folder_refusal

TOKEN = "real-token-from-the-environment"


class Recorder(Quiet):
    """Answers 503 to everything and records the Authorization header it was sent."""

    seen: list[str]
    lock = threading.Lock()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with self.lock:
            self.seen.append(self.headers.get("Authorization", ""))
        body = b'{"error": "try later"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture
def attacker() -> Iterator[tuple[str, list[str]]]:
    """A loopback server a planted config would redirect the token to; yields (url, seen)."""
    seen: list[str] = []
    handler = type("Attacker", (Recorder,), {"seen": seen})
    with serve(handler) as url:
        yield url, seen


def _home() -> Path:
    return Path(os.environ["TRACKER_HOME"])


def _add_trip(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "trip", "add", "--distance", "12", "--date", str(date.today()))
    assert code == 0, err


# ------------------------------------------------------------------ finding 7: config files
@pytest.mark.parametrize("where", ["TRACKER_CONFIG", "config.toml in the data folder"])
def test_a_config_file_others_can_write_is_refused_and_no_token_leaves(
    where: str,
    attacker: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url, seen = attacker
    _add_trip(capsys)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", TOKEN)
    monkeypatch.setenv("TRACKER_MILEAGE_RETRIES", "0")
    config = tmp_path / "shared.toml" if where == "TRACKER_CONFIG" else _home() / "config.toml"
    config.write_text(f'[mileage]\nurl = "{url}"\n')
    if where == "TRACKER_CONFIG":
        monkeypatch.setenv("TRACKER_CONFIG", str(config))
    config.chmod(0o666)  # as left by a careless umask, or by another user

    code, _, err = run(capsys, "sync", "--push")

    assert code == ExitCode.CONFIG
    assert str(config) in err and "writable by others" in err
    assert len(err.strip().splitlines()) == 1
    assert seen == []  # nothing was sent, so no token left
    # The same file, writable only by its owner, is read: the server is called (the test
    # can fail), with the token.
    config.chmod(0o600)
    code, _, err = run(capsys, "sync", "--push")
    assert code == ExitCode.TEMPFAIL, err
    assert seen and all(TOKEN in header for header in seen)


def test_a_config_file_that_is_not_toml_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[mileage\nurl = ")
    config.chmod(0o600)
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    code, _, err = run(capsys, "status")
    assert code == ExitCode.CONFIG
    assert str(config) in err and "not valid TOML" in err


def test_config_file_rules() -> None:
    me, other = 1000, 1001
    regular = stat.S_IFREG
    assert config_file_refusal(regular | 0o600, me, me) is None
    assert config_file_refusal(regular | 0o644, me, me) is None
    assert config_file_refusal(regular | 0o644, 0, me) is None  # root's: accepted, as ssh does
    assert "another user" in (config_file_refusal(regular | 0o600, other, me) or "")
    assert "writable by others" in (config_file_refusal(regular | 0o620, me, me) or "")
    assert "writable by others" in (config_file_refusal(regular | 0o602, 0, me) or "")
    assert "regular file" in (config_file_refusal(stat.S_IFIFO | 0o600, me, me) or "")


# ------------------------------------------------------------------ finding 8: symlinks
def test_a_dangling_symlink_at_the_database_is_refused_and_nothing_is_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = _home()
    home.mkdir(mode=0o700)
    target = tmp_path / "elsewhere" / "planted.db"
    target.parent.mkdir()
    (home / "tracker.db").symlink_to(target)

    code, _, err = run(capsys, "trip", "add", "--distance", "5", "--date", str(date.today()))

    assert code == ExitCode.IOERR
    assert "symbolic link" in err and "tracker.db" in err
    assert not target.exists()


def test_a_symlink_to_an_empty_file_does_not_turn_it_into_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = _home()
    home.mkdir(mode=0o700)
    target = tmp_path / "notes.txt"
    target.write_bytes(b"")
    target.chmod(0o644)
    (home / "tracker.db").symlink_to(target)

    code, _, err = run(capsys, "status")

    assert code == ExitCode.IOERR, err
    assert target.read_bytes() == b""
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert not (tmp_path / "notes.txt-wal").exists()


def test_a_symlink_at_the_wal_file_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _add_trip(capsys)  # a real database first
    home = _home()
    wal = home / "tracker.db-wal"
    wal.unlink(missing_ok=True)
    target = tmp_path / "wal-target"
    wal.symlink_to(target)
    code, _, err = run(capsys, "status")
    assert code == ExitCode.IOERR
    assert "tracker.db-wal" in err and "symbolic link" in err
    assert not target.exists()


def test_an_existing_database_with_loose_modes_is_tightened_to_0600(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_trip(capsys)
    db = _home() / "tracker.db"
    db.chmod(0o644)
    code, _, err = run(capsys, "status")
    assert code == 0, err
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_a_data_folder_every_user_can_write_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    home = _home()
    home.mkdir()
    home.chmod(0o777)  # anyone could swap tracker.db for a link between our check and open
    code, _, err = run(capsys, "status")
    assert code == ExitCode.IOERR
    assert "writable by every user" in err
    assert not (home / "tracker.db").exists()


def test_database_file_and_folder_rules() -> None:
    def info(mode: int, uid: int) -> os.stat_result:
        return os.stat_result((mode, 0, 0, 1, uid, 0, 0, 0, 0, 0))

    me = 1000
    assert file_refusal(info(stat.S_IFREG | 0o600, me), me) is None
    assert "another user" in (file_refusal(info(stat.S_IFREG | 0o600, 0), me) or "")
    assert "regular" in (file_refusal(info(stat.S_IFIFO | 0o600, me), me) or "")
    assert folder_refusal(info(stat.S_IFDIR | 0o700, me), me) is None
    assert folder_refusal(info(stat.S_IFDIR | 0o1777, 0), me) is None  # sticky, like /tmp
    assert "every user" in (folder_refusal(info(stat.S_IFDIR | 0o777, me), me) or "")
    assert "another user" in (folder_refusal(info(stat.S_IFDIR | 0o700, me + 1), me) or "")


def test_the_daemon_refuses_a_log_file_that_is_a_symlink(
    attacker: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url, seen = attacker
    monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
    monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", TOKEN)
    target = tmp_path / "someone-elses.log"
    target.write_text("theirs\n")
    target.chmod(0o644)
    link = tmp_path / "daemon.log"
    link.symlink_to(target)

    code, _, err = run(capsys, "daemon", "--log-file", str(link))

    assert code == ExitCode.CONFIG
    assert str(link) in err and "symbolic link" in err
    assert target.read_text() == "theirs\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert seen == []


def test_an_existing_log_file_is_appended_to_and_tightened_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "daemon.log"
    path.parent.mkdir()
    path.write_text("earlier line\n")
    path.chmod(0o644)
    handle = logs.open_log_file(path)
    handle.write("new line\n")
    handle.close()
    assert path.read_text() == "earlier line\nnew line\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"fifo\.log"):
        logs.open_log_file(fifo)  # refused at once, never a hang waiting for a reader


# ------------------------------------------------------------------ finding 11e
class NoSuchCost(Quiet):
    """The platform's answer for a cost ID it does not have."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"Error": "err_InvalidElement", "Message": "no additional cost with ID 99"}
        ).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_refreshing_an_unknown_cost_id_is_a_data_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(NoSuchCost) as url:
        monkeypatch.setenv("TRACKER_COSTS_URL", f"{url}/api/business-mobile")
        monkeypatch.setenv("TRACKER_COSTS_TOKEN", TOKEN)
        code, out, err = run(capsys, "costs", "refresh", "99")
    assert code == ExitCode.DATAERR, out + err
    assert "no cost with id 99" in err
    assert "gone" not in out
    code, out, _ = run(capsys, "costs", "list", "--json")
    assert code == 0 and json.loads(out) == []

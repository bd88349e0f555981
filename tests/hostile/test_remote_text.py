"""Finding 6: text from a remote never reaches a terminal or a log line raw.

A loopback Tight refuses every save with a message that clears the screen, sets the window
title, prints fake "all synced" text, reverses text (U+202E) and hides a character
(U+200B). ``tracker sync`` and ``tracker parked list`` (table and JSON) show it escaped; a
log file written as the daemon's is (``sync.logs.configure``) holds no raw ESC either.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sync import logs
from sync.safe_text import visible, visible_json
from tests.helpers.cli import run
from tests.helpers.loopback import Quiet, serve

EVIL = "\x1b[2J\x1b]0;pwned\x07\r\x1b[32mall synced\x1b[0m \u202edetrap\u202c z\u200bero\x9b1m"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u200b", "\r")


class Refuses(Quiet):
    def do_POST(self) -> None:
        sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if self.path == "/v6/mileage/query":
            document = {"result": "SUCCESS", "data": [], "cursor": None}
        else:
            error = {"type": "INVALID_VALUE", "message": EVIL, "param": EVIL}
            results = [{"result": "FAILURE", "statusCode": 400, "error": [error]}] * len(
                sent["data"]
            )
            document = {"result": "FAILURE", "data": results}
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def assert_escaped(text: str) -> None:
    for raw in RAW:
        assert raw not in text, repr(raw)


@pytest.mark.usefixtures("root_logging")
def test_a_server_message_is_shown_escaped_by_sync_and_parked_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(Refuses) as url:
        monkeypatch.setenv("TRACKER_MILEAGE_URL", url)
        monkeypatch.setenv("TRACKER_MILEAGE_TOKEN", "t0ken-for-mileage")
        code, _, err = run(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01")
        assert code == 0, err
        code, out, err = run(capsys, "sync")
        assert code == 65, err
        assert_escaped(out + err)
        code, out, err = run(capsys, "parked", "list")
        assert code == 0
        assert_escaped(out + err)
        assert "\\x1b" in out  # shown, visibly
        code, out, err = run(capsys, "parked", "list", "--json")
    assert code == 0
    assert_escaped(out)
    assert EVIL in json.loads(out)[0].values()  # the data itself is intact


@pytest.mark.usefixtures("root_logging")
def test_a_log_file_gets_no_raw_escape_and_no_forged_line(tmp_path: Path) -> None:
    log_file = tmp_path / "daemon.log"
    logs.configure("INFO", log_file=log_file)
    logging.getLogger("sync.tight.push").warning("item parked: %s", EVIL + "\nlevel=INFO fake")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert_escaped(text)
    assert text.count("\n") == 1  # one record, one line: no forged second line
    assert "\\x1b[2J" in text and "\\u202e" in text


def test_visible_escapes_controls_bidi_and_invisible_characters() -> None:
    assert visible("a\x1bb\u202ec\u2066d\u200be\ufefff\x85") == (
        "a\\x1bb\\u202ec\\u2066d\\u200be\\ufefff\\x85"
    )
    assert visible("tab\tand\nline") == "tab\tand\nline"
    assert visible("x\ny", one_line=True) == "x\\x0ay"
    document = json.dumps({"m": EVIL}, ensure_ascii=False)
    assert json.loads(visible_json(document)) == {"m": EVIL}
    assert_escaped(visible_json(document))

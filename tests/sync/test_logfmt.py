"""Log lines as logfmt and JSON lines: one event per line, fields a parser can read."""

from __future__ import annotations

import json
import logging
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync import logs
from sync.errors import ConfigError
from sync.logfmt import JsonLinesFormatter, LogfmtFormatter, logfmt_value


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("sync.service", logging.INFO, __file__, 1, msg, None, None)
    record.created = datetime(2026, 11, 28, 8, 20, 1, 567000, tzinfo=UTC).timestamp()
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def _parse_logfmt(line: str) -> dict[str, str]:
    # logfmt's quoting is shell-like for what we write: bare words and "..." with \\ \" escapes.
    pairs = shlex.split(line, posix=True)
    return dict(pair.split("=", 1) for pair in pairs)


def test_a_record_is_one_logfmt_line_of_fields() -> None:
    line = LogfmtFormatter().format(_record("push done", synced=3, parked=0, retry=True))
    assert line == (
        'time=2026-11-28T08:20:01.567Z level=info logger=sync.service msg="push done" '
        "synced=3 parked=0 retry=true"
    )
    assert _parse_logfmt(line)["msg"] == "push done"


def test_values_are_quoted_escaped_and_never_break_the_line() -> None:
    assert logfmt_value("plain") == "plain"
    assert logfmt_value('say "hi"=x') == '"say \\"hi\\"=x"'
    # Escaped (visible), then quoted: a logfmt reader decodes \\ and gets the escape back.
    assert logfmt_value("two\nlines\x1b[2J") == '"two\\\\x0alines\\\\x1b[2J"'
    assert logfmt_value(None) == ""
    line = LogfmtFormatter().format(_record("item parked", reason='bad "x"\nlevel=error fake'))
    assert "\n" not in line
    assert _parse_logfmt(line)["reason"] == 'bad "x"\\x0alevel=error fake'


def test_json_lines_carry_the_same_keys() -> None:
    line = JsonLinesFormatter().format(_record("push done", synced=3))
    assert json.loads(line) == {
        "time": "2026-11-28T08:20:01.567Z",
        "level": "info",
        "logger": "sync.service",
        "msg": "push done",
        "synced": 3,
    }


@pytest.mark.usefixtures("root_logging")
def test_a_log_file_in_json_redacts_secrets_in_fields_too(tmp_path: Path) -> None:
    log_file = tmp_path / "daemon.log"
    logs.configure("INFO", log_file=log_file, secrets=["s3cret-value"], log_format="json")
    logging.getLogger("sync.tight.push").info("sent", extra={"auth": "Bearer s3cret-value"})
    for handler in logging.getLogger().handlers:
        handler.flush()
    (event,) = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert event["msg"] == "sent"
    assert "s3cret" not in event["auth"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", event["time"])


def test_an_unknown_log_format_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="log format 'xml'"):
        logs.configure("INFO", log_format="xml")


def test_a_command_warns_in_a_plain_line_for_a_person() -> None:
    from sync.logfmt import PlainFormatter

    record = _record("cost quarantined", cost_id=9)
    record.levelname = "WARNING"
    assert PlainFormatter().format(record) == "warning: cost quarantined (cost_id=9)"

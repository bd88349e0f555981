"""Log lines a machine can read: logfmt (the default) or JSON lines, one event per line.

A record's message is the event (``"push done"``); what varies goes in fields, passed as
``extra`` (``log.info("push done", extra={"synced": 3, "parked": 0})``), so journald and log
shippers index ``synced=3`` instead of parsing prose::

    time=2026-11-28T08:20:01.567Z level=info logger=sync.service msg="push done" synced=3

Values are written with every control, bidi and invisible character escaped (``\\x1b``), so
text that came from a server can neither forge a line nor drive a terminal. Pure formatting:
the handlers, files and redaction are ``sync.logs``'.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from sync.colour import paint_label
from sync.safe_text import visible

__all__ = [
    "FORMATS",
    "JsonLinesFormatter",
    "LogfmtFormatter",
    "PlainFormatter",
    "fields_of",
    "logfmt_value",
]

FORMATS = ("logfmt", "json")
"""The log formats (``TRACKER_LOG_FORMAT``, ``tracker daemon --log-format``)."""

# The attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_BARE = re.compile(r"[^\s\"=\\]+")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record carries beyond the standard ones (its ``extra``), in order."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def logfmt_value(value: object) -> str:
    """One value as logfmt writes it: bare when it can be, else double-quoted with ``\\"``
    and ``\\\\`` escaped; control characters always escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        value = _instant(value)
    text = visible(value, one_line=True)
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _instant(value: datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat()
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(record: logging.LogRecord) -> dict[str, Any]:
    event: dict[str, Any] = {
        "time": _instant(datetime.fromtimestamp(record.created, UTC)),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for name, value in fields_of(record).items():
        event[name if name not in event else f"field_{name}"] = value
    if record.exc_info and record.exc_info[1] is not None:
        event["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
    if record.exc_text:
        event["traceback"] = record.exc_text
    return event


class LogfmtFormatter(logging.Formatter):
    """``key=value`` pairs: time, level, logger, msg, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={logfmt_value(v)}" for k, v in _event(record).items())


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line, with the same keys as logfmt."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            k: (_instant(v) if isinstance(v, datetime) else v) for k, v in _event(record).items()
        }
        # ensure_ascii: every control and non-ASCII character escaped, the line stays one line.
        return json.dumps(event, default=str, ensure_ascii=True)


class PlainFormatter(logging.Formatter):
    """A line for a person at a command's stderr: ``warning: cost 9 quarantined: ...``, the
    fields after it in brackets. What a command prints by default; machines get logfmt.
    ``colour``: the level label in colour (a terminal; see :mod:`sync.colour`)."""

    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        fields = fields_of(record)
        extra = " (" + ", ".join(f"{k}={logfmt_value(v)}" for k, v in fields.items()) + ")"
        text = visible(record.getMessage(), one_line=True) + (extra if fields else "")
        line = f"{record.levelname.lower()}: {text}"
        return paint_label(line) if self.colour else line

"""Logging for the CLI and the daemon: structured lines (``sync.logfmt``), secrets redacted.

Library modules only call ``logging.getLogger(__name__)``, with what varies in ``extra``
fields; this module is used by the entry points. Every handler gets a filter that redacts
bearer tokens, Authorization headers, and the configured secrets themselves, wherever they
appear in a message or a field.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from sync.colour import wants_colour
from sync.errors import ConfigError
from sync.logfmt import FORMATS, JsonLinesFormatter, LogfmtFormatter, PlainFormatter, fields_of
from sync.safe_text import visible

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
    re.compile(r"(?i)((?:client_secret|access_token|token)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}&]+"),
)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class RedactSecrets(logging.Filter):
    """Replaces secrets in log records with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and token-looking value masked."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        for pattern in _PATTERNS:
            text = pattern.sub(r"\1***", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        for name, value in fields_of(record).items():
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class ShowControls(logging.Filter):
    """Writes control, bidi and invisible characters of a record's message as escapes, line
    feeds included: a server's text can neither drive the terminal reading the log nor forge
    a log line (``sync.safe_text``). Tracebacks keep their line breaks."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = visible(record.getMessage(), one_line=True), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = visible(record.exc_text)
        return True


def configure(
    level: str,
    *,
    log_file: Path | None = None,
    secrets: Iterable[str] = (),
    log_format: str = "logfmt",
) -> None:
    """Route the root logger to stderr (or a 0600 file) with redaction, one event per line
    in ``log_format`` (``logfmt`` or ``json``; ``plain``: ``warning: ...`` lines for a person
    at a command)."""
    if log_format not in (*FORMATS, "plain"):
        raise ConfigError(f"unknown log format {log_format!r}: use one of {', '.join(FORMATS)}")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if log_file is not None:
        handler = _FileOfOurs(open_log_file(log_file))
    else:
        handler = logging.StreamHandler(sys.stderr)
    if log_format == "plain":
        handler.setFormatter(PlainFormatter(colour=log_file is None and wants_colour(sys.stderr)))
    else:
        handler.setFormatter({"logfmt": LogfmtFormatter, "json": JsonLinesFormatter}[log_format]())
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(ShowControls())
    root.addHandler(handler)
    name = level.strip().upper()
    if name not in LEVELS:
        raise ConfigError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    root.setLevel(name)
    # httpx logs every request line at INFO: fine (no tokens in URLs), but keep it quieter.
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("apscheduler").setLevel(max(root.level, logging.WARNING))


class _FileOfOurs(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on a log file opened by :func:`open_log_file`: closing it closes the file
    (a StreamHandler leaves its stream open, which is right for stderr only)."""

    def close(self) -> None:
        self.acquire()
        try:
            self.stream.close()
        finally:
            self.release()
        super().close()


def open_log_file(path: Path) -> TextIO:
    """Open ``path`` for appending, as a file of ours: 0600, never through a symbolic link.

    A link at ``path`` is refused (``O_NOFOLLOW``), so are a file of another user and anything
    but a regular file; an existing file of ours is tightened to 0600. Raises ConfigError.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_NONBLOCK: a FIFO planted there fails to open instead of hanging the daemon.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(path, flags, 0o600)
    except OSError as err:
        failed = "is a symbolic link" if err.errno == errno.ELOOP else f"({err.strerror})"
        raise ConfigError(
            f"log file {path} {failed}: refused; give --log-file a file of yours"
        ) from None
    info = os.fstat(fd)
    refused = log_file_refusal(info.st_mode, info.st_uid, os.geteuid())
    if refused is not None:
        os.close(fd)
        raise ConfigError(f"log file {path} {refused}: refused; give --log-file a file of yours")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8")


def log_file_refusal(mode: int, owner: int, me: int) -> str | None:
    """Why an opened log file (its ``st_mode`` and owner) is not ours to append to, or None."""
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    if owner != me:
        return f"is owned by another user (uid {owner})"
    return None


def settings_secrets(settings: object) -> list[str]:
    """Every secret value held by a Settings object (to redact them by value)."""
    found: list[str] = []
    for group in ("mileage", "costs"):
        part = getattr(settings, group, None)
        for name in ("token", "client_secret"):
            value = getattr(part, name, None)
            if value is not None and hasattr(value, "get_secret_value"):
                found.append(value.get_secret_value())
    return found

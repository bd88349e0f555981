"""Rendering: one JSON document on stdout with ``--json``; Rich tables otherwise.

Text that came from outside (trip notes, server messages, cost labels) may hold terminal
escape sequences; they are shown escaped, never sent raw to the terminal.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def safe(text: object) -> str:
    """``text`` with control characters made visible (``\\x1b``): safe for a terminal."""
    raw = "" if text is None else str(text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", raw)


def emit_json(document: Any) -> None:
    """Print one JSON document (control characters escaped, so a terminal is safe)."""
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    sys.stdout.write(text + "\n")


def console(stderr: bool = False) -> Any:
    """A Rich console (stderr for diagnostics and progress)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a table of safe-escaped cells on stdout."""
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=title, title_justify="left")
    for name in columns:
        grid.add_column(name, overflow="fold")
    for row in rows:
        # Text() cells: data is never read as Rich markup.
        grid.add_row(*(Text(safe(cell)) for cell in row))
    console().print(grid)


def line(text: str) -> None:
    """Print one line on stdout (control characters escaped, no markup)."""
    console().print(safe(text), markup=False)


def error_line(text: str) -> None:
    """Print one line on stderr (escaped: messages may quote server text)."""
    sys.stderr.write(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + "\n")

"""Rendering: one JSON document on stdout with ``--json``; tables otherwise: Rich boxes on
a terminal, plain aligned columns in a pipe or a file (what ``grep``, ``cut`` and ``awk``
read, and without loading Rich: a page of ``trip list`` in a pipe costs no rendering time).

Text that came from outside (trip notes, server messages, cost labels) may hold terminal
escape sequences; they are shown escaped, never sent raw to the terminal.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from typing import Any

from sync.safe_text import visible, visible_json


def safe(text: object) -> str:
    """``text`` with control, bidi and invisible characters made visible (``\\x1b``,
    ``\\u202e``): safe for a terminal (``sync.safe_text``)."""
    return visible(text)


def emit_json(document: Any) -> None:
    """Print one JSON document (control characters escaped, so a terminal is safe)."""
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(visible_json(text) + "\n")


def emit_json_list(key: str, items: Iterable[Any], tail: dict[str, Any]) -> None:
    """Print ``{key: [items...], **tail}`` one item at a time: a list of any length is
    never held in memory whole (``tracker trip list --all --json``)."""
    sys.stdout.write(f"{{\n  {json.dumps(key)}: [")
    sep = "\n    "
    for item in items:
        text = json.dumps(item, ensure_ascii=False, default=str)
        sys.stdout.write(sep + visible_json(text))
        sep = ",\n    "
    sys.stdout.write("\n  ]")
    for name, value in tail.items():
        sys.stdout.write(f",\n  {json.dumps(name)}: {json.dumps(value, default=str)}")
    sys.stdout.write("\n}\n")


def console(stderr: bool = False) -> Any:
    """A Rich console (stderr for diagnostics and progress)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def interactive(as_json: bool) -> bool:
    """Whether to draw progress: a terminal on stderr, and no ``--json`` document."""
    return not as_json and sys.stderr.isatty()


def progress_bar() -> Any:
    """A Rich progress bar on stderr, gone when done (``transient``): a pipe gets nothing."""
    from rich.progress import Progress

    return Progress(transient=True, console=console(stderr=True))


@contextmanager
def logs_above(bar: Any) -> Iterator[None]:
    """While ``bar`` is drawn, log lines printed above it: a handler writing to the real
    stderr would land on the bar's line and be erased with it, or leave half a bar behind.
    The bar's live display puts a proxy in ``sys.stderr`` that prints above it (colours
    kept); stderr handlers write to that proxy for as long as the bar lasts."""
    import logging

    proxy = sys.stderr  # inside the bar's ``with``: Rich's proxy to its console
    if proxy is sys.__stderr__:
        yield
        return
    swapped = [
        (h, h.setStream(proxy))
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is sys.__stderr__
    ]
    try:
        yield
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


def instant(value: datetime | None) -> str | None:
    """An instant for JSON: ISO-8601 in UTC with ``Z`` (as every view's ``--json`` prints)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_time(value: datetime | None, zone: tzinfo) -> str:
    """An instant for people: to the second, in the configured zone, with its abbreviation
    (``2026-11-28 09:20:01 CET``); ``-`` for none."""
    if value is None:
        return "-"
    shown = value.astimezone(zone)
    return f"{shown:%Y-%m-%d %H:%M:%S} {shown.tzname() or shown.strftime('%z')}"


def duration(millis: int | None) -> str:
    """A duration for people: ``1 h 02 min``, ``31 min 25 s``, ``12 s``; ``-`` for none."""
    if millis is None:
        return "-"
    seconds = round(millis / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a table of safe-escaped cells on stdout (plain columns when not a terminal)."""
    if not sys.stdout.isatty():
        sys.stdout.write(plain_table(title, columns, rows))
        return
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=title, title_justify="left")
    for name in columns:
        grid.add_column(name, overflow="fold")
    stated = [name in STATE_COLUMNS for name in columns]
    for row in rows:
        # Text() cells: data is never read as Rich markup. A sync state gets its colour
        # (Rich leaves it out with NO_COLOR or on a dumb terminal).
        grid.add_row(
            *(
                Text(safe(cell), style=STATE_STYLES.get(str(cell), "") if state else "")
                for cell, state in zip(row, stated, strict=True)
            )
        )
    console().print(grid)


STATE_COLUMNS = frozenset({"sync", "state", "sync state"})
"""Table columns that hold a sync state."""
STATE_STYLES = {
    "synced": "green",
    "pending": "yellow",
    "in_flight": "cyan",
    "recording": "cyan",
    "in_doubt": "yellow",
    "parked": "bold red",
    "conflict": "bold red",
    "dropped": "dim",
    "local": "dim",
}
"""The colour of each sync state in a table on a terminal."""


def plain_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The table as text: the title, a header, then one line per row, columns two spaces
    apart and padded to the widest cell (wide characters count double). Cells are escaped
    on one line, so a row is always one line."""
    grid = [list(columns)] + [[visible(cell, one_line=True) for cell in row] for row in rows]
    widths = [max(_width(r[i]) for r in grid) for i in range(len(columns))]
    lines = [title] if title else []
    for cells in grid:
        padded = [c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def line(text: str) -> None:
    """Print one line on stdout (control characters escaped, no markup)."""
    if not sys.stdout.isatty():
        sys.stdout.write(safe(text) + "\n")
        return
    console().print(safe(text), markup=False)


def error_line(text: str) -> None:
    """Print one line on stderr (escaped: messages may quote server text); on a terminal its
    label (``error:``, ``warning:``, ``offline:``) in colour (``sync.colour``)."""
    from sync.colour import paint_label, wants_colour

    shown = visible(text)
    sys.stderr.write((paint_label(shown) if wants_colour(sys.stderr) else shown) + "\n")

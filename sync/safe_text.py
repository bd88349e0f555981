"""Text that came from a remote, made safe for a terminal or a log line. Pure: no I/O.

A server's message, a cost's label or a record's notes may carry what a terminal acts on
instead of showing: ESC sequences (clear the screen, set the window title, print fake
"all synced" text over real output), C1 controls (``\\x9b`` is a one-byte CSI), line
breaks that forge a new log line, bidi overrides that show text in another order than it is
stored (U+202E), and invisible characters (zero-width space, BOM) that make two different
values look the same. All of them are shown visibly (``\\x1b``, ``\\u202e``); the data
itself is never changed, only how it is shown.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "visible", "visible_json"]

UNSAFE = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 (tab and line feed kept), DEL, C1
    "\u200b-\u200f"  # zero-width space/joiners, LRM/RLM marks
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064\u2066-\u2069"  # word joiner, invisible operators, bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
    "\ufff9-\ufffb"  # interlinear annotations
    "]"
)
"""Characters a terminal acts on, or that hide or reorder text: never shown raw."""

_UNSAFE_LINE = re.compile(UNSAFE.pattern[:-1] + "\n\t]")


def _code(match: re.Match[str]) -> str:
    point = ord(match[0])
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def visible(text: object, *, one_line: bool = False) -> str:
    """``text`` with every :data:`UNSAFE` character written as its escape (``\\x1b``,
    ``\\u202e``); ``one_line`` escapes line feeds and tabs too (a log line, a table cell)."""
    raw = "" if text is None else str(text)
    return (_UNSAFE_LINE if one_line else UNSAFE).sub(_code, raw)


def visible_json(text: str) -> str:
    """A JSON document's text with :data:`UNSAFE` characters as JSON escapes (``\\u001b``):
    still the same JSON, safe on a terminal."""
    return UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)

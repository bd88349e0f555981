"""Colour for a person at a terminal, and only there: never in a pipe or a file, never with
``NO_COLOR`` set (https://no-color.org) or on a ``TERM=dumb`` terminal. Pure but for the
stream's ``isatty``; the labels a line starts with are what gets colour, the text never."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

__all__ = ["LABELS", "paint_label", "wants_colour"]

_SGR = {"red": "1;31", "yellow": "33", "green": "32", "cyan": "36"}
LABELS = {"error:": "red", "warning:": "yellow", "offline:": "yellow"}
"""Line labels and their colour."""


def wants_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is a terminal and neither NO_COLOR nor TERM=dumb says no."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):  # any non-empty value, as no-color.org says
        return False
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint_label(line: str) -> str:
    """``line`` with its leading label (``error:``, ``warning:``...) in its colour."""
    for label, colour in LABELS.items():
        if line.startswith(label):
            return f"\x1b[{_SGR[colour]}m{label}\x1b[0m{line[len(label) :]}"
    return line

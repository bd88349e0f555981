"""CSV cells a spreadsheet cannot run: formula injection defused (pure).

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (OWASP, "CSV Injection"). Text that came from a person or a server (a
purpose, a place, a customer id) gets a leading ``'``, which spreadsheets show as text. Numbers
the report writes itself (a negative refund included) are written as numbers, untouched.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["number", "text"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def text(value: str) -> str:
    """A text cell from input, defused: ``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``."""
    return "'" + value if value.startswith(_TRIGGERS) else value


def number(value: Decimal | int) -> str:
    """A number the report computed, in plain notation (never ``1E+3``)."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)

"""JSON in and out, exactly.

Both remote APIs carry decimals whose text matters: Henshin's ``Amount`` is a JSON number such
as ``10.30`` and Tight echoes ``customData`` as sent. Python floats would turn ``10.30`` into
``10.3`` on the way in and could print ``0.30000000000000004`` on the way out, so requests are
decoded with non-integers as :class:`~decimal.Decimal` and responses are encoded by hand, writing a
``Decimal`` exactly as its text (``Decimal("10.30")`` → ``10.30``). Floats are written with
``repr`` (shortest round-trip form, e.g. ``10.3``), never as an approximation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class JsonError(ValueError):
    """The bytes are not one strict JSON document (bad syntax, bad UTF-8, NaN or Infinity)."""


def _no_constants(name: str) -> Any:
    raise JsonError(f"{name} is not valid JSON")


def loads(raw: bytes) -> Any:
    """Parse strict JSON: non-integer numbers become ``Decimal``; NaN/Infinity are refused."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JsonError(f"body is not UTF-8: {err.reason} at byte {err.start}") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
    except json.JSONDecodeError as err:
        raise JsonError(f"{err.msg} at line {err.lineno} column {err.colno}") from None


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON, writing ``Decimal`` values digit for digit."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts).encode("utf-8")


def _encode(value: Any, out: list[str]) -> None:
    # bool before int: True is an int in Python but must stay `true` in JSON.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as JSON")
        out.append(str(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value} cannot be written as JSON")
        out.append(float.__repr__(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

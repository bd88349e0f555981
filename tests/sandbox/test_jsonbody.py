"""Exact JSON in and out (amounts, customData)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sync.sandbox.jsonbody import JsonError, dumps, loads


def test_decimals_keep_their_digits_both_ways() -> None:
    parsed = loads(b'{"a": 10.30, "b": [1, 0.1, -2.500], "c": 1e3}')
    assert parsed["a"] == Decimal("10.30")
    assert dumps(parsed) == b'{"a":10.30,"b":[1,0.1,-2.500],"c":1E+3}'
    assert dumps({"x": 0.1 + 0.2}) == b'{"x":0.30000000000000004}'  # floats: repr, shown honestly
    assert (
        dumps({"t": True, "f": False, "n": None, "s": "é\n"})
        == '{"t":true,"f":false,"n":null,"s":"é\\n"}'.encode()
    )


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b"{", b"\xff", b""])
def test_strict_parsing(raw: bytes) -> None:
    with pytest.raises(JsonError):
        loads(raw)


@pytest.mark.parametrize("value", [float("nan"), Decimal("Infinity"), {1: "x"}, object()])
def test_unencodable_values_fail_loudly(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        dumps(value)

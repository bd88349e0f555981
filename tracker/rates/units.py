"""Distances converted exactly: 1 mile is 1.609344 km by definition (the international
mile), so a conversion is a rational number, kept as a ``Fraction`` until the one rounding."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from tracker.enums import DistanceUnit

__all__ = ["KM_PER_MILE", "convert"]

KM_PER_MILE = Fraction("1.609344")


def convert(distance: Decimal | Fraction, unit: DistanceUnit, to: DistanceUnit) -> Fraction:
    """``distance`` in ``unit`` expressed in ``to``, exactly."""
    value = Fraction(distance)
    if unit == to:
        return value
    if unit == DistanceUnit.MILE:
        return value * KM_PER_MILE
    return value / KM_PER_MILE

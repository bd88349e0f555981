"""The shape of a rate schedule: what a data file holds, validated.

A file holds one or more ``[[schedules]]``; each schedule is one jurisdiction's (or one
employer's) rates, with its tax-year rule and rounding rule, and a list of ``[[rates]]``,
each for one vehicle kind and purpose over a dated period, in one or more tiers. Amounts are
written as strings (``"0.585"``): a TOML float is refused, as it is not exact.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tracker.enums import DistanceUnit


class VehicleKind(StrEnum):
    """What a trip was driven (or ridden) with, as rate schedules tell them apart."""

    CAR = "car"  # cars and vans (UK: "cars and goods vehicles")
    MOTORCYCLE = "motorcycle"
    BICYCLE = "bicycle"
    OTHER_MOTOR = "other-motor"  # another motorised vehicle (Germany's "anderes Fahrzeug")


class TaxYearRule(StrEnum):
    """When a jurisdiction's tax year starts (``tracker.rates.taxyear``)."""

    CALENDAR = "calendar"  # 1 January to 31 December
    UK = "uk"  # 6 April to 5 April


class Rounding(StrEnum):
    """Where the one rounding to the currency's minor unit happens."""

    PER_TRIP = "per-trip"  # each trip's amount is rounded; a year's total adds them up
    PER_TOTAL = "per-total"  # trip amounts stay exact; a year's total is rounded once


def _exact(value: Any) -> Any:
    # A TOML float (0.585) is binary: refuse it rather than guess the decimal it meant.
    if isinstance(value, float):
        raise ValueError(f'write {value!r} as a string ("{value!r}"), floats are not exact')
    return value


Exact = Annotated[Decimal, BeforeValidator(_exact)]


class _Strict(BaseModel):
    # A typo in a field name is an error, not an ignored field.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Strict):
    """A rate per distance unit, up to a cumulative distance in the tax year (the last tier
    has no ``up_to``: it applies to everything above the one before it)."""

    rate: Exact = Field(ge=0)
    up_to: Exact | None = Field(default=None, gt=0)


class Rate(_Strict):
    """One rate: a vehicle kind and purpose, the days it covers (both included), its tiers,
    its currency and distance unit, and the page it was confirmed from."""

    vehicle: VehicleKind
    purpose: str = Field(min_length=1)
    valid_from: date
    valid_to: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    distance_unit: DistanceUnit
    tiers: tuple[Tier, ...] = Field(min_length=1)
    source: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rate:
        if self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        *upper, last = self.tiers
        if last.up_to is not None:
            raise ValueError("the last tier must have no up_to (it covers the rest)")
        bounds = [tier.up_to for tier in upper]
        if None in bounds:
            raise ValueError("every tier but the last needs an up_to")
        if bounds != sorted(set(bounds)):  # type: ignore[type-var]
            raise ValueError("tiers' up_to must increase")
        return self

    def covers(self, vehicle: VehicleKind, purpose: str, day: date) -> bool:
        """Whether this rate applies to a trip of this kind on this day."""
        return (
            self.vehicle == vehicle
            and self.purpose == purpose
            and self.valid_from <= day <= self.valid_to
        )


class Schedule(_Strict):
    """One jurisdiction's (or one employer's) rates and the rules that apply them."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    jurisdiction: str = Field(min_length=1)
    tax_year: TaxYearRule
    rounding: Rounding
    minor_unit: Exact = Field(default=Decimal("0.01"), gt=0)
    rounding_note: str | None = None
    tax_year_note: str | None = None
    rates: tuple[Rate, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_currency_no_overlap(self) -> Schedule:
        currencies = {rate.currency for rate in self.rates}
        if len(currencies) > 1:
            raise ValueError(f"rates mix currencies {sorted(currencies)}: one per schedule")
        for i, rate in enumerate(self.rates):
            for j, other in enumerate(self.rates[:i]):
                if (
                    (rate.vehicle, rate.purpose) == (other.vehicle, other.purpose)
                    and rate.valid_from <= other.valid_to
                    and other.valid_from <= rate.valid_to
                ):
                    raise ValueError(
                        f"rates[{j}] and rates[{i}] both cover {rate.vehicle} {rate.purpose} "
                        f"from {max(rate.valid_from, other.valid_from)}"
                    )
        return self

    @property
    def currency(self) -> str:
        """The one currency of every rate in the schedule."""
        return self.rates[0].currency

    @property
    def purposes(self) -> frozenset[str]:
        """Every purpose some rate of the schedule pays for."""
        return frozenset(rate.purpose for rate in self.rates)

    def rate_for(self, vehicle: VehicleKind, purpose: str, day: date) -> Rate | None:
        """The rate in force for this kind of trip on this day, if any."""
        return next((r for r in self.rates if r.covers(vehicle, purpose, day)), None)


class ScheduleFile(_Strict):
    """What one TOML file holds."""

    schedules: tuple[Schedule, ...] = Field(min_length=1)

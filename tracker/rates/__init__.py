"""Mileage rates as dated data, and the exact arithmetic that applies them.

Schedules ship as TOML files in ``tracker/rates/data`` (each rate with its vehicle kind,
purpose, validity, tiers, currency, distance unit and official source); a user adds their own
in a file of the same shape (:func:`load_schedules`). :func:`compute` turns a sequence of
trips into amounts: tiers by cumulative distance in the tax year, exact unit conversion,
and the schedule's one rounding. docs/tax-rates.md lists the shipped schedules and rules.
"""

from tracker.rates.compute import Amounts, Piece, RateTrip, TripAmount, YearTotal, compute
from tracker.rates.loader import load_schedules, parse_schedules, shipped_schedules
from tracker.rates.schedule import Rate, Rounding, Schedule, TaxYearRule, Tier, VehicleKind
from tracker.rates.taxyear import TaxYear, tax_year_of
from tracker.rates.units import KM_PER_MILE, convert

__all__ = [
    "KM_PER_MILE",
    "Amounts",
    "Piece",
    "Rate",
    "RateTrip",
    "Rounding",
    "Schedule",
    "TaxYear",
    "TaxYearRule",
    "Tier",
    "TripAmount",
    "VehicleKind",
    "YearTotal",
    "compute",
    "convert",
    "load_schedules",
    "parse_schedules",
    "shipped_schedules",
    "tax_year_of",
]

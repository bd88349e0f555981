"""Which tax year a day belongs to, per jurisdiction's rule.

- ``calendar``: 1 January to 31 December. The US (an individual's tax year is the calendar
  year unless they elect a fiscal year; the IRS standard mileage rates are set per calendar
  year) and Canada (an individual's taxation year is the calendar year, Income Tax Act
  s. 249(1); the per-km limits of Income Tax Regulations s. 7306 count the kilometres "driven
  in the year").
- ``uk``: 6 April to 5 April of the next year, the UK income tax year (Income Tax Act 2007
  s. 4); HMRC's approved mileage rates count business miles "in the tax year".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.rates.schedule import TaxYearRule

__all__ = ["TaxYear", "tax_year_of"]


@dataclass(frozen=True, order=True)
class TaxYear:
    """A tax year: its first and last day, and its usual name (``2022``, ``2023-24``)."""

    start: date
    end: date
    label: str


def tax_year_of(rule: TaxYearRule, day: date) -> TaxYear:
    """The tax year ``day`` falls in under ``rule``."""
    if rule is TaxYearRule.CALENDAR:
        return TaxYear(date(day.year, 1, 1), date(day.year, 12, 31), str(day.year))
    first = day.year if day >= date(day.year, 4, 6) else day.year - 1
    return TaxYear(date(first, 4, 6), date(first + 1, 4, 5), f"{first}-{(first + 1) % 100:02d}")

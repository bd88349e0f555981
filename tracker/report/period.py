"""Which schedule and which days a report covers: pure rules, no I/O.

``--year YYYY`` is the tax year that begins in that calendar year under the schedule's
tax-year rule (UK 2025: 6 April 2025 to 5 April 2026); ``--from``/``--to`` narrow it and must
stay inside one tax year, because tier positions count from the tax year's first day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from tracker.enums import Classification
from tracker.errors import InvalidInputError, NoRatesInPeriodError, UnknownScheduleError
from tracker.rates.schedule import Rate, Schedule, VehicleKind
from tracker.rates.taxyear import TaxYear, tax_year_of
from tracker.report.model import Period, RateLine

__all__ = ["business_rates", "rate_gaps", "rates_in_period", "report_period", "resolve_schedule"]

# Jurisdictions the issue names, and the schedule id each stands for. Germany ships none
# (its figures could not be confirmed on an official page: docs/tax-rates.md).
_ALIASES = {"us-irs": "us-irs", "uk-hmrc": "uk-hmrc", "ca-cra": "ca-cra", "de": "de"}
_NOT_SHIPPED = {
    "de": (
        "has no schedule: no German schedule ships, because its per-km amounts could not be "
        "confirmed on an official page (docs/tax-rates.md, What is left out); put them in "
        "your own schedule (TRACKER_RATE_SCHEDULES) and give its id"
    )
}


def resolve_schedule(schedules: Mapping[str, Schedule], jurisdiction: str) -> Schedule:
    """The schedule a ``--jurisdiction`` names: a shipped jurisdiction or any schedule id
    (the user's own from TRACKER_RATE_SCHEDULES). :class:`UnknownScheduleError` otherwise."""
    wanted = _ALIASES.get(jurisdiction, jurisdiction)
    found = schedules.get(wanted)
    if found is not None:
        return found
    if jurisdiction in _NOT_SHIPPED:
        raise UnknownScheduleError(jurisdiction, _NOT_SHIPPED[jurisdiction])
    known = ", ".join(sorted(schedules))
    raise UnknownScheduleError(
        jurisdiction,
        f"is not a rate schedule; use one of {known}, or add yours to TRACKER_RATE_SCHEDULES",
    )


def _day(value: dt.date | str | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def report_period(
    schedule: Schedule,
    year: int | None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> Period:
    """The period of a report: the tax year beginning in ``year``, narrowed by ``start`` and
    ``end``; without ``year``, the tax year of ``start``. Both ends must fall in that tax
    year (:class:`InvalidInputError` naming the flag otherwise)."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if year is not None:
        if not 1900 <= year <= 9998:
            raise InvalidInputError("year", f"{year} is not a year between 1900 and 9998")
        # The tax year beginning in ``year`` contains 31 December of it, whatever the rule.
        tax_year = tax_year_of(schedule.tax_year, dt.date(year, 12, 31))
    elif first is not None:
        tax_year = tax_year_of(schedule.tax_year, first)
    else:
        raise InvalidInputError("year", "give the tax year (--year YYYY) or a --from date")
    lo = first or tax_year.start
    hi = last or tax_year.end
    for flag, day in (("--from", lo), ("--to", hi)):
        if not tax_year.start <= day <= tax_year.end:
            raise InvalidInputError(flag, _outside(day, tax_year))
    if hi < lo:
        raise InvalidInputError("--to", f"{hi} is before --from {lo}")
    return Period(tax_year, lo, hi)


def _outside(day: dt.date, year: TaxYear) -> str:
    return (
        f"{day} is outside the tax year {year.label} ({year.start} to {year.end}); "
        "a report covers one tax year"
    )


def business_rates(schedule: Schedule) -> list[Rate]:
    """The schedule's business rates for a car (the ones the deduction uses), by date."""
    return sorted(
        (
            r
            for r in schedule.rates
            if r.vehicle == VehicleKind.CAR and r.purpose == Classification.BUSINESS
        ),
        key=lambda r: r.valid_from,
    )


def rate_gaps(schedule: Schedule, period: Period) -> list[tuple[dt.date, dt.date]]:
    """The runs of days of ``period`` no business rate covers. The whole period uncovered
    raises :class:`NoRatesInPeriodError` (a year the data leaves out)."""
    gaps: list[tuple[dt.date, dt.date]] = []
    day = period.start
    for rate in business_rates(schedule):
        if rate.valid_to < day or rate.valid_from > period.end:
            continue
        if rate.valid_from > day:
            gaps.append((day, rate.valid_from - dt.timedelta(days=1)))
        day = max(day, rate.valid_to + dt.timedelta(days=1))
        if day > period.end:
            break
    if day <= period.end:
        gaps.append((day, period.end))
    if gaps == [(period.start, period.end)]:
        covered = business_rates(schedule)
        detail = (
            f"its rates cover {covered[0].valid_from} to {covered[-1].valid_to}"
            if covered
            else "it has no business rate for a car"
        )
        raise NoRatesInPeriodError(
            schedule.id, f"{period.tax_year.label} ({period.start} to {period.end})", detail
        )
    return gaps


def report_unit(schedule: Schedule, period: Period) -> str:
    """The distance unit of the totals: that of the first business rate in force in the
    period (every shipped schedule keeps one unit)."""
    for rate in business_rates(schedule):
        if rate.valid_to >= period.start and rate.valid_from <= period.end:
            return str(rate.distance_unit)
    return str(schedule.rates[0].distance_unit)


def rates_in_period(schedule: Schedule, period: Period) -> tuple[RateLine, ...]:
    """The business rates for a car in force on some day of ``period``, with their sources."""
    return tuple(
        RateLine(
            valid_from=rate.valid_from,
            valid_to=rate.valid_to,
            tiers=tuple((tier.up_to, tier.rate) for tier in rate.tiers),
            unit=str(rate.distance_unit),
            source=rate.source,
        )
        for rate in business_rates(schedule)
        if rate.valid_to >= period.start and rate.valid_from <= period.end
    )

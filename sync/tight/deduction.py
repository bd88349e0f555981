"""Which schedule makes the ``deduction`` sent with each trip, from the settings.

``TRACKER_MILEAGE_DEDUCTION_RATE`` (a flat rate in minor units per
``TRACKER_MILEAGE_DEDUCTION_RATE_UNIT``) overrides; else ``TRACKER_MILEAGE_DEDUCTION_SCHEDULE``
names a shipped schedule or one of the user's (``TRACKER_RATE_SCHEDULES``); neither set: no
deduction is sent. The amounts themselves are the store's (``tracker.deductions``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sync.errors import ConfigError
from sync.settings import Settings
from tracker.enums import DistanceUnit
from tracker.errors import RateScheduleError

if TYPE_CHECKING:
    from tracker.rates.schedule import Schedule

# The rate tables' code is imported only when a deduction is configured: a push or a dry run
# without one (the default) never loads it (start-up, issue 15).

__all__ = ["FLAT_RATE_ID", "deduction_schedule", "flat_schedule"]

FLAT_RATE_ID = "flat-rate"


def flat_schedule(rate: Decimal, unit: str) -> Schedule:
    """``TRACKER_MILEAGE_DEDUCTION_RATE`` as a schedule: one business rate for every day,
    in minor units per ``unit`` (so amounts are minor units already: ``minor_unit`` 1),
    calendar years, no tiers. Pure."""
    from tracker.rates.schedule import Rate, Rounding, Schedule, TaxYearRule, Tier, VehicleKind

    return Schedule(
        id=FLAT_RATE_ID,
        name="TRACKER_MILEAGE_DEDUCTION_RATE",
        jurisdiction="settings",
        tax_year=TaxYearRule.CALENDAR,
        rounding=Rounding.PER_TRIP,
        minor_unit=Decimal(1),
        rates=(
            Rate(
                vehicle=VehicleKind.CAR,
                purpose="business",
                valid_from=date.min,
                valid_to=date.max,
                currency="XXX",  # ISO 4217 "no currency": the unit is the user's choice
                distance_unit=DistanceUnit(unit),
                tiers=(Tier(rate=rate),),
            ),
        ),
    )


def deduction_schedule(settings: Settings) -> Schedule | None:
    """The schedule the deduction is computed under, or None when none is sent. Raises
    :class:`ConfigError` (exit 78) for a schedule id that does not exist or a schedule
    file with a mistake."""
    cfg = settings.mileage
    if cfg.deduction_rate is not None:
        return flat_schedule(cfg.deduction_rate, cfg.deduction_rate_unit)
    if cfg.deduction_schedule is None:
        return None
    from tracker.rates import load_schedules

    try:
        schedules = load_schedules(settings.rate_schedules, config=settings.config_path)
    except RateScheduleError as err:
        raise ConfigError(str(err)) from None
    found = schedules.get(cfg.deduction_schedule)
    if found is None:
        known = ", ".join(sorted(schedules))
        raise ConfigError(
            f"TRACKER_MILEAGE_DEDUCTION_SCHEDULE={cfg.deduction_schedule} is not a rate "
            f"schedule; use one of {known}, or add it to TRACKER_RATE_SCHEDULES or the config "
            "file's [[schedules]]"
        )
    return found

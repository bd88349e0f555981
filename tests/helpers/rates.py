"""A rate schedule file's text, for tests of tracker.rates."""

from __future__ import annotations

__all__ = ["schedule_toml"]


def schedule_toml(
    ident: str, rounding: str, currency: str, unit: str, tiers: str, valid_to: str = "2025-12-31"
) -> str:
    """One schedule with one car/business rate from 2025-01-01 to ``valid_to``, in the
    shipped files' shape."""
    return f"""
[[schedules]]
id = "{ident}"
name = "Employer reimbursement"
jurisdiction = "ACME GmbH"
tax_year = "calendar"
rounding = "{rounding}"

[[schedules.rates]]
vehicle = "car"
purpose = "business"
valid_from = 2025-01-01
valid_to = {valid_to}
currency = "{currency}"
distance_unit = "{unit}"
tiers = {tiers}
"""

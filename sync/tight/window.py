"""Which trip dates a full mileage walk covers (``TRACKER_MILEAGE_PULL_SINCE``). Pure."""

from __future__ import annotations

from datetime import date

__all__ = ["window_start"]


def window_start(setting: str, today: date) -> date | None:
    """The oldest trip date a full walk covers: ``previous-year`` (1 January of last year, the
    default: the open tax years), ``this-year``, ``all`` (None) or a date."""
    if setting == "all":
        return None
    if setting == "this-year":
        return date(today.year, 1, 1)
    if setting == "previous-year":
        return date(today.year - 1, 1, 1)
    return date.fromisoformat(setting)

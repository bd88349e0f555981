"""The mileage log of a tax year: every trip with its rate and amount, the totals, the
odometer, as one report object that renderers turn into CSV or JSON (docs/cli.md,
``tracker report``).

Built from the store's rows while they stream (:mod:`tracker.report.read`): the arithmetic
is :func:`tracker.rates.compute.price`, the same the deduction sent to Tight uses, so a
trip's amount in the log is the amount on the wire. Building is pure
(:mod:`tracker.report.build`); reading and writing are at the edges.
"""

from __future__ import annotations

import importlib
from typing import Any

# Where each public name lives: imported on first use, so ``tracker.report.formats`` (the
# CLI's --format choices) loads no database code (``tracker --help`` stays light).
_WHERE = {
    "OdometerLine": "model",
    "Period": "model",
    "RateLine": "model",
    "Report": "model",
    "ReportData": "model",
    "ReportHead": "model",
    "ReportRow": "model",
    "ReportTotals": "model",
    "ReportFormat": "formats",
    "build_report": "read",
    "render": "renderers",
    "report_period": "period",
    "resolve_schedule": "period",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tracker.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tracker.report.{_WHERE[name]}"), name)

"""The formats a report is written in: light, so the CLI's option needs no database code."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ReportFormat"]


class ReportFormat(StrEnum):
    """The formats a report is written in (``tracker report --format``); each has a renderer
    in ``tracker.report.renderers.RENDERERS`` over the same report object."""

    CSV = "csv"
    JSON = "json"
    PDF = "pdf"

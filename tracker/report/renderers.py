"""Renderers: the same report object as CSV, JSON or PDF, written as the rows stream.

A renderer takes a :class:`~tracker.report.model.Report` and a binary stream; each format is
one function in :data:`RENDERERS` over the same object (PDF: :mod:`tracker.report.pdf`).

CSV, for spreadsheets: UTF-8 with a byte-order mark (Excel reads UTF-8 without one as the
local code page), CRLF line ends, one header row, then one row per trip; after a blank row,
the trips to classify (same columns, titled ``to classify``); after another blank row, the
totals and what the report is, as ``name,value`` pairs. Text from input is defused
(:mod:`tracker.report.cells`). JSON, for machines: one document with the same content,
amounts and distances as exact decimal strings.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from decimal import Decimal
from typing import IO, Any

from tracker.report.cells import number, text
from tracker.report.formats import ReportFormat
from tracker.report.model import Report, ReportHead, ReportRow, ReportTotals

__all__ = [
    "COLUMNS",
    "RENDERERS",
    "ReportFormat",
    "render",
    "render_csv",
    "render_json",
    "render_pdf",
]


COLUMNS = (
    "date",
    "start",
    "end",
    "purpose",
    "customer",
    "car",
    "classification",
    "distance",
    "unit",
    "rate",
    "amount",
    "currency",
    "deductible costs",
    "recorded how",
    "recorded at",
    "recorded after",
    "edited",
    "last edited",
    "changes",
    "trip id",
)

# Fields whose old and new values the changes cell shows (what a tax office checks: the
# distance, what the trip counted as, when, for whom); any other field is named only, so a
# cell stays short whatever a purpose or an address held.
_VALUES_SHOWN = frozenset(
    {"date", "distance", "distance_unit", "classification", "car_id", "customer_id", "status"}
)
_VALUE_MAX = 40


def _value(value: object) -> str:
    shown = "none" if value is None else str(value)
    return shown if len(shown) <= _VALUE_MAX else shown[: _VALUE_MAX - 3] + "..."


def changes_cell(changed: tuple[tuple[str, object, object], ...]) -> str:
    """The fields changed since the trip was recorded, in one short cell:
    ``distance 12.5 -> 15; classification personal -> business; description`` (old and new
    values for the fields a tax office checks, names for the others), defused."""
    return text(
        "; ".join(
            f"{name} {_value(old)} -> {_value(new)}" if name in _VALUES_SHOWN else name
            for name, old, new in changed
        )
    )


def _rate_cell(row: ReportRow) -> str:
    if len(row.rate) == 1:
        return number(row.rate[0][1])
    # A trip across a tier: each piece, "0.45 x 100 + 0.25 x 200" (starts with a digit).
    return " + ".join(f"{number(rate)} x {number(dist)}" for dist, rate in row.rate)


def _costs_cell(row: ReportRow, currency: str) -> str:
    if not row.costs:
        return ""
    if len(row.costs) == 1 and row.costs[0][0] == currency:
        return number(row.costs[0][1])
    return " + ".join(f"{number(v)} {text(c)}" for c, v in row.costs)


def csv_cells(row: ReportRow, head: ReportHead) -> list[str]:
    """One trip as CSV cells: numbers as numbers, text defused."""
    return [
        row.date.isoformat(),
        text(row.start_place),
        text(row.end_place),
        text(row.purpose),
        text(row.customer),
        text(row.car),
        row.classification,
        number(row.distance),
        row.unit,
        _rate_cell(row),
        "" if row.amount is None else number(row.amount),
        head.currency,
        _costs_cell(row, head.currency),
        *record_cells(row),
        text(row.trip_id),
    ]


def record_cells(row: ReportRow) -> list[str]:
    """How and when the trip was recorded, and its edits since: the cells every format
    shows alike (recorded how, at, after; edited, last edited, changes)."""
    return [
        row.recorded_how,
        row.recorded_at.isoformat(timespec="seconds"),
        row.recorded_after,
        "yes" if row.edited else "no",
        "" if row.last_edited is None else row.last_edited.isoformat(timespec="seconds"),
        changes_cell(row.changed) if row.changed else "",
    ]


def _totals_pairs(head: ReportHead, totals: ReportTotals) -> Iterator[list[str]]:
    unit, cur = head.unit, head.currency
    period = head.period
    yield ["schedule", text(head.schedule), text(head.schedule_name)]
    yield ["tax year", period.tax_year.label, f"{period.tax_year.start} to {period.tax_year.end}"]
    yield ["period", period.start.isoformat(), period.end.isoformat()]
    if head.car:
        yield ["car", text(head.car)]
    if head.customer:
        yield ["customer", text(head.customer)]
    yield ["trips", number(totals.trips)]
    yield ["trips to classify", number(totals.to_classify)]
    yield ["business distance", number(totals.business_distance), unit]
    yield ["personal distance", number(totals.personal_distance), unit]
    yield ["distance to classify", number(totals.to_classify_distance), unit]
    yield ["total distance", number(totals.total_distance), unit]
    share = totals.business_share
    yield ["business share", "" if share is None else number(share), "%"]
    yield ["deduction", number(totals.deduction), cur, f"rounded {head.rounding}"]
    yield ["sum of the rows' amounts", number(totals.deduction_rows), cur, "each rounded per trip"]
    yield ["deductible costs", number(totals.deductible_costs), cur]
    for currency, value in totals.other_costs:
        yield ["deductible costs (not added)", number(value), text(currency)]
    yield ["grand total", number(totals.grand_total), cur]
    if head.chain_head:
        yield ["chain head", head.chain_head, "`tracker verify` prints the same for this file"]
    for line in totals.odometer:
        for name, end in (("odometer start", line.start), ("odometer end", line.end)):
            if end is None:
                yield [name, "", "", text(line.car_id), "no reading"]
            else:
                yield [name, number(end[1]), end[2], text(line.car_id), end[0].isoformat()]
        if line.warning:
            yield ["odometer warning", text(line.warning), "", text(line.car_id)]


def render_csv(report: Report, out: IO[bytes]) -> None:
    """Write ``report`` as CSV (see the module docstring) to ``out``, a row at a time."""
    # Buffered (written in blocks as rows stream): a write per row costs more than the row.
    stream = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        apart = False
        for item in report.stream():
            if isinstance(item, ReportTotals):
                writer.writerow([])
                writer.writerow(["totals"])
                writer.writerows(_totals_pairs(report.head, item))
            else:
                if item.to_classify and not apart:
                    apart = True
                    writer.writerow([])
                    writer.writerow(["to classify", "not counted in any amount"])
                writer.writerow(csv_cells(item, report.head))
        stream.flush()
    finally:
        stream.detach()  # the caller owns ``out``


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def row_json(row: ReportRow) -> dict[str, Any]:
    """One trip as JSON (decimals as strings, dates ISO 8601)."""
    data = row._asdict()
    data["rate"] = [{"distance": d, "rate": r} for d, r in row.rate]
    data["costs"] = [{"currency": c, "amount": v} for c, v in row.costs]
    data["changed"] = {name: {"old": old, "new": new} for name, old, new in row.changed}
    del data["to_classify"]
    return _plain(data)  # type: ignore[no-any-return]


def head_json(head: ReportHead) -> dict[str, Any]:
    """What the report is, as JSON."""
    data = asdict(head)
    period = head.period
    data["period"] = {
        "tax_year": period.tax_year.label,
        "tax_year_start": period.tax_year.start,
        "tax_year_end": period.tax_year.end,
        "start": period.start,
        "end": period.end,
    }
    return _plain(data)  # type: ignore[no-any-return]


def totals_json(totals: ReportTotals) -> dict[str, Any]:
    """The totals as JSON."""
    data = asdict(totals)
    data["other_costs"] = [{"currency": c, "amount": v} for c, v in totals.other_costs]
    data["odometer"] = [
        {
            "car_id": line.car_id,
            "start": None
            if line.start is None
            else dict(zip(("date", "reading", "unit"), line.start, strict=True)),
            "end": None
            if line.end is None
            else dict(zip(("date", "reading", "unit"), line.end, strict=True)),
            "driven": line.driven,
            "unit": line.unit,
            "warning": line.warning,
        }
        for line in totals.odometer
    ]
    return _plain(data)  # type: ignore[no-any-return]


def render_json(report: Report, out: IO[bytes]) -> None:
    """Write ``report`` as one JSON document to ``out``, a row at a time:
    ``{"report": head, "rows": [...], "to_classify": [...], "totals": {...}}``."""

    def put(text_: str) -> None:
        out.write(text_.encode("utf-8"))

    put('{\n  "report": ' + json.dumps(head_json(report.head), ensure_ascii=False))
    put(',\n  "rows": [')
    section, sep = "rows", "\n    "
    for item in report.stream():
        if isinstance(item, ReportTotals):
            if section == "rows":
                put('\n  ],\n  "to_classify": [')
            put('\n  ],\n  "totals": ' + json.dumps(totals_json(item), ensure_ascii=False))
            put("\n}\n")
            return
        if item.to_classify and section == "rows":
            section, sep = "to_classify", "\n    "
            put('\n  ],\n  "to_classify": [')
        put(sep + json.dumps(row_json(item), ensure_ascii=False))
        sep = ",\n    "


def render_pdf(report: Report, out: IO[bytes]) -> None:
    """Write ``report`` as PDF (:mod:`tracker.report.pdf`; fpdf2 loaded only then)."""
    from tracker.report.pdf import render_pdf as draw

    draw(report, out)


RENDERERS: dict[ReportFormat, Callable[[Report, IO[bytes]], None]] = {
    ReportFormat.CSV: render_csv,
    ReportFormat.JSON: render_json,
    ReportFormat.PDF: render_pdf,
}


def render(report: Report, fmt: ReportFormat | str, out: IO[bytes]) -> None:
    """Write ``report`` in ``fmt`` to ``out``."""
    RENDERERS[ReportFormat(fmt)](report, out)

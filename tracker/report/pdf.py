"""The report as PDF (fpdf2, the ``pdf`` extra): a page of summary, then the log.

Page 1: the period, the jurisdiction and its schedule with the rates in force and the pages
they come from, the totals, the odometer, and a chart of business distance and amount per
month (bars drawn with fpdf2's own rectangles). Then the log, one row per trip in the CSV's
columns (:data:`tracker.report.renderers.COLUMNS`), the trips to classify apart, the column
header repeated on every page and page numbers in the footer. All of it is real text, so it
can be selected and searched.

One pass over :meth:`Report.stream`: page 1 is reserved first and drawn when the document is
written out (fpdf2's placeholder page), from the totals and the month sums gathered while the
rows went by; rows are drawn as they come, never gathered in a list (fpdf2 holds the pages).

The font is DejaVu Sans when the system has it (Debian's fonts-dejavu-core and most Linux
installs), so any script prints; otherwise fpdf2's core Helvetica, which has Latin-1 only:
other characters print as ``?`` (the CSV and JSON keep them). fpdf2 is imported inside
:func:`render_pdf` so ``import tracker`` stays light; without it, a typed
:class:`~tracker.errors.MissingExtraError` names the extra.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from tracker.enums import DistanceUnit
from tracker.errors import MissingExtraError
from tracker.rates.units import convert
from tracker.report.cells import number
from tracker.report.model import RateLine, Report, ReportHead, ReportRow, ReportTotals
from tracker.report.renderers import COLUMNS, record_cells

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = [
    "FONT_CANDIDATES",
    "MonthSums",
    "bar_heights",
    "find_font",
    "latin1",
    "months_of",
    "pdf_cells",
    "render_pdf",
]

# Where DejaVu Sans is on the systems that ship it (Debian/Ubuntu, Fedora, Arch, Homebrew).
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/opt/homebrew/share/fonts/DejaVuSans.ttf"),
    Path("/Library/Fonts/DejaVuSans.ttf"),
)
_AUTO: Any = object()  # render_pdf's font default: look for DejaVu

# A4 landscape, in mm: 17 columns need the width.
_MARGIN = 10.0
_WIDTH = 297.0 - 2 * _MARGIN
# Column widths (mm) in the order of COLUMNS; they add up to _WIDTH.
_COLUMN_WIDTHS = (15, 16, 16, 20, 14, 8, 17, 13, 7, 10, 12, 12, 12, 12, 16, 12, 9, 14, 26, 16)
_LOG_SIZE = 6.0
_LINE = 2.9  # mm per line of log text at _LOG_SIZE
_MAX_LINES = 8  # a cell longer than this is cut (the CSV and JSON keep all of it)
_GRID = (200, 200, 200)
_BAR_DISTANCE = (52, 101, 164)
_BAR_AMOUNT = (46, 139, 87)


def find_font(
    candidates: Iterable[Path] = FONT_CANDIDATES, exists: Callable[[Path], bool] = Path.is_file
) -> Path | None:
    """The first of ``candidates`` that exists (DejaVu Sans), or None: core fonts then."""
    return next((path for path in candidates if exists(path)), None)


def latin1(value: str) -> str:
    """``value`` with what Latin-1 lacks as ``?``: the core fonts' repertoire."""
    return value.encode("latin-1", errors="replace").decode("latin-1")


def months_of(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """The calendar months (year, month) from ``start`` to ``end``, both included."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass
class MonthSums:
    """Business distance (in ``unit``, exact) and amount per calendar month, as rows pass."""

    unit: str
    distance: dict[tuple[int, int], Fraction] = field(default_factory=dict)
    amount: dict[tuple[int, int], Decimal] = field(default_factory=dict)

    def add(self, row: ReportRow) -> None:
        """Count ``row`` if it is a business trip (a priced one: ``rate`` set)."""
        if row.to_classify or not row.rate or row.amount is None:
            return
        key = (row.date.year, row.date.month)
        dist = convert(row.distance, DistanceUnit(row.unit), DistanceUnit(self.unit))
        self.distance[key] = self.distance.get(key, Fraction(0)) + dist
        self.amount[key] = self.amount.get(key, Decimal(0)) + row.amount


def bar_heights(values: Sequence[Fraction | Decimal], height: float) -> list[float]:
    """Each value's bar height in a box ``height`` high: the largest fills it; none
    negative (a refund month draws no bar)."""
    top = max((v for v in values if v > 0), default=0)
    if top <= 0:
        return [0.0 for _ in values]
    return [max(float(v), 0.0) / float(top) * height for v in values]


def _rate_text(row: ReportRow) -> str:
    if len(row.rate) == 1:
        return number(row.rate[0][1])
    return " + ".join(f"{number(rate)} x {number(dist)}" for dist, rate in row.rate)


def pdf_cells(row: ReportRow, head: ReportHead) -> list[str]:
    """One trip as the log's cells: the CSV's columns, text as it is (a PDF runs no
    formulas, so nothing is defused)."""
    if not row.costs:
        costs = ""
    elif len(row.costs) == 1 and row.costs[0][0] == head.currency:
        costs = number(row.costs[0][1])
    else:
        costs = " + ".join(f"{number(v)} {c}" for c, v in row.costs)
    return [
        row.date.isoformat(),
        row.start_place,
        row.end_place,
        row.purpose,
        row.customer,
        row.car,
        row.classification,
        number(row.distance),
        row.unit,
        _rate_text(row),
        "" if row.amount is None else number(row.amount),
        head.currency,
        costs,
        *record_cells(row),
        row.trip_id,
    ]


def _tiers_text(line: RateLine, currency: str) -> str:
    parts = []
    for up_to, rate in line.tiers:
        each = f"{number(rate)} {currency}/{line.unit}"
        parts.append(each if up_to is None else f"{each} up to {number(up_to)} {line.unit}")
    return ", then ".join(parts)


def render_pdf(report: Report, out: IO[bytes], *, font: Path | None = _AUTO) -> None:
    """Write ``report`` as PDF (see the module docstring) to ``out``.

    ``font``: a TrueType font file for all text; by default DejaVu Sans if the system has
    it (:func:`find_font`); None for fpdf2's core fonts (Latin-1 only). Raises
    :class:`~tracker.errors.MissingExtraError` when fpdf2 is not installed."""
    try:
        import fpdf
    except ModuleNotFoundError as err:
        raise MissingExtraError("pdf", "a PDF report", str(err)) from None
    # fpdf2 logs each glyph a font lacks (an emoji in DejaVu): the PDF shows a blank box,
    # which is the answer; the log line would only reach the user as noise.
    logging.getLogger("fpdf").setLevel(logging.ERROR)
    chosen = find_font() if font is _AUTO else font
    doc = _LogDocument(fpdf, report.head, chosen)
    doc.write(report)
    out.write(bytes(doc.pdf.output()))


class _LogDocument:
    """The fpdf2 document being drawn: page 1 kept for the summary, then the log."""

    def __init__(self, fpdf: Any, head: ReportHead, font: Path | None) -> None:
        self.head = head
        self.months = MonthSums(head.unit)
        self.totals: ReportTotals | None = None
        self.in_log = False
        self.section = "log"
        page = self

        class _PDF(fpdf.FPDF):  # type: ignore[misc]
            def header(self) -> None:
                page._header()

            def footer(self) -> None:
                page._footer()

        self.pdf: FPDF = _PDF(orientation="L", unit="mm", format="A4")
        pdf = self.pdf
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.c_margin = 0.5  # narrow cell padding: 17 columns share the width
        pdf.set_auto_page_break(auto=True, margin=12)
        period = head.period
        pdf.set_title(f"Mileage log {period.tax_year.label} ({head.schedule})")
        pdf.set_creator("trip-tracker")
        if font is None:
            self.family, self.safe = "Helvetica", latin1
        else:
            self.family, self.safe = "DejaVu", _same
            pdf.add_font("DejaVu", "", str(font))
            bold = font.with_name(font.stem + "-Bold" + font.suffix)
            pdf.add_font("DejaVu", "B", str(bold if bold.is_file() else font))
        pdf.set_font(self.family, size=9)

    # -- page furniture -------------------------------------------------------------------
    def _header(self) -> None:
        if not self.in_log:
            return
        pdf = self.pdf
        head = self.head
        pdf.set_font(self.family, "B", 8)
        title = f"Mileage log {head.period.tax_year.label}, {head.schedule_name}: " + (
            "trips to classify (not counted in any amount)" if self.section != "log" else "trips"
        )
        pdf.cell(0, 5, self.safe(title), new_x="LMARGIN", new_y="NEXT")
        self._row(list(COLUMNS), bold=True)

    def _footer(self) -> None:
        pdf = self.pdf
        pdf.set_y(-9)
        pdf.set_font(self.family, "", 7)
        period = self.head.period
        where = f"{self.head.schedule} {period.start} to {period.end}"
        pdf.cell(0, 4, self.safe(f"{where}   page {pdf.page_no()} of {{nb}}"), align="R")

    # -- the log --------------------------------------------------------------------------
    def write(self, report: Report) -> None:
        pdf = self.pdf
        pdf.add_page()
        pdf.insert_toc_placeholder(self._summary, pages=1)  # page 1, drawn at output
        self.in_log = True
        started = False
        for item in report.stream():
            if isinstance(item, ReportTotals):
                self.totals = item
                break
            if item.to_classify and self.section == "log":
                self.section = "apart"
                if started:
                    pdf.add_page()  # the header says "to classify" from here
            if not started:
                started = True
                self._header()  # the page opened before the first row had no header yet
            self.months.add(item)
            self._row(pdf_cells(item, self.head))
        if not started:
            self._header()
            pdf.set_font(self.family, "", 8)
            pdf.cell(0, 6, "No trips in this period.", new_x="LMARGIN", new_y="NEXT")
        self.in_log = False
        self._odometer_after()

    def _lines(self, text: str, width: float) -> list[str]:
        pdf = self.pdf
        if not text:
            return [""]
        if pdf.get_string_width(text) <= width - 2 * pdf.c_margin and "\n" not in text:
            return [text]
        lines = cast(list[str], pdf.multi_cell(width, _LINE, text, dry_run=True, output="LINES"))
        if len(lines) > _MAX_LINES:
            lines = [*lines[: _MAX_LINES - 1], lines[_MAX_LINES - 1][:-3] + "..."]
        return lines

    def _row(self, cells: Sequence[str], *, bold: bool = False) -> None:
        pdf = self.pdf
        pdf.set_font(self.family, "B" if bold else "", _LOG_SIZE)
        wrapped = [
            self._lines(self.safe(text), w) for text, w in zip(cells, _COLUMN_WIDTHS, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * _LINE
        if not bold and pdf.will_page_break(height):
            pdf.add_page()  # the header (column names again) is drawn by header()
            pdf.set_font(self.family, "", _LOG_SIZE)
        x, y = pdf.l_margin, pdf.get_y()
        for lines, width in zip(wrapped, _COLUMN_WIDTHS, strict=True):
            for i, line in enumerate(lines):
                pdf.set_xy(x, y + i * _LINE)
                pdf.cell(width, _LINE, line)
            x += width
        pdf.set_draw_color(*_GRID)
        pdf.line(pdf.l_margin, y + height, pdf.l_margin + _WIDTH, y + height)
        pdf.set_xy(pdf.l_margin, y + height)

    def _odometer_after(self) -> None:
        """Every car's odometer after the log when page 1 has no room for them all."""
        totals = self.totals
        if totals is None or len(totals.odometer) <= _ODOMETER_ON_PAGE_1:
            return
        pdf = self.pdf
        pdf.add_page()
        pdf.set_font(self.family, "B", 10)
        pdf.cell(0, 7, "Odometer", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(self.family, "", 8)
        for text in _odometer_texts(totals):
            pdf.multi_cell(0, 4, self.safe(text), new_x="LMARGIN", new_y="NEXT")

    # -- page 1 ---------------------------------------------------------------------------
    def _summary(self, pdf: Any, _outline: Any) -> None:
        head, totals = self.head, self.totals
        period = head.period
        safe = self.safe
        pdf.set_xy(_MARGIN, _MARGIN)
        pdf.set_font(self.family, "B", 14)
        pdf.cell(0, 8, safe(f"Mileage log {period.tax_year.label}"), new_x="LMARGIN", new_y="NEXT")
        left = 140.0

        def line(label: str, value: str, *, bold: bool = False, size: float = 8) -> None:
            pdf.set_font(self.family, "B" if bold else "", size)
            pdf.set_x(_MARGIN)
            pdf.cell(45, 4.2, safe(label))
            pdf.multi_cell(left - 45, 4.2, safe(value), new_x="LMARGIN", new_y="NEXT")

        def title(text: str) -> None:
            pdf.ln(1.5)
            pdf.set_font(self.family, "B", 10)
            pdf.cell(left, 6, safe(text), new_x="LMARGIN", new_y="NEXT")

        title("Period")
        line("period", f"{period.start} to {period.end}")
        line(
            "tax year",
            f"{period.tax_year.label} ({period.tax_year.start} to {period.tax_year.end})",
        )
        if head.car:
            line("car", head.car)
        if head.customer:
            line("customer", head.customer)
        title("Jurisdiction and schedule")
        line("jurisdiction", head.jurisdiction)
        line("schedule", f"{head.schedule}: {head.schedule_name}")
        line("rounding", f"{head.rounding}; amounts in {head.currency}, distances in {head.unit}")
        for rate in head.rates:
            line(f"rate {rate.valid_from} to {rate.valid_to}", _tiers_text(rate, head.currency))
            line("  source", rate.source or "(none given in the schedule)", size=6.5)
        title("Totals")
        if totals is None:  # a stream always ends with its totals; guard for the type checker
            return
        cur, unit = head.currency, head.unit
        line("trips", f"{totals.trips} ({totals.to_classify} to classify, listed apart)")
        line("business distance", f"{number(totals.business_distance)} {unit}")
        line("personal distance", f"{number(totals.personal_distance)} {unit}")
        line("distance to classify", f"{number(totals.to_classify_distance)} {unit}")
        line("total distance", f"{number(totals.total_distance)} {unit}")
        share = totals.business_share
        line("business share", "none (no distance)" if share is None else f"{number(share)} %")
        line("deduction", f"{number(totals.deduction)} {cur} (rounded {head.rounding})", bold=True)
        line("sum of the rows' amounts", f"{number(totals.deduction_rows)} {cur}")
        line("deductible costs", f"{number(totals.deductible_costs)} {cur}")
        for currency, value in totals.other_costs:
            line("deductible costs (not added)", f"{number(value)} {currency}")
        line("grand total", f"{number(totals.grand_total)} {cur}", bold=True)
        if head.chain_head:  # `tracker verify` on the same file prints the same
            line("history chain head", head.chain_head, size=6.5)
        if totals.odometer:
            title("Odometer")
            texts = _odometer_texts(totals)
            for text in texts[: 2 * _ODOMETER_ON_PAGE_1]:
                line("", text)
            if len(totals.odometer) > _ODOMETER_ON_PAGE_1:
                line("", f"every car's readings ({len(totals.odometer)}): after the log")
        self._chart(pdf, x=left + 12, y=22.0, width=_MARGIN + _WIDTH - left - 12)

    def _chart(self, pdf: Any, *, x: float, y: float, width: float) -> None:
        """Two bar charts, one above the other: business distance, then amount, per month."""
        head = self.head
        months = months_of(head.period.start, head.period.end)
        distance: list[Fraction | Decimal] = [
            self.months.distance.get(m, Fraction(0)) for m in months
        ]
        amount: list[Fraction | Decimal] = [self.months.amount.get(m, Decimal(0)) for m in months]
        boxes = (
            (f"Business distance per month ({head.unit})", distance, _BAR_DISTANCE),
            (f"Amount per month ({head.currency})", amount, _BAR_AMOUNT),
        )
        box_h = 62.0
        for n, (caption, values, colour) in enumerate(boxes):
            top = y + n * (box_h + 22)
            pdf.set_font(self.family, "B", 9)
            pdf.set_xy(x, top)
            pdf.cell(width, 5, self.safe(caption))
            base = top + 8 + box_h
            pdf.set_draw_color(120, 120, 120)
            pdf.rect(x, top + 8, width, box_h)
            slot = width / len(months)
            pdf.set_fill_color(*colour)
            for i, (value, bar) in enumerate(
                zip(values, bar_heights(values, box_h - 8), strict=True)
            ):
                left = x + i * slot + slot * 0.15
                if bar > 0:
                    pdf.rect(left, base - bar, slot * 0.7, bar, style="F")
                pdf.set_font(self.family, "", 5.5)
                if value:
                    pdf.set_xy(x + i * slot, base - bar - 3.5)
                    pdf.cell(slot, 3, _short(value), align="C")
                year, month = months[i]
                pdf.set_xy(x + i * slot, base + 0.5)
                pdf.cell(slot, 3, dt.date(year, month, 1).strftime("%b"), align="C")
                pdf.set_xy(x + i * slot, base + 3.2)
                pdf.cell(slot, 3, str(year), align="C")


_ODOMETER_ON_PAGE_1 = 3


def _short(value: Fraction | Decimal) -> str:
    """A bar's label: a distance to one decimal, an amount as it is."""
    if isinstance(value, Fraction):
        value = round(Decimal(value.numerator) / Decimal(value.denominator), 1)
    return number(value)


def _same(value: str) -> str:
    return value


def _odometer_texts(totals: ReportTotals) -> list[str]:
    texts = []
    for line in totals.odometer:
        ends = []
        for name, end in (("start", line.start), ("end", line.end)):
            ends.append(
                f"{name}: no reading"
                if end is None
                else f"{name} {number(end[1])} {end[2]} on {end[0]}"
            )
        driven = "" if line.driven is None else f"; driven {number(line.driven)} {line.unit}"
        texts.append(f"car {line.car_id}: {', '.join(ends)}{driven}")
        if line.warning:
            texts.append(f"warning: {line.warning}")
    return texts

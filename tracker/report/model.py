"""The report's typed parts: its head, its rows, its totals (pure data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from tracker.rates.taxyear import TaxYear

__all__ = [
    "OdometerLine",
    "Period",
    "RateLine",
    "Report",
    "ReportData",
    "ReportHead",
    "ReportRow",
    "ReportTotals",
]


@dataclass(frozen=True, slots=True)
class Period:
    """The days a report covers (both included), inside one tax year."""

    tax_year: TaxYear
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class RateLine:
    """A business rate for a car in force in the period: its days, its tiers as
    (up_to, rate) (``up_to`` None for the last), its unit and the official page it is from."""

    valid_from: dt.date
    valid_to: dt.date
    tiers: tuple[tuple[Decimal | None, Decimal], ...]
    unit: str
    source: str | None


@dataclass(frozen=True, slots=True)
class ReportHead:
    """What the report is: the schedule it applies, the period, the filters."""

    schedule: str
    schedule_name: str
    jurisdiction: str
    currency: str
    unit: str
    """The distance unit of the totals: the schedule's business rate's."""
    rounding: str
    period: Period
    car: str | None = None
    customer: str | None = None
    rates: tuple[RateLine, ...] = ()
    """The rates the period applies, with their sources (the PDF's summary prints them)."""
    chain_head: str | None = None
    """The file's history chain head when the report was made: what ``tracker verify``
    prints for the same file, so a printed log can be checked against the file later."""


class ReportRow(NamedTuple):
    """One trip of the log (a named tuple: a year's rows are built fast and read by name).

    ``rate`` is one (distance, rate) piece per tier the trip is paid at (empty for a trip no
    rate pays); ``amount`` is rounded per trip, as the deduction sent to Tight is (None for a
    trip to classify). ``costs`` are the deductible costs linked to it, by currency.
    ``recorded_how``/``recorded_at``/``recorded_after`` say how and when it was recorded
    (:mod:`tracker.report.recorded`). ``edited``: whether a field of it changed since
    (an edit here, a change pulled from the server, a conflict resolved), ``last_edited``
    when, and ``changed`` each field changed as ``(field, first old, latest new)`` in stored
    form: the same answer as ``store.trips.provenance(id)`` (``edited``,
    ``last_changed_at``, ``changed_fields``).
    """

    trip_id: str
    date: dt.date
    start_place: str
    end_place: str
    purpose: str
    customer: str
    car: str
    classification: str
    distance: Decimal
    unit: str
    rate: tuple[tuple[Decimal, Decimal], ...]
    amount: Decimal | None
    costs: tuple[tuple[str, Decimal], ...]
    recorded_how: str
    recorded_at: dt.datetime
    recorded_after: str
    edited: bool = False
    last_edited: dt.datetime | None = None
    changed: tuple[tuple[str, Any, Any], ...] = ()
    to_classify: bool = False


@dataclass(frozen=True, slots=True)
class OdometerLine:
    """A car's odometer at the start and end of the period, and the check of its trips."""

    car_id: str
    start: tuple[dt.date, Decimal, str] | None
    end: tuple[dt.date, Decimal, str] | None
    driven: Decimal | None
    unit: str
    warning: str | None


@dataclass(frozen=True, slots=True)
class ReportTotals:
    """The sums of the rows (distances in the head's unit, money in its currency).

    ``deduction`` is the total under the schedule's own rounding rule (the figure a return
    uses); ``deduction_rows`` adds the rows' per-trip amounts (they may differ by a cent or
    so a trip under a ``per-total`` schedule). ``grand_total`` is ``deduction`` plus the
    deductible costs in the schedule's currency; costs in other currencies are in
    ``other_costs``, never added to it.
    """

    trips: int
    to_classify: int
    business_distance: Decimal
    personal_distance: Decimal
    to_classify_distance: Decimal
    total_distance: Decimal
    business_share: Decimal | None
    """Business distance over total distance (to classify included), in percent."""
    deduction: Decimal
    deduction_rows: Decimal
    deductible_costs: Decimal
    other_costs: tuple[tuple[str, Decimal], ...]
    grand_total: Decimal
    odometer: tuple[OdometerLine, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportData:
    """A whole report in memory (:meth:`Report.collect`)."""

    head: ReportHead
    rows: list[ReportRow]
    to_classify: list[ReportRow]
    totals: ReportTotals


@dataclass(frozen=True)
class Report:
    """A report ready to stream: ``head`` now, and :meth:`stream` reads the rows in one
    read transaction, in trip order (the log, then the trips to classify), and yields the
    totals last. Each call of :meth:`stream` reads the store again."""

    head: ReportHead
    _source: Callable[[], Iterator[ReportRow | ReportTotals]] = field(repr=False)

    def stream(self) -> Iterator[ReportRow | ReportTotals]:
        """The rows, then the trips to classify (``to_classify`` set), then the totals."""
        return self._source()

    def collect(self) -> ReportData:
        """The whole report in memory (for a small year, or a UI)."""
        rows: list[ReportRow] = []
        apart: list[ReportRow] = []
        for item in self.stream():
            if isinstance(item, ReportTotals):
                return ReportData(self.head, rows, apart, item)
            (apart if item.to_classify else rows).append(item)
        raise AssertionError("a report stream ends with its totals")

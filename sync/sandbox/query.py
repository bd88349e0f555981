"""``POST /v6/mileage/query``: filters, sort and cursor paging over the stored records.

Documented: ``{cursor, limit, sort: {orderBy: "DATE", direction}, filter: {status: {...},
mileageStatus: {...}}}`` answering ``{result, data, cursor: {after, before}}`` with ``after`` null
on the last page and ``before`` null on the first. Sandbox choices (docs/sandbox.md):

* ``sort`` may be the object of the mileage sample or the array of the pagination guide (the
  first element counts); only ``orderBy: "DATE"`` exists; ties are broken by creation order.
* ``filter.date`` with the operators the docs show for files is accepted (an assumption; it can
  be switched off, and then it is an unknown filter).
* ``limit`` defaults to 100 and is silently clamped to a configurable maximum (1000).
* Cursors are opaque and *key-based* (the sort key of the boundary record), so inserts and
  deletes between pages neither skip nor repeat records.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sync.sandbox.mileage import ItemError, is_calendar_date

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "in": lambda value, operand: value in operand,
    "notIn": lambda value, operand: value not in operand,
    "equal": lambda value, operand: value == operand,
    "notEqual": lambda value, operand: value != operand,
    "greaterThan": lambda value, operand: value is not None and value > operand,
    "greaterThanEqual": lambda value, operand: value is not None and value >= operand,
    "lessThan": lambda value, operand: value is not None and value < operand,
    "lessThanEqual": lambda value, operand: value is not None and value <= operand,
}
"""The filter operators the docs list, applied to strings (dates compare as text)."""

QUERY_FIELDS = frozenset({"cursor", "limit", "sort", "filter"})
DEFAULT_LIMIT = 100

SortKey = tuple[str, int]
"""(``date``, creation sequence): total order of records."""


@dataclass(frozen=True)
class Condition:
    """One ``filter.<field>.<operator>`` term; all terms must hold."""

    field: str
    operator: str
    operand: Any

    def holds(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` passes this term."""
        return bool(OPERATORS[self.operator](record.get(self.field), self.operand))


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: strictly after (or before) the record with sort key ``key``."""

    toward: Literal["after", "before"]
    key: SortKey

    def encode(self) -> str:
        """Opaque text for the response."""
        raw = json.dumps({"v": 1, "t": self.toward, "k": list(self.key)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """The cursor, or ``None`` if ``text`` is not one this sandbox issued."""
        try:
            padded = text + "=" * (-len(text) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            toward, (day, seq) = data["t"], data["k"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None
        if toward not in ("after", "before") or not isinstance(day, str) or type(seq) is not int:
            return None
        return cls(toward, (day, seq))


@dataclass(frozen=True)
class Query:
    """A validated query request."""

    limit: int
    descending: bool
    conditions: tuple[Condition, ...]
    cursor: Cursor | None


@dataclass(frozen=True)
class Page:
    """One page of results plus the cursors to its neighbours (``None`` at either end)."""

    records: list[dict[str, Any]]
    after: str | None
    before: str | None


def parse_query(body: Any, *, max_limit: int, date_filter: bool) -> Query | list[ItemError]:
    """Validate a query body; errors are reported all at once like the save endpoint's."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return [ItemError("BAD_REQUEST", "the query body must be a JSON object")]
    errors = [
        ItemError("BAD_REQUEST", f"unknown field {key!r}", key)
        for key in body
        if key not in QUERY_FIELDS
    ]
    limit = _limit(body.get("limit"), max_limit, errors)
    descending = _sort(body.get("sort"), errors)
    conditions = _filters(body.get("filter"), date_filter, errors)
    cursor = None
    raw_cursor = body.get("cursor")
    if raw_cursor is not None:
        cursor = Cursor.decode(raw_cursor) if isinstance(raw_cursor, str) else None
        if cursor is None:
            errors.append(
                ItemError("INVALID_VALUE", "cursor was not issued by this server", "cursor")
            )
    if errors:
        return errors
    return Query(limit, descending, tuple(conditions), cursor)


def _limit(value: Any, max_limit: int, errors: list[ItemError]) -> int:
    if value is None:
        return min(DEFAULT_LIMIT, max_limit)
    if type(value) is not int:
        errors.append(ItemError("INVALID_FORMAT", "limit must be an integer", "limit"))
        return 1
    if value < 1:
        errors.append(ItemError("INVALID_VALUE", "limit must be at least 1", "limit"))
        return 1
    return min(value, max_limit)


def _sort(value: Any, errors: list[ItemError]) -> bool:
    if value is None:
        return False
    if isinstance(value, list):
        if not value:
            return False
        value = value[0]
    if not isinstance(value, dict):
        errors.append(
            ItemError("INVALID_FORMAT", "sort must be an object {orderBy, direction}", "sort")
        )
        return False
    order_by = value.get("orderBy", "DATE")
    if order_by != "DATE":
        errors.append(ItemError("INVALID_VALUE", "sort.orderBy must be DATE", "sort.orderBy"))
    direction = value.get("direction", "ASC")
    if direction not in ("ASC", "DESC"):
        errors.append(
            ItemError("INVALID_VALUE", "sort.direction must be ASC or DESC", "sort.direction")
        )
    return bool(direction == "DESC")


def _filters(value: Any, date_filter: bool, errors: list[ItemError]) -> list[Condition]:
    if value is None:
        return []
    if not isinstance(value, dict):
        errors.append(ItemError("INVALID_FORMAT", "filter must be an object", "filter"))
        return []
    fields = {"status", "mileageStatus"} | ({"date"} if date_filter else set())
    conditions: list[Condition] = []
    for name, terms in value.items():
        param = f"filter.{name}"
        if name not in fields:
            errors.append(ItemError("INVALID_VALUE", f"cannot filter on {name!r}", param))
            continue
        if not isinstance(terms, dict):
            errors.append(
                ItemError("INVALID_FORMAT", f"{param} must be an object of operators", param)
            )
            continue
        for operator, operand in terms.items():
            if operator not in OPERATORS:
                errors.append(
                    ItemError(
                        "INVALID_VALUE", f"unknown operator {operator!r}", f"{param}.{operator}"
                    )
                )
            elif _operand_ok(name, operator, operand):
                conditions.append(Condition(name, operator, operand))
            else:
                errors.append(
                    ItemError(
                        "INVALID_FORMAT",
                        f"{param}.{operator} needs "
                        + ("a list of " if operator in ("in", "notIn") else "")
                        + ("dates YYYY-MM-DD" if name == "date" else "strings"),
                        f"{param}.{operator}",
                    )
                )
    return conditions


def _operand_ok(name: str, operator: str, operand: Any) -> bool:
    def scalar_ok(value: Any) -> bool:
        return is_calendar_date(value) if name == "date" else isinstance(value, str)

    if operator in ("in", "notIn"):
        return isinstance(operand, list) and all(scalar_ok(value) for value in operand)
    return scalar_ok(operand)


def run_query(rows: Sequence[tuple[SortKey, dict[str, Any]]], query: Query) -> Page:
    """Filter, sort and cut one page out of ``rows`` (sort key, record)."""
    matching = [
        (key, record)
        for key, record in rows
        if all(condition.holds(record) for condition in query.conditions)
    ]
    matching.sort(key=lambda row: row[0], reverse=query.descending)

    def comes_after(key: SortKey, boundary: SortKey) -> bool:
        return key < boundary if query.descending else key > boundary

    cursor = query.cursor
    if cursor is None:
        start = 0
        end = min(query.limit, len(matching))
    elif cursor.toward == "after":
        start = next(
            (index for index, (key, _) in enumerate(matching) if comes_after(key, cursor.key)),
            len(matching),
        )
        end = min(start + query.limit, len(matching))
    else:
        end = sum(1 for key, _ in matching if comes_after(cursor.key, key))
        start = max(0, end - query.limit)
    chosen = matching[start:end]
    after = Cursor("after", chosen[-1][0]).encode() if chosen and end < len(matching) else None
    before = Cursor("before", chosen[0][0]).encode() if chosen and start > 0 else None
    return Page([record for _, record in chosen], after, before)

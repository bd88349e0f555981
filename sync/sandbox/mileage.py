"""The sandbox's own reading of a Tight v6 mileage item: validation and the saved read shape.

Written from the public API docs alone (never from the client's wire models), so a field the
client spells wrongly fails here instead of passing on both sides. Where the docs are silent the
choice is the strict one and is listed in docs/sandbox.md:

* ``date`` and ``distance`` are REQUIRED on create; on update only the fields sent are checked.
* ``distance.value``, ``lat`` and ``lng`` must be decimal *strings* (a JSON number is
  INVALID_FORMAT); ``distance.type`` is ``MILE`` or ``KILOMETER`` (KILOMETER is an assumption).
* ``start.time``/``end.time`` must be ISO-8601 with an offset; they are saved in UTC with ``Z``.
* Unknown fields are refused (BAD_REQUEST, ``param`` = the field), because a misspelt field that
  a lenient server ignores would lose data silently.
* Referenced ids must carry Tight's prefixes (``cus_``, ``car_``, ``loc_``, ``cls_``).
* Nested problems name the field with dots: ``distance.value``, ``start.lat``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

SAVE_FIELDS = frozenset(
    {
        "id",
        "date",
        "status",
        "mileageStatus",
        "description",
        "notes",
        "customerId",
        "classSegmentIds",
        "distance",
        "start",
        "end",
        "duration",
        "deduction",
        "carId",
        "customData",
    }
)
"""Every field of a save item the docs show."""

ENDPOINT_FIELDS = frozenset({"time", "lat", "lng", "locationId", "address"})
ADDRESS_FIELDS = ("state", "city", "zip", "phoneWork", "address1", "address2")
REQUIRED_ON_CREATE = ("date", "distance")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class ItemError:
    """One entry of an ``error[]`` array: ``{type, message, param}``."""

    type: str
    message: str
    param: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented wire form."""
        return {"type": self.type, "message": self.message, "param": self.param}


@dataclass(frozen=True)
class Rules:
    """What the sandbox accepts; every set is an assumption where the docs show only samples."""

    statuses: frozenset[str] = frozenset({"ACTIVE", "INACTIVE"})
    mileage_statuses: frozenset[str] = frozenset({"BUSINESS", "NOT_BUSINESS", "PENDING"})
    distance_types: frozenset[str] = frozenset({"MILE", "KILOMETER"})
    default_status: str = "ACTIVE"
    default_mileage_status: str = "PENDING"
    reject_unknown_fields: bool = True
    check_id_prefixes: bool = True
    custom_data_max_fields: int = 50
    custom_data_max_chars: int = 2000
    """Counted on the compact JSON text of ``customData`` (the docs do not say how)."""
    prefixes: Mapping[str, str] = field(
        default_factory=lambda: {
            "customerId": "cus_",
            "carId": "car_",
            "locationId": "loc_",
            "classSegmentIds": "cls_",
        }
    )


class _Errors:
    """Collects every problem of one item (the docs: all problems are reported at once)."""

    def __init__(self) -> None:
        self.items: list[ItemError] = []

    def add(self, type_: str, param: str, message: str) -> None:
        self.items.append(ItemError(type_, message, param))


def parse_instant(text: str) -> datetime | None:
    """An ISO-8601 instant with an offset (``Z`` or ``±HH:MM``), or ``None`` if it is not one."""
    if not _INSTANT.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def utc_text(moment: datetime) -> str:
    """``2023-11-07T05:31:56Z`` (milliseconds kept when present)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_calendar_date(value: object) -> bool:
    """``YYYY-MM-DD`` naming a real day."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate_item(item: Mapping[str, Any], *, creating: bool, rules: Rules) -> list[ItemError]:
    """Every problem of one save item; an empty list means it may be stored."""
    errors = _Errors()
    if rules.reject_unknown_fields:
        for key in item:
            if key not in SAVE_FIELDS:
                errors.add("BAD_REQUEST", key, f"unknown field {key!r}")
    for name in REQUIRED_ON_CREATE:
        # An explicit null cannot clear a required field on update either.
        if (creating and name not in item) or (name in item and item[name] is None):
            errors.add("REQUIRED", name, f"{name} is required")
    for name, check in _CHECKS.items():
        value = item.get(name)
        if value is not None:
            check(value, name, rules, errors)
    _check_order(item, errors)
    return errors.items


def _enum(allowed: Callable[[Rules], frozenset[str]]) -> Callable[[Any, str, Rules, _Errors], None]:
    def check(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
        if not isinstance(value, str):
            errors.add("INVALID_FORMAT", name, f"{name} must be a string")
        elif value not in allowed(rules):
            choices = ", ".join(sorted(allowed(rules)))
            errors.add("INVALID_VALUE", name, f"{name} must be one of {choices}, not {value!r}")

    return check


def _text(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not isinstance(value, str):
        errors.add("INVALID_FORMAT", name, f"{name} must be a string")


def _date(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not is_calendar_date(value):
        errors.add("INVALID_FORMAT", name, f"{name} must be a date YYYY-MM-DD")


def _ref(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not isinstance(value, str):
        errors.add("INVALID_FORMAT", name, f"{name} must be a string id")
        return
    prefix = rules.prefixes.get(name.rsplit(".", 1)[-1], "")
    if rules.check_id_prefixes and not value.startswith(prefix):
        errors.add("INVALID_VALUE", name, f"{name} must be a Tight id starting with {prefix!r}")


def _segments(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not isinstance(value, list):
        errors.add("INVALID_FORMAT", name, f"{name} must be a list of ids")
        return
    for entry in value:
        _ref(entry, name, rules, errors)


def _decimal_text(value: Any, name: str, errors: _Errors) -> Decimal | None:
    if not isinstance(value, str):
        errors.add("INVALID_FORMAT", name, f'{name} must be a decimal string such as "12.5"')
        return None
    if not _DECIMAL.fullmatch(value):
        errors.add("INVALID_FORMAT", name, f"{name} must be a decimal string, not {value!r}")
        return None
    return Decimal(value)


def _unknown_keys(
    value: Mapping[str, Any], known: frozenset[str], name: str, rules: Rules, errors: _Errors
) -> None:
    if rules.reject_unknown_fields:
        for key in value:
            if key not in known:
                errors.add("BAD_REQUEST", f"{name}.{key}", f"unknown field {name}.{key}")


def _distance(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not isinstance(value, dict):
        errors.add("INVALID_FORMAT", name, f"{name} must be an object {{type, value}}")
        return
    _unknown_keys(value, frozenset({"type", "value"}), name, rules, errors)
    for part in ("type", "value"):
        if value.get(part) is None:
            errors.add("REQUIRED", f"{name}.{part}", f"{name}.{part} is required")
    if value.get("type") is not None:
        _enum(lambda r: r.distance_types)(value["type"], f"{name}.type", rules, errors)
    if value.get("value") is not None:
        amount = _decimal_text(value["value"], f"{name}.value", errors)
        if amount is not None and amount < 0:
            errors.add("INVALID_VALUE", f"{name}.value", f"{name}.value must not be negative")


def _endpoint(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not isinstance(value, dict):
        errors.add("INVALID_FORMAT", name, f"{name} must be an object")
        return
    _unknown_keys(value, ENDPOINT_FIELDS, name, rules, errors)
    time = value.get("time")
    if time is not None and (not isinstance(time, str) or parse_instant(time) is None):
        errors.add(
            "INVALID_FORMAT",
            f"{name}.time",
            f"{name}.time must be ISO-8601 with an offset, e.g. 2023-11-07T05:31:56Z",
        )
    for axis, bound in (("lat", 90), ("lng", 180)):
        if value.get(axis) is None:
            continue
        number = _decimal_text(value[axis], f"{name}.{axis}", errors)
        if number is not None and not -bound <= number <= bound:
            errors.add("INVALID_VALUE", f"{name}.{axis}", f"{name}.{axis} must be within ±{bound}")
    if value.get("locationId") is not None:
        _ref(value["locationId"], f"{name}.locationId", rules, errors)
    address = value.get("address")
    if address is None:
        return
    if not isinstance(address, dict):
        errors.add("INVALID_FORMAT", f"{name}.address", f"{name}.address must be an object")
        return
    _unknown_keys(address, frozenset(ADDRESS_FIELDS), f"{name}.address", rules, errors)
    for key in ADDRESS_FIELDS:
        if address.get(key) is not None:
            _text(address[key], f"{name}.address.{key}", rules, errors)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _duration(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not _whole(value):
        errors.add("INVALID_FORMAT", name, f"{name} must be an integer (milliseconds)")
    elif value < 0:
        errors.add("INVALID_VALUE", name, f"{name} must not be negative")


def _deduction(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not isinstance(value, dict):
        errors.add("INVALID_FORMAT", name, f"{name} must be an object {{amount}}")
        return
    _unknown_keys(value, frozenset({"amount"}), name, rules, errors)
    amount = value.get("amount")
    if amount is None:
        errors.add("REQUIRED", f"{name}.amount", f"{name}.amount is required")
    elif not _whole(amount):
        errors.add("INVALID_FORMAT", f"{name}.amount", f"{name}.amount must be an integer")
    elif amount < 0:
        errors.add("INVALID_VALUE", f"{name}.amount", f"{name}.amount must not be negative")


def custom_data_text(value: Any) -> str:
    """The compact JSON text the 2000-character limit is measured on."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _custom_data(value: Any, name: str, rules: Rules, errors: _Errors) -> None:
    if not isinstance(value, dict):
        errors.add("INVALID_FORMAT", name, f"{name} must be a JSON object")
        return
    if len(value) > rules.custom_data_max_fields:
        errors.add(
            "INVALID_VALUE",
            name,
            f"{name} has {len(value)} fields; at most {rules.custom_data_max_fields} are allowed",
        )
    size = len(custom_data_text(value))
    if size > rules.custom_data_max_chars:
        errors.add(
            "INVALID_VALUE",
            name,
            f"{name} is {size} characters; at most {rules.custom_data_max_chars} are allowed",
        )


def _check_order(item: Mapping[str, Any], errors: _Errors) -> None:
    """``end.time`` before ``start.time`` is an INVALID_VALUE (a sandbox rule)."""
    start, end = item.get("start"), item.get("end")
    if not (isinstance(start, dict) and isinstance(end, dict)):
        return
    begin_text, end_text = start.get("time"), end.get("time")
    if not (isinstance(begin_text, str) and isinstance(end_text, str)):
        return
    begin, finish = parse_instant(begin_text), parse_instant(end_text)
    if begin is not None and finish is not None and finish < begin:
        errors.add("INVALID_VALUE", "end.time", "end.time is before start.time")


# ``id`` is checked by the store (its type, then whether it exists), before these run.
_CHECKS: dict[str, Callable[[Any, str, Rules, _Errors], None]] = {
    "date": _date,
    "status": _enum(lambda r: r.statuses),
    "mileageStatus": _enum(lambda r: r.mileage_statuses),
    "description": _text,
    "notes": _text,
    "customerId": _ref,
    "carId": _ref,
    "classSegmentIds": _segments,
    "distance": _distance,
    "start": _endpoint,
    "end": _endpoint,
    "duration": _duration,
    "deduction": _deduction,
    "customData": _custom_data,
}

"""Tight mileage records in one canonical form, so that comparing two means comparing values.

The same trip reaches us in several spellings: the save item we send (``customerId``,
``classSegmentIds``, ``distance.value`` "12.5"), and the record Tight returns or lists
(``customer{id, name}``, ``classSegments[{id, ...}]``, "12.50", instants with or without
milliseconds, an address with a ``countryCode`` we never send). :func:`canonical` reads any of
them into the same :data:`Canon`, a mapping of the fields a merge compares
(:data:`FIELDS`) to plain comparable values. What the server normalises therefore never looks
like a change. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.tight.mapping import miles

__all__ = ["FIELDS", "Canon", "UnreadableRecordError", "canonical", "plain", "read_decimal"]

FIELDS = (
    "date",
    "mileageStatus",
    "description",
    "notes",
    "customerId",
    "carId",
    "classSegmentIds",
    "distance",
    "start",
    "end",
    "duration",
)
"""The fields a merge compares, field by field (the save item's, without ``id``, ``status``,
``deduction`` and ``customData``, which are not the user's edits)."""

Canon = dict[str, Any]
"""A record's :data:`FIELDS`, each as a plain comparable value (None when absent)."""

_UNITS = {"MILE": "mile", "KILOMETER": "km"}
_ADDRESS = ("address1", "address2", "city", "state", "zip", "phoneWork")


class UnreadableRecordError(ValueError):
    """A record whose fields do not have the documented types: it is not merged."""


def canonical(record: Mapping[str, Any]) -> Canon:
    """The canonical form of a save item or of a record as Tight returns it.

    Raises UnreadableRecordError for a field of the wrong type (a string where a number or an
    object belongs, a date that is not a date).
    """
    if not isinstance(record, Mapping):
        raise UnreadableRecordError("a record must be a JSON object")
    return {
        "date": _date(record.get("date")),
        "mileageStatus": _text(record.get("mileageStatus"), "mileageStatus"),
        "description": _text(record.get("description"), "description"),
        "notes": _text(record.get("notes"), "notes"),
        "customerId": _ref(record, "customerId", "customer"),
        "carId": _ref(record, "carId", "car"),
        "classSegmentIds": _segments(record),
        "distance": _distance(record.get("distance")),
        "start": _endpoint(record.get("start"), "start"),
        "end": _endpoint(record.get("end"), "end"),
        "duration": _duration(record.get("duration")),
    }


def plain(value: Any) -> Any:
    """A canonical value as JSON (decimals and instants as text), for conflicts and events."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple):
        return [plain(part) for part in value]
    return value


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnreadableRecordError(f"{name} is not text")
    return value or None  # an empty string and an absent one mean the same


def _date(value: Any) -> str | None:
    text = _text(value, "date")
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise UnreadableRecordError(f"date {text[:20]!r} is not a calendar date") from None


def _ref(record: Mapping[str, Any], flat: str, nested: str) -> str | None:
    """``customerId`` as sent, or ``customer.id`` as read back."""
    if flat in record:
        return _text(record.get(flat), flat)
    value = record.get(nested)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UnreadableRecordError(f"{nested} is not an object")
    return _text(value.get("id"), f"{nested}.id")


def _segments(record: Mapping[str, Any]) -> tuple[str, ...]:
    if "classSegmentIds" in record:
        ids = record.get("classSegmentIds") or []
    else:
        segments = record.get("classSegments") or []
        if not isinstance(segments, list):
            raise UnreadableRecordError("classSegments is not a list")
        ids = [s.get("id") if isinstance(s, Mapping) else s for s in segments]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise UnreadableRecordError("class segments are not a list of ids")
    return tuple(sorted(set(ids)))


def read_decimal(value: Any, name: str) -> Decimal | None:
    """A JSON number or numeric text as a finite Decimal (None stays None); raises
    UnreadableRecordError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise UnreadableRecordError(f"{name} is not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise UnreadableRecordError(f"{name} {str(value)[:20]!r} is not a number") from None
    if not number.is_finite():
        raise UnreadableRecordError(f"{name} is not a finite number")
    try:
        return number.normalize() + 0  # "+ 0" turns -0 into 0
    except ArithmeticError:  # an exponent past the context's (1E+1000000) overflows
        raise UnreadableRecordError(f"{name} {str(value)[:20]!r} is out of range") from None


def _distance(value: Any) -> tuple[str, Decimal] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UnreadableRecordError("distance is not an object")
    kind = _text(value.get("type"), "distance.type")
    amount = read_decimal(value.get("value"), "distance.value")
    if kind is None or amount is None:
        raise UnreadableRecordError("distance has no type or no value")
    kind = kind.upper()
    if kind not in _UNITS:
        return kind, amount
    # One physical length, to the thousandth of a mile (~1.6 m), as a km trip is sent:
    # 10 KILOMETER and 6.214 MILE, or 12.3456 and a local 12.346, are the same distance.
    try:
        return "MILE", miles(amount, _UNITS[kind]).normalize() + 0
    except ArithmeticError:
        raise UnreadableRecordError("distance.value is out of range") from None


def _instant(value: Any, name: str) -> datetime | None:
    text = _text(value, name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UnreadableRecordError(f"{name} {text[:30]!r} is not an instant") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Tight keeps milliseconds: compare at that precision.
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise UnreadableRecordError(f"{name} {text[:30]!r} is out of range") from None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _endpoint(value: Any, name: str) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UnreadableRecordError(f"{name} is not an object")
    address = value.get("address")
    if address is not None and not isinstance(address, Mapping):
        raise UnreadableRecordError(f"{name}.address is not an object")
    parts = tuple(
        (key, address[key]) for key in _ADDRESS if address is not None and address.get(key)
    )
    point = (
        _instant(value.get("time"), f"{name}.time"),
        read_decimal(value.get("lat"), f"{name}.lat"),
        read_decimal(value.get("lng"), f"{name}.lng"),
        parts,
    )
    return None if point == (None, None, None, ()) else point


def _duration(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise UnreadableRecordError("duration is not a number")
    # Infinity and NaN (json.loads reads them) have no int(): not a duration either.
    if isinstance(value, float | Decimal) and (
        not Decimal(value).is_finite() or value != int(value)
    ):
        raise UnreadableRecordError("duration is not a whole number of milliseconds")
    return int(value)

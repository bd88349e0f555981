"""The mobility platform's AdditionalCost item (PascalCase), read one item at a time.

An item that does not validate becomes a :class:`~tracker.costs.QuarantineIn` with the
reason, never an exception. How each field is read where the platform's docs are silent
(exact amounts, dates and zones, labels, enumerations) is in docs/costs.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictInt,
    StrictStr,
    ValidationInfo,
)

from sync.http.jsonlimits import loads_limited, loads_page

__all__ = [
    "ITEM_PATH",
    "LIST_PATH",
    "AdditionalCost",
    "Labels",
    "ReadContext",
    "WireTime",
    "label_of",
    "loads_exact",
    "parse_labels",
    "parse_platform_time",
    "pick_label",
]

LIST_PATH = "/v1/additional-costs/list"
"""The paged list of costs (GET)."""
ITEM_PATH = "/v1/additional-costs/{cost_id}"
"""One cost (GET), for a refresh by id."""

MAX_AMOUNT = Decimal(10) ** 15
MAX_PLACES = 8
_PLACES = Decimal(1).scaleb(-MAX_PLACES)
MIN_YEAR, END_YEAR = 1970, 2100
MAX_TEXT = 10_000
MAX_RAW = 64 * 1024
INT64 = 2**63
CURRENCY = r"^[A-Z]{3}$"
"""An ISO 4217 code, as the configuration gives it."""
NO_NUL = r"^[^\x00]*$"
"""Text without NUL bytes (SQLite could not keep them)."""

_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ Tt](?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d{1,9})?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?"
)


def loads_exact(raw: bytes | str) -> Any:
    """Parse a page with non-integer numbers as Decimal, within the JSON limits (depth,
    digits; NaN and Infinity refused: ``sync.http.jsonlimits``). An item of the page that
    breaks a limit is a :class:`~sync.http.jsonlimits.BadItem` (quarantined on its own);
    ValueError when the page itself cannot be read."""
    return loads_page(raw, parse_float=Decimal)


# ---------------------------------------------------------------- dates


class WireTime(NamedTuple):
    """A platform date: the raw text, the instant in UTC, and whether the zone was assumed."""

    raw: str
    utc: datetime
    assumed_zone: bool


def parse_platform_time(text: str, zone: ZoneInfo) -> WireTime:
    """Read ``YYYY-MM-DD HH:MM:SS`` (in ``zone``) or ISO-8601 with ``Z``/offset (as given).

    Raises ValueError for anything else, or a year outside 1970-2099.
    """
    utc, assumed = _to_utc(text, zone)
    return WireTime(text, utc, assumed)


# The documented form, ASCII digits only: read by fromisoformat as it is, without taking the
# text apart first (the general pattern below accepts it as well, only slower).
_PLAIN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def _to_utc(text: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """``text`` as an aware UTC instant, and whether its zone was assumed (see above)."""
    if _PLAIN.fullmatch(text):
        iso = text
    else:
        match = _TIME.fullmatch(text.strip())
        if match is None:
            raise ValueError(
                f"{text[:40]!r} is neither 'YYYY-MM-DD HH:MM:SS' nor ISO-8601 with Z or an offset"
            )
        fraction = (match["frac"] or "")[:7]  # Python keeps microseconds: 6 digits after the dot
        offset = match["zone"] or ""
        if offset in ("Z", "z"):
            offset = "+00:00"
        iso = f"{match['date']}T{match['time']}{fraction}{offset}"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError as err:
        raise ValueError(f"{text[:40]!r} is not a valid date and time ({err})") from None
    if not MIN_YEAR <= moment.year < END_YEAR:
        raise ValueError(f"{text[:40]!r} is outside the years {MIN_YEAR}-{END_YEAR - 1}")
    if moment.tzinfo is not None:
        return moment.astimezone(UTC), False
    # Wall time in the platform zone. utcoffset() of a naive time uses fold=0: an ambiguous
    # wall time is its first occurrence, a skipped one takes the offset in force before the
    # change (PEP 495). The instant is the same wall time read as UTC minus that offset: the
    # second parse costs a fifth of moment.replace(tzinfo=UTC) or of astimezone().
    shift = zone.utcoffset(moment) or timedelta(0)
    return datetime.fromisoformat(iso + "+00:00") - shift, True


def _time(value: Any, info: ValidationInfo) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"must be a date string, not {type(value).__name__}")
    return _to_utc(value, _context(info).zone)[0]


# ---------------------------------------------------------------- money, text, labels


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise ValueError(f"must be a JSON number, not {type(value).__name__}")
    # A float only arrives when a caller parsed without loads_exact; repr() is its shortest
    # round-trip text (10.3, not 10.300000000000000710...).
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"{amount} is implausibly large (limit {MAX_AMOUNT:,})")
    try:
        exact = amount == amount.quantize(_PLACES)
    except InvalidOperation:
        exact = False
    if not exact:
        raise ValueError(f"{amount} has more than {MAX_PLACES} decimal places")
    return amount


def _clean(value: str, what: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{what} contains an unpaired surrogate (not valid Unicode text)"
        ) from None
    return value


def parse_labels(value: Any) -> dict[str, str]:
    """``Labels`` (a JSON string of language → name, or already an object) as a dict.

    Null, missing or ``""`` give ``{}``. Raises ValueError when it is not an object of
    strings (each at most 10,000 characters of valid text without NUL bytes).
    """
    if value is None or value == "":
        return {}
    parsed = value
    if isinstance(value, str):
        try:
            parsed = loads_limited(value)
        except ValueError:
            raise ValueError(f"is not a JSON object of localized names: {value[:60]!r}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"must hold a JSON object, not {type(parsed).__name__}")
    labels: dict[str, str] = {}
    for language, name in parsed.items():
        if not isinstance(name, str):
            raise ValueError(f"the {language!r} label is a {type(name).__name__}, not text")
        code = _clean(str(language), "a language code")
        labels[code] = _clean(name, f"the {code[:20]!r} label")
    return labels


Labels = tuple[tuple[str, str], ...]
"""Parsed labels as (language, name) pairs: hashable, so the picked label can be memoised."""


# Memoised, bounded: a list repeats the Labels of each cost type.
@functools.lru_cache(maxsize=1024)
def _labels_from_text(text: str) -> Labels:
    return tuple(parse_labels(text).items())


def _labels(value: Any) -> Labels:
    if isinstance(value, str) and value:
        return _labels_from_text(value)
    return tuple(parse_labels(value).items())


@functools.lru_cache(maxsize=1024)
def label_of(labels: Labels, language: str) -> str | None:
    """:func:`pick_label` of parsed labels, memoised (a list repeats each type's labels)."""
    return pick_label(dict(labels), language)


def pick_label(labels: Mapping[str, str], language: str) -> str | None:
    """The label to show: ``language``, a variant of it, ``en``, then the first by language code.

    Matching ignores case and treats ``-`` and ``_`` alike (``pt_BR`` finds ``pt-BR``).
    """
    if not labels:
        return None

    def norm(code: str) -> str:
        return code.strip().casefold().replace("_", "-")

    by_code = {norm(code): name for code, name in sorted(labels.items(), reverse=True)}
    ordered = sorted(by_code)
    for wanted in (norm(language), "en"):
        if wanted in by_code:
            return by_code[wanted]
        base = wanted.split("-")[0]
        for code in ordered:
            if code.split("-")[0] == base:
                return by_code[code]
    return by_code[ordered[0]]


# ---------------------------------------------------------------- the item


@dataclass(frozen=True)
class ReadContext:
    """Settings that shape how items are read."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    currency: str = "EUR"
    language: str = "en"

    def __post_init__(self) -> None:
        # Checked once here, not on every cost read (the mapping trusts it).
        if not re.fullmatch(CURRENCY, self.currency):
            raise ValueError(f"currency {self.currency!r} is not a three-letter ISO 4217 code")


def _context(info: ValidationInfo) -> ReadContext:
    context = info.context
    if isinstance(context, ReadContext):
        return context
    return ReadContext()


Time = Annotated[datetime, PlainValidator(_time)]
"""A platform date as an aware UTC instant (its raw text stays in the item's ``raw``)."""
# The NUL check is the store's own pattern, checked in pydantic's core: no Python call per
# text field. Unpaired surrogates are refused by pydantic itself (a strict str).
Text = Annotated[StrictStr, Field(max_length=MAX_TEXT, pattern=NO_NUL)]
Int64 = Annotated[StrictInt, Field(ge=-INT64, lt=INT64)]


class AdditionalCost(BaseModel):
    """One ``AdditionalCost`` as the platform sends it (aliases are the wire names)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: Int64 = Field(alias="ID")
    created: Time | None = Field(None, alias="CreatedDate")
    last_updated: Time = Field(alias="LastUpdated")
    amount: Annotated[Decimal, PlainValidator(_amount)] = Field(alias="Amount")
    notes: Text | None = Field(None, alias="Notes")
    trip_guid: Text | None = Field(None, alias="TripGuid")
    start_location: Text | None = Field(None, alias="StartLocationName")
    end_location: Text | None = Field(None, alias="EndLocationName")
    start: Time | None = Field(None, alias="StartTimestamp")
    end: Time | None = Field(None, alias="EndTimestamp")
    type_id: Int64 | None = Field(None, alias="TypeID")
    cost_type: Int64 | None = Field(None, alias="CostType")
    labels: Annotated[Labels, PlainValidator(_labels)] = Field((), alias="Labels")
    ext_user_guid: Text | None = Field(None, alias="ExtUserGuid")
    payment_id: Int64 | None = Field(None, alias="PaymentID")
    payment_status: Int64 | None = Field(None, alias="PaymentStatus")
    payment_attempt: Time | None = Field(None, alias="PaymentExecutionAttemt")
    payment_user: Text | None = Field(None, alias="PaymentExecutionUser")
    payment_notes: Text | None = Field(None, alias="PaymentNotes")

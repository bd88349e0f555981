"""Column types that store exact values in SQLite.

SQLite has no decimal and no timezone-aware timestamp. Decimals go in as canonical TEXT
(never REAL: these are tax records), instants as ISO-8601 UTC TEXT that sorts correctly.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

INT64 = Integer().with_variant(BigInteger(), "postgresql")
"""A 64-bit integer column: SQLite's INTEGER is, PostgreSQL's is 32-bit, so there it is
BIGINT (microseconds, the track key: migration 0016; the platform's cost IDs: 0022).
psycopg binds a value with its column's type: a 64-bit value bound as INTEGER fails."""


def utc_text(value: datetime) -> str:
    """The stored form of an aware instant: fixed-width ISO-8601 UTC with a Z (sorts right)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: every stored instant is timezone-aware")
    # isoformat is several times faster than strftime; same fixed-width text.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def decimal_text(value: Decimal) -> str:
    """The stored form of a Decimal: its canonical fixed-point text (``12.50`` stays so)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError("only finite Decimal values are stored")
    return format(value, "f")


def from_utc_text(text: str | None) -> datetime | None:
    """The aware instant of a stored ``utc_text`` value (None stays None)."""
    # fromisoformat (3.11+ reads the Z) is ~10x faster than strptime on this hot path.
    return None if text is None else datetime.fromisoformat(text)


def stored_date(value: date | str | None) -> date | None:
    """A date column's value as raw SQL returns it: SQLite's ISO text, PostgreSQL's date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def stored_json(value: Any) -> Any:
    """A JSON column's value as raw SQL returns it, parsed: SQLite's text (``'null'``, which
    SQLAlchemy's JSON type stores for None, is None), PostgreSQL's already parsed value."""
    if isinstance(value, str):
        return None if value == "null" else json.loads(value)
    return value


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, fixed width)."""

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else utc_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return from_utc_text(value)


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal stored as its canonical string, read back bit-for-bit."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else decimal_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)

"""Trip dates in the store's raw SQL, per dialect: the sort key ``coalesce(date, '')``.

SQLite stores a date as its ISO text, and the store's SQL orders and filters trips by
``coalesce(t.date, '')`` (a missing date is '', first in ascending order): the expression of
the list-order index (migration 0011). PostgreSQL stores the date typed and refuses to
coalesce it with text; its counterpart is ``coalesce(CAST(t.date AS TEXT), '')``, the same
ISO text (the engine sets ``DateStyle`` ISO), so keys, comparisons with ISO text parameters
and orders are the same on both.

The store's statements keep SQLite's form; on PostgreSQL :func:`dates_for_postgres`
rewrites them, once per statement text (``tracker.db.for_postgres``, from the engine's
hook; ``tracker.triplist.list_sql``), as :mod:`tracker.sqlids` does for id lists. Pure.
"""

from __future__ import annotations

import re

__all__ = ["dates_for_postgres"]

# coalesce over the date column (bare or qualified) with '': the only form the store uses.
_DATE_KEY = re.compile(r"\bcoalesce\(\s*((?:\w+\.)?date)\s*,\s*''\s*\)", re.IGNORECASE)


def dates_for_postgres(sql: str) -> str:
    """``sql`` with each ``coalesce(<alias.>date, '')`` as
    ``coalesce(CAST(<alias.>date AS TEXT), '')``."""
    return _DATE_KEY.sub(r"coalesce(CAST(\1 AS TEXT), '')", sql)

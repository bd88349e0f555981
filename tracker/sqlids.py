"""Id lists in the store's raw SQL, per dialect: one JSON array travels as one parameter.

The store's driver-level SQL passes a list of ids as one JSON text parameter and reads it
as rows with SQLite's ``(SELECT value FROM json_each(?))``: one statement text whatever the
list's length (no statement per length, no limit on bound variables). PostgreSQL has no
``json_each`` over text; its counterpart is ``jsonb_array_elements_text(CAST(? AS jsonb))``,
whose rows are text too (its column is also named ``value``). A list of integers is written
``(SELECT CAST(value AS INTEGER) FROM json_each(?))``, which both read as integers.

The store's statements keep SQLite's form; on PostgreSQL :func:`ids_for_postgres` rewrites
them, once per statement text (``tracker.db.for_postgres``, from the engine's hook), so no
statement is written twice. Pure.
"""

from __future__ import annotations

import re

__all__ = ["ids_for_postgres"]

# json_each over one bound parameter (``?`` or ``:name``): the only form the store uses.
_JSON_EACH = re.compile(r"\bjson_each\(\s*(\?|:[A-Za-z_]\w*)\s*\)", re.IGNORECASE)


def ids_for_postgres(sql: str) -> str:
    """``sql`` with each ``json_each(<parameter>)`` as PostgreSQL's
    ``jsonb_array_elements_text(CAST(<parameter> AS jsonb))``."""
    return _JSON_EACH.sub(r"jsonb_array_elements_text(CAST(\1 AS jsonb))", sql)

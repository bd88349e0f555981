"""The Core ``Table`` behind a table model (the cost modules write plain SQL)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table

__all__ = ["table"]


def table(model: type[Any]) -> Table:
    """``model.__table__``, typed."""
    return cast(Table, model.__table__)

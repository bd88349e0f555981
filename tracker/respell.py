"""A statement written for SQLite, respelled for PostgreSQL where the two differ.

Most of the store's raw SQL reads the same on both (what differs everywhere, the
placeholders, id lists and the date sort key, is rewritten by ``tracker.db.for_postgres``).
A few statements use SQLite's JSON functions (``json_extract``, ``json_group_array``) or
read columns PostgreSQL types differently; each keeps its SQLite text, and its PostgreSQL
text is that text with each of those expressions replaced by PostgreSQL's, listed beside
the statement: no statement is written twice, and no SQL is built from values. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["by_dialect", "respelled"]


def respelled(sql: str, spellings: Mapping[str, str]) -> str:
    """``sql`` with each key of ``spellings`` (SQLite's expression) replaced by its value
    (PostgreSQL's). Each key must occur: a statement edited without its spellings would
    otherwise run SQLite's expression on PostgreSQL (ValueError)."""
    for sqlite_text, pg_text in spellings.items():
        if sqlite_text not in sql:
            raise ValueError(f"not in the statement: {sqlite_text!r}")
        sql = sql.replace(sqlite_text, pg_text)
    return sql


def by_dialect(sql: str, spellings: Mapping[str, str]) -> dict[str, str]:
    """``sql`` by SQLAlchemy dialect name: SQLite's as written, PostgreSQL's
    :func:`respelled`."""
    return {"sqlite": sql, "postgresql": respelled(sql, spellings)}

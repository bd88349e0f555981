"""PostgreSQL: the tally's counts split by connection, so concurrent writers never queue on
one row (SQLite: nothing changes).

On SQLite one writer runs at a time, and a count is one row. On PostgreSQL several workers
claim and answer at once (``tracker.db``: their steps share the write lock), and every claim
moves the same few counts (``journal:pending``, ``journal:in_flight``): one row per count
would make each worker wait for the others' transactions, and two of them moving two counts
in opposite orders would deadlock. So a count is the sum of its rows, one per server process
(``pg_backend_pid()``): a connection only ever adds to its own row, which no concurrent
transaction holds. ``tracker.tally.compact`` folds the rows back into one (gc does).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import importlib
import re

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Every count's rows folded into one (shard 0), in one statement.
_FOLD = """
WITH gone AS (DELETE FROM tally WHERE shard <> 0 RETURNING key, n)
INSERT INTO tally (key, shard, n) SELECT key, 0, sum(n) FROM gone GROUP BY key
ON CONFLICT (key, shard) DO UPDATE SET n = tally.n + EXCLUDED.n
"""
# ``tally_add(key, delta)``: add to this connection's row of a count.
_ADD = """
CREATE FUNCTION tally_add(k text, d integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tally (key, shard, n) VALUES (k, pg_backend_pid(), d)
    ON CONFLICT (key, shard) DO UPDATE SET n = tally.n + EXCLUDED.n
$$
"""
# 0012's trigger functions, each ``UPDATE tally SET n = n ± 1 WHERE key = <key>`` now a
# ``PERFORM tally_add(<key>, ±1)``: the same moves, on this connection's row.
_MOVE = re.compile(r"UPDATE tally SET n = n ([+-]) 1\s+WHERE key = ([^;]+);")


def _functions() -> dict[str, str]:
    before = importlib.import_module("tracker.migrations.versions.0012_tally")
    bodies: dict[str, str] = before._PG_FUNCTIONS
    moved = {
        name: _MOVE.sub(lambda m: f"PERFORM tally_add({m[2].strip()}, {m[1]}1);", body)
        for name, body in bodies.items()
    }
    if any("UPDATE tally" in body for body in moved.values()):
        raise RuntimeError("0019: a move of 0012's tally functions was not rewritten")
    return moved


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.add_column("tally", sa.Column("shard", sa.Integer(), nullable=False, server_default="0"))
    op.execute("ALTER TABLE tally DROP CONSTRAINT tally_pkey")
    op.execute("ALTER TABLE tally ADD PRIMARY KEY (key, shard)")
    op.execute(_ADD)
    for name, body in _functions().items():
        # The triggers call these by name: replacing the bodies is enough.
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FOLD)
    op.execute("ALTER TABLE tally DROP CONSTRAINT tally_pkey")
    op.drop_column("tally", "shard")
    op.execute("ALTER TABLE tally ADD PRIMARY KEY (key)")
    before = importlib.import_module("tracker.migrations.versions.0012_tally")
    for name, body in before._PG_FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
        )
    op.execute("DROP FUNCTION tally_add(text, integer)")

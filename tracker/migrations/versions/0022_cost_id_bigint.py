"""PostgreSQL: the platform's cost IDs are 64-bit (SQLite: nothing).

0002 made ``cost.id`` an INTEGER: 64-bit on SQLite, 32-bit on PostgreSQL, where an ID past
2**31 (the platform's IDs are int64) could not be stored. It is BIGINT there now, as the
microseconds of 0016 are.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE cost ALTER COLUMN id TYPE BIGINT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE cost ALTER COLUMN id TYPE INTEGER")

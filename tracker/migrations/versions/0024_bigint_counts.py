"""PostgreSQL: the cost's platform integers and a trip's duration are 64-bit (SQLite:
nothing).

The costs API's TypeID, CostType, PaymentID and PaymentStatus are validated as 64-bit
integers (``tracker.costs.inputs``) but were INTEGER columns: 64-bit on SQLite, 32-bit on
PostgreSQL, where a value past 2**31 failed its whole page, every pull. A trip's
``duration_ms`` past 2**31 ms (a recording left running for 25 days) could not be stopped.
BIGINT there now, as the cost ID is since 0022.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("cost", "type_id"),
    ("cost", "cost_type"),
    ("cost", "payment_id"),
    ("cost", "payment_status"),
    ("trip", "duration_ms"),
)


def _retype(to: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=to)


def upgrade() -> None:
    _retype(sa.BigInteger())


def downgrade() -> None:
    _retype(sa.Integer())

"""The IDs a costs pull has read, by ranges, instead of a write to every cost it reads.

Until 0008 every page of a pull wrote ``seen_run`` on each cost it read, changed or not: a
pull of 50k unchanged costs rewrote the whole cost table (bench/costs_rewrite.py). Now a run
records the IDs it read in ``pull_seen`` (one small row per checkpoint) and a complete walk
marks not seen the costs outside them.

A pull interrupted before the upgrade has its read costs marked only by ``seen_run``: they
are copied into ``pull_seen`` so that resuming it does not mark them not seen.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CARRY_OVER = """
INSERT INTO pull_seen (run_id, ranges)
SELECT cost.seen_run, json_group_array(json_array(cost.id, cost.id))
FROM cost JOIN pull_state ON pull_state.run_id = cost.seen_run
WHERE pull_state.name = 'costs' AND pull_state.finished_at IS NULL
GROUP BY cost.seen_run
"""
# PostgreSQL's spelling of the same carry-over (its JSON aggregate, as text).
_CARRY_OVER_PG = _CARRY_OVER.replace(
    "json_group_array(json_array(cost.id, cost.id))",
    "json_agg(json_build_array(cost.id, cost.id))::text",
)


def upgrade() -> None:
    op.create_table(
        "pull_seen",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("ranges", sa.String(), nullable=False),
    )
    op.execute(_CARRY_OVER_PG if op.get_bind().dialect.name == "postgresql" else _CARRY_OVER)


def downgrade() -> None:
    op.drop_table("pull_seen")

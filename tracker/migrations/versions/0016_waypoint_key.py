"""Waypoints keyed by a compact integer trip key, in fixed-point integers.

A fix cost ~87-98 bytes with its index: the 36-character trip id was repeated in every row
and REALs took 8 bytes each. Now ``track`` gives each trip with fixes a small integer key
and a time base, and a fix is stored as small integers (``tracker.fixcodec``), ~35 bytes.

The conversion is ``tracker.migrations.waypoint_key``: ``tracker.schema`` stages the copy in
committed chunks before this runs (resumable after a kill); this transaction copies what is
left and swaps the tables, all or nothing.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

from tracker.migrations import waypoint_key

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    waypoint_key.finish(op.get_bind())


def downgrade() -> None:
    waypoint_key.revert(op.get_bind())

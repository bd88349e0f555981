"""Costs per account (fleet mode): each account may pull its own costs.

``account.costs_token_ref`` is the reference ("env:NAME", "file:/path") of the account's
token for the costs API, never the token. ``cost.account`` and ``cost_quarantine.account``
say whose pull read a cost (NULL: the implicit account's, as every cost before this
revision): a pull marks "not seen", links and quarantines only its own account's costs.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both (nullable columns, no default): instant on a large store.
    op.add_column("account", sa.Column("costs_token_ref", sa.String(), nullable=True))
    op.add_column("cost", sa.Column("account", sa.String(), nullable=True))
    op.add_column("cost_quarantine", sa.Column("account", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("cost_quarantine", "account")
    op.drop_column("cost", "account")
    op.drop_column("account", "costs_token_ref")

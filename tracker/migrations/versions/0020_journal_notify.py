"""PostgreSQL: a change queued in the journal wakes the fleet's workers (SQLite: nothing).

On SQLite the daemon notices another process's commit through ``PRAGMA data_version``. On
PostgreSQL the workers run on other machines: a trigger sends ``NOTIFY tracker_journal``
when an entry becomes pending (a new change, a requeue; not a claim or an answer, which
would wake every worker on every batch). PostgreSQL delivers it at commit, once per
transaction however many rows; each worker's watchdog LISTENs (``sync.watchdog``) and pushes
soon after.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

CHANNEL = "tracker_journal"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION journal_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER journal_notify AFTER INSERT OR UPDATE OF state ON journal "
        "FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION journal_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER journal_notify ON journal")
    op.execute("DROP FUNCTION journal_notify()")

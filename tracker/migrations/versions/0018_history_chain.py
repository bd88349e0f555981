"""A tamper-evident trip history: each trip's record changes form a hash chain.

- ``journal_event`` gains ``changes``, ``state`` and ``hash``: a link of the trip's chain
  (``tracker.chain``) carries them, a sync event does not;
- ``trip`` gains ``chain_head``: the hash of its latest link.

Every existing trip gets one link, ``chain started``, committing to its fields as they are
now (the events before it stay as they were, outside the chain: their past states were never
recorded, so nothing could be hashed for them honestly). Written in chunks of trips (memory
stays flat on a large store), all in the migration's one transaction: a store verifies
clean right after migrating.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from tracker.coltypes import utc_text
from tracker.links import covered_sql, first_links, insert_links

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_CHUNK = 1000
_EVENT = "chain started"
_DETAIL = "the trip's fields as they were at schema 0018; earlier events are not chained"
_SEQS_SQL = (
    "SELECT trip_id, max(seq) FROM journal "
    "WHERE trip_id IN (SELECT value FROM json_each(?)) GROUP BY trip_id"
)
_HEAD_SQL = "UPDATE trip SET chain_head = ? WHERE id = ?"


def upgrade() -> None:
    op.add_column("journal_event", sa.Column("changes", sa.String(), nullable=True))
    op.add_column("journal_event", sa.Column("state", sa.String(), nullable=True))
    op.add_column("journal_event", sa.Column("hash", sa.String(), nullable=True))
    op.add_column("trip", sa.Column("chain_head", sa.String(), nullable=True))
    conn = op.get_bind()
    at = utc_text(datetime.now(UTC))
    after = ""
    while True:
        # The next chunk in id order (the primary key: SQLite streams it, nothing sorted),
        # without the chain_head column the select ends with (it is empty here).
        chunk_sql = covered_sql(where_id=">", dialect=conn.dialect.name)
        cursor = conn.exec_driver_sql(chunk_sql, (after,))
        rows = [tuple(r[:-1]) for r in cursor.fetchmany(_CHUNK)]
        cursor.close()
        if not rows:
            return
        ids = [r[0] for r in rows]
        seqs: dict[str, int] = dict(conn.exec_driver_sql(_SEQS_SQL, (json.dumps(ids),)).all())
        links = first_links(
            [(seqs.get(r[0]), r) for r in rows],
            at,
            _EVENT,
            [_DETAIL] * len(rows),
        )
        insert_links(conn, links)
        conn.exec_driver_sql(_HEAD_SQL, [(link[-1], link[1]) for link in links])
        after = ids[-1]


def downgrade() -> None:
    op.execute("DELETE FROM journal_event WHERE event = 'chain started' AND hash IS NOT NULL")
    op.drop_column("trip", "chain_head")
    op.drop_column("journal_event", "hash")
    op.drop_column("journal_event", "state")
    op.drop_column("journal_event", "changes")

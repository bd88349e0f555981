"""Whether a pusher is still alive (fleet mode, PostgreSQL), known without waiting.

A claim's lease covers a slow request, so it is long (minutes); a worker killed mid-batch
would leave its entries waiting that long, and a quiet account's one new trip with them.
PostgreSQL knows sooner: the connections of a killed process close, and the session locks
they held go with them. So each push run on PostgreSQL holds a session-level advisory lock
keyed by its owner (:func:`alive`, taken before its first claim, given up after its last
answer), and whoever releases expired claims also ends the claims of every lease holder
whose lock it can take (:data:`ORPHANED_SQL`, in ``tracker.giveback``): that holder's
connection is gone. Its entries are then released as an expired lease's are (a create in
doubt, reconciled first), and a worker that is in fact alive but lost its connection finds
its claims taken at its next hold and sends nothing (``Outbox.hold``): safe either way.

On SQLite nothing is needed: one file is one host, where the push lease's take-over ends a
dead holder's claims at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError

from tracker.db import Database, translate_errors

__all__ = ["LIVENESS_SPACE", "ORPHANED_SQL", "alive"]

LIVENESS_SPACE = 0x7472  # "tr": the first key of the two-key advisory locks of push runs
"""The advisory lock space of live pushers (the write lock uses the one-key form: apart)."""

_LOCK_SQL = "SELECT pg_advisory_lock(?, hashtext(?))"
_UNLOCK_SQL = "SELECT pg_advisory_unlock(?, hashtext(?))"

# In-flight claims of a lease holder whose liveness lock is free (its connection closed):
# ended now. Only owners holding a lease row take part (a push run's owner holds its push
# lease); the try-lock taken here on a dead owner's key is the transaction's, gone with it.
ORPHANED_SQL = """
UPDATE journal SET lease_expires_at = :now
WHERE state = 'in_flight' AND lease_expires_at > :now AND lease_owner IN (
    SELECT owner FROM lease
    WHERE owner IS NOT NULL
      AND owner IN (SELECT lease_owner FROM journal WHERE state = 'in_flight')
      AND pg_try_advisory_xact_lock(:space, hashtext(owner)))
"""


@contextmanager
def alive(db: Database, owner: str) -> Iterator[None]:
    """Hold ``owner``'s liveness lock for the block (PostgreSQL; nothing on SQLite), on a
    connection of its own in autocommit (no transaction stays open for the run)."""
    if not db.postgres:
        yield
        return
    # sqlite_begin=DEFERRED: the engine's begin hook then takes no write lock (db.py).
    engine = db.engine.execution_options(isolation_level="AUTOCOMMIT", sqlite_begin="DEFERRED")
    with translate_errors(db.location):  # a server gone is StorageError, as for any query
        conn = engine.connect()
        try:
            conn.exec_driver_sql(_LOCK_SQL, (LIVENESS_SPACE, owner))
        except BaseException:
            conn.close()
            raise
    try:
        yield
    finally:
        # A connection lost meanwhile took its lock with it: nothing left to give up.
        with contextlib.suppress(SQLAlchemyError):
            conn.exec_driver_sql(_UNLOCK_SQL, (LIVENESS_SPACE, owner))
        with contextlib.suppress(SQLAlchemyError):
            conn.close()

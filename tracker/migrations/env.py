"""Alembic environment: always run on a connection handed over by ``tracker.schema``.

The caller has already opened a ``BEGIN IMMEDIATE`` transaction on that connection, so the
version check and every migration run under the write lock, all or nothing: a process
killed mid-upgrade leaves the old schema, and the next open finishes the job.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()

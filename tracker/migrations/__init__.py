"""Alembic migrations of the SQLite file (run by ``tracker.schema``, never by hand)."""

"""Moving a store between schema revisions in a test, as ``alembic downgrade/upgrade`` do."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from tracker.schema import read_revision

ROOT = Path(__file__).resolve().parents[2]


def migrate(conn: Connection, target: str) -> None:
    """Move the store on ``conn`` (in the caller's transaction) down or up to ``target``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "tracker" / "migrations"))
    cfg.attributes["connection"] = conn
    current = read_revision(conn)
    step = command.downgrade if current is not None and target < current else command.upgrade
    step(cfg, target)
    assert read_revision(conn) == target

"""Pages a block writes to a SQLite file in WAL mode, counted as WAL frames.

The WAL is checkpointed and truncated, one frame is written, and a read transaction stays
open on that snapshot for the block: no checkpoint can move past it, so the WAL is never
restarted and its growth counts every page the block wrote (bench/costs_rewrite.py does the
same for its figures).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_WAL_HEADER = 32
_FRAME_HEADER = 24


class Frames:
    """Filled in when the :func:`frames_written` block ends."""

    count: int = -1


@contextmanager
def frames_written(db: Path) -> Iterator[Frames]:
    """Count the WAL frames other connections write to ``db`` during the block."""
    frames = Frames()
    wal = Path(f"{db}-wal")
    pin = sqlite3.connect(db, isolation_level=None)
    try:
        page_size = pin.execute("PRAGMA page_size").fetchone()[0]
        pin.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = pin.execute("PRAGMA user_version").fetchone()[0]
        pin.execute(f"PRAGMA user_version = {int(version)}")
        before = _frames(wal, page_size)
        pin.execute("BEGIN")
        pin.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        yield frames
        frames.count = _frames(wal, page_size) - before
        pin.execute("COMMIT")
    finally:
        pin.close()


def _frames(wal: Path, page_size: int) -> int:
    return (wal.stat().st_size - _WAL_HEADER) // (page_size + _FRAME_HEADER)

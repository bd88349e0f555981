"""Troubles of the database file: a child process holding it open (killed: an unclean close;
or alive), a damaged page."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Opens the store, says so on stdout, then waits for stdin to close.
_HOLD = (
    "import sys\n"
    "from tracker.store import Tracker\n"
    "store = Tracker.open(sys.argv[1], timezone='UTC')\n"
    "print('open', flush=True)\n"
    "sys.stdin.read()\n"
    "store.close()\n"
)


@contextmanager
def holding(db: Path) -> Iterator[subprocess.Popen[str]]:
    """A child with ``db`` open (its session recorded) for the duration of the block; it
    closes the store cleanly at the end unless the block killed it."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "open"
        yield child
    finally:
        child.stdin.close()
        child.wait(timeout=60)
        child.stdout.close()


def killed_holding(db: Path) -> None:
    """A child opens ``db`` and is SIGKILLed while it holds it: not closed cleanly."""
    with holding(db) as child:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)


def damage_page(db: Path, table: str) -> int:
    """Overwrite the header of the middle leaf page of ``table``; returns the page number."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        pages = con.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            (table,),
        ).fetchall()
        size = con.execute("PRAGMA page_size").fetchone()[0]
    page = pages[len(pages) // 2][0]
    data = bytearray(db.read_bytes())
    data[(page - 1) * size : (page - 1) * size + 8] = b"\xff" * 8
    db.write_bytes(bytes(data))
    return int(page)

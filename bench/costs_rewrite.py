"""Pages written by a pull of costs that did not change (issue 15).

Pulls ``n`` costs from the sandbox (in a child process, on loopback) into a fresh database,
then pulls the same, unchanged list again, and counts the database pages each pull wrote:
WAL frames, each one page. The second pull is the one a device runs every few minutes for
years; it should write next to nothing (the page checkpoint and the walk's record of the IDs
it read), not rewrite every stored cost.

Counting frames: the WAL is checkpointed and truncated first, one frame is written, and a
read transaction is held open on that snapshot for the whole pull. No checkpoint can then
move past that frame, so the WAL is never restarted and its size at the end counts every
frame the pull wrote (``(size - header) / (page size + frame header)``).

Target (issue 15): the second pull writes < 1 % of the pages the first pull writes.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from bench.remote import sandbox_process
from sync.sandbox import DEFAULT_TOKEN

TARGET = 0.01
_WAL_HEADER = 32
_FRAME_HEADER = 24

T = TypeVar("T")


class FrameCount:
    """The pages (WAL frames) written inside one :func:`counting_frames` block."""

    frames: int = 0


@contextmanager
def counting_frames(db: Path) -> Iterator[FrameCount]:
    """Count the WAL frames written to ``db`` by other connections during the block."""
    count = FrameCount()
    wal = Path(f"{db}-wal")
    pin = sqlite3.connect(db, isolation_level=None)
    try:
        page_size = pin.execute("PRAGMA page_size").fetchone()[0]
        pin.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # One frame, so that the snapshot read below lives in the WAL (a reader of the main
        # file alone would let a writer restart the WAL and overwrite counted frames).
        version = pin.execute("PRAGMA user_version").fetchone()[0]
        pin.execute(f"PRAGMA user_version = {int(version)}")
        before = _frames(wal, page_size)
        pin.execute("BEGIN")
        pin.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        try:
            yield count
            count.frames = _frames(wal, page_size) - before
        finally:
            pin.execute("COMMIT")
    finally:
        pin.close()


def _frames(wal: Path, page_size: int) -> int:
    size = wal.stat().st_size if wal.exists() else 0
    return max(0, size - _WAL_HEADER) // (page_size + _FRAME_HEADER)


def _pull(url: str, db: Path, page_size: int) -> dict[str, Any]:
    from bench import steps
    from sync.settings import CostsSettings
    from tracker.store import Tracker

    cfg = CostsSettings(url=url, token=DEFAULT_TOKEN, page_size=page_size)
    with Tracker.open(db, timezone="UTC") as store:
        report = steps.pull(cfg, store)
    if not report.complete or report.quarantined:
        raise RuntimeError(f"pull did not complete cleanly: {report.to_dict()}")
    return report.to_dict()


def _measured(db: Path, action: Callable[[], T]) -> tuple[int, T]:
    with counting_frames(db) as count:
        result = action()
    return count.frames, result


def run(n: int = 50_000, page_size: int = 100) -> dict[str, Any]:
    """Pages written by a first pull of ``n`` costs and by a second, unchanged one."""
    with (
        sandbox_process(costs=n) as remote,
        tempfile.TemporaryDirectory(prefix="bench-costs-rewrite-") as tmp,
    ):
        db = Path(tmp) / "tracker.db"
        from tracker.store import Tracker

        with Tracker.open(db, timezone="UTC"):
            pass  # create the schema outside the measured pulls
        url = remote.costs_url
        first, report1 = _measured(db, lambda: _pull(url, db, page_size))
        second, report2 = _measured(db, lambda: _pull(url, db, page_size))
        if report1["inserted"] != n or report2["unchanged"] != n:
            raise RuntimeError(f"unexpected pulls: {report1} / {report2}")
    ratio = second / first if first else 0.0
    return {
        "name": f"pages written by a pull of {n} unchanged costs (vs the first pull)",
        "n": n,
        "unit": "pages",
        "ours": second,
        "baseline": first,
        "ratio": round(ratio, 4),
        "target": f"< {TARGET:.0%} of the first pull",
        "met": ratio < TARGET,
        "pages_per_stored_page": round(second / max(1, -(-n // page_size)), 2),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.costs_rewrite")
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(n=args.n), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])

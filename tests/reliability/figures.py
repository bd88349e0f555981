"""The figures each campaign reports, written to one JSON file for ``bench/scorecard.py``.

A campaign records its rows *before* it asserts, so a failing campaign still shows its
numbers. Each row carries the figure, its value with the denominator, the pass criterion and
whether it passed; ``raw`` keeps the plain numbers for machines.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.reliability.profile import PROFILE, SEED


@dataclass(frozen=True)
class Row:
    """One line of the scorecard."""

    figure: str
    value: str
    criterion: str
    ok: bool


def ratio(part: int, whole: int, what: str) -> str:
    """``"3 / 1,200 acked writes"``."""
    return f"{part:,} / {whole:,} {what}".rstrip()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Scorecard:
    """Collects campaign figures into one JSON document (safe across pytest-xdist workers)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        """The document as written so far."""
        try:
            doc: dict[str, Any] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            doc = {}
        doc.setdefault("profile", PROFILE)
        doc.setdefault("seed", SEED)
        doc.setdefault("campaigns", {})
        return doc

    def record(
        self,
        campaign: str,
        *,
        title: str,
        section: int,
        rows: list[Row],
        raw: dict[str, Any],
        notes: str = "",
    ) -> None:
        """Add (or replace) one campaign's figures. ``section``: its row in bench/scorecard.py."""
        with _locked(self.path):
            doc = self.load()
            doc["campaigns"][campaign] = {
                "title": title,
                "section": section,
                "rows": [asdict(r) for r in rows],
                "raw": raw,
                "notes": notes,
                "ok": all(r.ok for r in rows),
            }
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str))
            os.replace(tmp, self.path)

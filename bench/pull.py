"""Pull throughput: the engine's costs pull of 50k costs at 100 per page from the sandbox on
loopback, against a bare httpx loop fetching the same pages from the same server, in one run.

The sandbox runs in a child process (``bench.remote``: ``serve()`` on 127.0.0.1), so neither
side shares a GIL with the server and the comparison is the client's own cost per cost:
validation, decimal JSON, the upsert with its checkpoint, links. The bare loop does the least
a client can: GET each page, parse the JSON, stop on a short page.
Best of ``repeats`` runs each, alternating the order.

Memory: a third child (``--memory``) pulls the same list into a fresh database with
tracemalloc on and reports the traced peak after the first tenth of the pages and at the end
(flat memory means the two are about equal), and the process's peak RSS (interpreter and
libraries included; ``VmHWM``, see ``bench/memory.py`` for why not ``ru_maxrss``).
``bench/memory.py`` reports the RSS growth of a pull on its own as well.

Targets (issue 5): ours >= 0.5x the bare loop's costs/s; peak memory < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.children import json_child
from bench.memory import peak_rss_mb
from bench.remote import sandbox_process
from sync.sandbox import DEFAULT_TOKEN

TARGET = 0.5
MEMORY_TARGET_MB = 150
LIST_PATH = "/v1/additional-costs/list"
TOKEN = DEFAULT_TOKEN


@dataclass
class Side:
    """One measured walk of the list."""

    seconds: float
    costs: int
    pages: int


# ----------------------------------------------------------------------------- the two sides
def pull_bare(url: str, page_size: int) -> Side:
    """The floor: GET every page with one httpx.Client, parse it, stop on a short page."""
    import httpx

    costs = pages = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        start = time.perf_counter()
        while True:
            response = client.get(LIST_PATH, params={"page": pages + 1, "pageSize": page_size})
            if response.status_code != 200:
                raise RuntimeError(f"bare loop got HTTP {response.status_code}")
            items = response.json()
            pages += 1
            costs += len(items)
            if len(items) < page_size:
                break
        seconds = time.perf_counter() - start
    return Side(seconds, costs, pages)


def pull_ours(url: str, page_size: int, db: Path) -> Side:
    """The engine's costs pull into a fresh database (default settings: synchronous=FULL)."""
    from bench import steps
    from sync.settings import CostsSettings
    from tracker.store import Tracker

    cfg = CostsSettings(url=url, token=TOKEN, page_size=page_size)
    with Tracker.open(db, timezone="UTC") as store:
        start = time.perf_counter()
        report = steps.pull(cfg, store)
        seconds = time.perf_counter() - start
    if not report.complete or report.quarantined:
        raise RuntimeError(f"pull did not complete cleanly: {report.to_dict()}")
    return Side(seconds, report.inserted + report.updated + report.unchanged, report.pages)


# ----------------------------------------------------------------------------- memory
def _memory_child(url: str, page_size: int, pages_expected: int) -> dict[str, Any]:
    """Child: one pull under tracemalloc; traced peaks early and at the end, peak RSS."""
    from bench import steps
    from sync.events import Progress
    from sync.settings import CostsSettings
    from tracker.store import Tracker

    early_at = max(1, pages_expected // 10)
    early: list[int] = []
    seen = 0

    def progress(event: object) -> None:
        nonlocal seen
        if isinstance(event, Progress):
            seen += 1
            if seen == early_at:
                early.append(tracemalloc.get_traced_memory()[1])

    cfg = CostsSettings(url=url, token=TOKEN, page_size=page_size)
    with (
        tempfile.TemporaryDirectory(prefix="bench-pull-mem-") as tmp,
        Tracker.open(Path(tmp) / "tracker.db", timezone="UTC") as store,
    ):
        tracemalloc.start()
        report = steps.pull(cfg, store, listener=progress)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "costs": report.inserted,
        "traced_peak_mb_early": round((early[0] if early else peak) / 2**20, 1),
        "traced_peak_mb": round(peak / 2**20, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def measure_memory(url: str, page_size: int, pages: int) -> dict[str, Any]:
    """Run :func:`_memory_child` in a fresh interpreter and return its figures."""
    return json_child("bench.pull", "--memory", url, str(page_size), str(pages))


# ----------------------------------------------------------------------------- the row
def run(n: int = 50_000, page_size: int = 100, repeats: int = 2) -> dict[str, Any]:
    """Best-of-``repeats`` costs/s of the pull and of the bare loop, plus memory figures."""
    ours_best = bare_best = float("inf")
    with (
        sandbox_process(costs=n) as remote,
        tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp,
    ):
        url = remote.costs_url
        for r in range(repeats):
            order = ("ours", "bare") if r % 2 == 0 else ("bare", "ours")
            for side in order:
                if side == "ours":
                    result = pull_ours(url, page_size, Path(tmp) / f"ours{r}.db")
                    ours_best = min(ours_best, result.seconds)
                else:
                    result = pull_bare(url, page_size)
                    bare_best = min(bare_best, result.seconds)
                if result.costs != n:
                    raise RuntimeError(f"{side} read {result.costs} of {n} costs")
        memory = measure_memory(url, page_size, -(-n // page_size))
    if memory["costs"] != n:
        raise RuntimeError(f"memory child stored {memory['costs']} of {n} costs")
    ours_rate, bare_rate = n / ours_best, n / bare_best
    ratio = ours_rate / bare_rate
    return {
        "name": f"pull {n} costs at {page_size}/page (engine pull vs bare httpx loop, loopback)",
        "n": n,
        "unit": "costs/s",
        "ours": round(ours_rate),
        "baseline": round(bare_rate),
        "ratio": round(ratio, 2),
        "target": f">= {TARGET}x; peak RSS < {MEMORY_TARGET_MB} MB",
        "met": ratio >= TARGET and memory["peak_rss_mb"] < MEMORY_TARGET_MB,
        "ours_seconds": round(ours_best, 2),
        "baseline_seconds": round(bare_best, 2),
        **memory,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.pull")
    parser.add_argument("--memory", nargs=3, metavar=("URL", "PAGE_SIZE", "PAGES"))
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args(argv)
    if args.memory:
        url, page_size, pages = args.memory
        print(json.dumps(_memory_child(url, int(page_size), int(pages))))
    else:
        print(json.dumps(run(n=args.n), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])

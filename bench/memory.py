"""Peak memory of a push of 100k pending trips and of a pull of 50k costs.

Each measurement runs in a fresh child process (``python -m bench.memory --child ...``), so
nothing the parent allocated counts: not the fixture database built here, not the sandbox.
The sandbox server runs in *this* process on loopback and the child talks to it over HTTP;
the records it stores (100k deep copies) would otherwise be charged to the engine.

What is measured: resident set size. The child imports everything and opens the store, reads
its current RSS (the baseline: interpreter, libraries, an open SQLite connection), resets the
kernel's high-water mark, runs the job, then reads the high-water mark again. The row reports
peak minus baseline: the memory the job itself needed; the absolute peak is reported alongside.

RSS rather than tracemalloc: RSS is what the machine pays, including what tracemalloc cannot
see (SQLite's page cache and statement buffers, C-level buffers of the JSON and HTTP stacks),
and tracemalloc slows the run two- to threefold.

The high-water mark is ``VmHWM`` from ``/proc/self/status``, not ``getrusage().ru_maxrss``: on
Linux a child's ``ru_maxrss`` starts at its *parent's* peak (the kernel carries the old address
space's high-water mark across fork and exec), so a child of a 400 MB parent reports at least
400 MB whatever it does. ``VmHWM`` belongs to the child's own address space, and writing ``5``
to ``/proc/self/clear_refs`` resets it to the current RSS. Where ``/proc`` is missing (macOS),
``ru_maxrss`` is the fallback and the figure is an upper bound.

Targets (issues 4 and 7): push of 100k pending < 200 MB, pull of 50k costs < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.children import child_env, json_child

PUSH_TARGET_MB = 200
PULL_TARGET_MB = 150


# ----------------------------------------------------------------------------- the child
def _status_mb(field: str) -> float | None:
    """A ``Vm...`` line of /proc/self/status in MB (Linux), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 2**10  # kB
    except (OSError, IndexError, ValueError):
        pass
    return None


def _current_rss_mb() -> float:
    """Resident set size now, else the high-water mark so far."""
    current = _status_mb("VmRSS")
    return current if current is not None else peak_rss_mb()


def _reset_peak() -> bool:
    """Make the high-water mark start from the current RSS (Linux >= 4.0); False if not."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This address space's peak RSS: VmHWM, else ``ru_maxrss`` (an upper bound, see above)."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10


def _child_push(db: str, url: str, batch: int) -> dict[str, Any]:
    from bench import steps
    from bench.push import mileage_settings
    from sync.engine import SyncEngine
    from sync.settings import Settings
    from tracker.store import Tracker

    settings = Settings(home=Path(db).parent, mileage=mileage_settings(url, batch))
    with Tracker.open(db, timezone="UTC") as store:
        engine = SyncEngine(settings, store)
        baseline, reset = _current_rss_mb(), _reset_peak()
        start = time.perf_counter()
        report = steps.push(engine)
        seconds = time.perf_counter() - start
        engine.close()
        left = store.journal.counts().pending
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "seconds": seconds,
        "done": report.synced,
        "left": left,
        "peak_reset": reset,
    }


def _child_pull(db: str, url: str, page_size: int) -> dict[str, Any]:
    from bench import steps
    from sync.sandbox import DEFAULT_TOKEN
    from sync.settings import CostsSettings
    from tracker.store import Tracker

    cfg = CostsSettings(url=url, token=DEFAULT_TOKEN, page_size=page_size)
    with Tracker.open(db, timezone="UTC") as store:
        baseline, reset = _current_rss_mb(), _reset_peak()
        start = time.perf_counter()
        report = steps.pull(cfg, store)
        seconds = time.perf_counter() - start
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "seconds": seconds,
        "done": report.inserted + report.updated + report.unchanged,
        "left": 0 if report.complete else -1,
        "peak_reset": reset,
    }


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.memory --child")
    parser.add_argument("job", choices=["push", "pull"])
    parser.add_argument("db")
    parser.add_argument("url")
    parser.add_argument("size", type=int)
    args = parser.parse_args(argv)
    job = _child_push if args.job == "push" else _child_pull
    print(json.dumps(job(args.db, args.url, args.size)))


# ----------------------------------------------------------------------------- the parent
def _measure(job: str, db: Path, url: str, size: int) -> dict[str, Any]:
    env = child_env(TRACKER_HOME=str(db.parent))
    return json_child("bench.memory", "--child", job, str(db), url, str(size), env=env)


def memory_row(name: str, n: int, measured: dict[str, Any], target_mb: int) -> dict[str, Any]:
    """A benchmark row for a child's peak RSS above its after-imports baseline."""
    used = measured["peak_mb"] - measured["baseline_mb"]
    return {
        "name": name,
        "n": n,
        "unit": "MB",
        "ours": round(used, 1),
        "baseline": round(measured["baseline_mb"], 1),
        "ratio": round(used / target_mb, 2),
        "target": f"< {target_mb} MB above baseline (ratio = used / target)",
        "met": used < target_mb,
        "peak_rss_mb": round(measured["peak_mb"], 1),
        "seconds": round(measured["seconds"], 1),
        "done": measured["done"],
        "peak_from_baseline": measured["peak_reset"],
    }


def run_push(n: int = 100_000, batch: int = 100) -> dict[str, Any]:
    """Peak RSS growth of a child process pushing ``n`` pending trips over loopback."""
    from bench.push import make_pending_db
    from sync.sandbox import Sandbox, serve

    with tempfile.TemporaryDirectory(prefix="bench-mem-push-") as tmp:
        db = Path(tmp) / "tracker.db"
        make_pending_db(db, n)
        with serve(Sandbox(rate_limit=None)) as server:
            measured = _measure("push", db, server.tight_url, batch)
    if measured["done"] != n or measured["left"]:
        raise RuntimeError(f"push child synced {measured['done']} of {n}")
    return memory_row(
        f"peak memory, push of {n} pending trips (child RSS)", n, measured, PUSH_TARGET_MB
    )


def run_pull(n: int = 50_000, page_size: int = 100) -> dict[str, Any]:
    """Peak RSS growth of a child process pulling ``n`` costs."""
    from sync.sandbox import Sandbox, serve

    sb = Sandbox(rate_limit=None)
    sb.seed_costs(n, seed=7)
    with tempfile.TemporaryDirectory(prefix="bench-mem-pull-") as tmp:
        db = Path(tmp) / "tracker.db"
        with serve(sb) as server:
            measured = _measure("pull", db, server.costs_url, page_size)
    if measured["done"] != n or measured["left"]:
        raise RuntimeError(f"pull child stored {measured['done']} of {n}")
    return memory_row(f"peak memory, pull of {n} costs (child RSS)", n, measured, PULL_TARGET_MB)


def run(push_n: int = 100_000, pull_n: int = 50_000) -> list[dict[str, Any]]:
    """Both memory rows."""
    return [run_push(push_n), run_pull(pull_n)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        for row in run():
            print(row)

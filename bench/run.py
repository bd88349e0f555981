"""Run every benchmark, print one table and write ``bench/results.json``.

    .venv/bin/python bench/run.py            # full sizes (several minutes)
    .venv/bin/python bench/run.py --quick    # small sizes: a smoke run, numbers meaningless
    .venv/bin/python bench/run.py --markdown # also print the table as markdown (docs)

Every row compares against a baseline measured in the same run and says whether its target is
met. A benchmark that crashes becomes a "failed" row (the others still run) and the exit code
is 1. Unmet targets are reported, not turned into a failing exit code: timings are not a
pass/fail oracle.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # Run as a script, only bench/ itself is on the path; the bench.* modules need the root.
    sys.path.insert(0, str(REPO))

Row = dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    ingest_n: int
    ingest_repeats: int
    push_n: int
    push_repeats: int
    pull_n: int | None
    """Passed to bench/pull.py's ``run(n=...)`` when it takes ``n``; None: its own default."""
    memory_push_n: int
    memory_pull_n: int
    startup_repeats: int
    drain_n: int
    stress_batch: int
    stress_limit: int
    walk_n: int
    walk_repeats: int
    walk_windows: str
    """A key of ``bench.mileage_walk.WINDOWS``: the read->save window cases."""
    gpx_mib: float
    rewrite_n: int
    """Costs pulled twice by bench/costs_rewrite.py (pages written by the unchanged pull)."""
    big_store_n: int
    """Trips in the big store of bench/big_store.py (issue 15: ten years is ~100k)."""
    big_store_fixes: int
    """GPS fixes per trip of the big store (issue 15: 100 each, 10M in all)."""
    offline_n: int
    offline_cycles: int
    """Pending trips and offline sync runs of bench/offline.py (issue 15: 10k, 1,000)."""
    bulk_n: int
    """Trips added by bench/bulk.py (add_trips vs raw executemany, and the CSV import)."""
    shared_n: int
    shared_limit: int
    """bench/shared_budget.py: trips each of two processes pushes, and the rate limit."""
    waypoint_n: int
    """Fixes in the 0010 store that bench/waypoint_store.py measures and migrates."""
    report_n: int
    """Trips of the one-year report of bench/report.py (issue 14: 100k)."""
    fleet_n: int
    """Trips drained by 1 then 4 worker processes on PostgreSQL (bench/fleet.py, issue 17)."""


FULL = Sizes(
    ingest_n=200_000,
    ingest_repeats=3,
    push_n=20_000,
    push_repeats=2,
    pull_n=None,
    memory_push_n=100_000,
    memory_pull_n=50_000,
    startup_repeats=7,
    drain_n=10_000,
    stress_batch=5,
    stress_limit=1000,
    walk_n=10_000,
    walk_repeats=3,
    walk_windows="full",
    gpx_mib=49.0,
    rewrite_n=50_000,
    big_store_n=100_000,
    big_store_fixes=100,
    offline_n=10_000,
    offline_cycles=1000,
    bulk_n=100_000,
    shared_n=1500,
    shared_limit=1000,
    waypoint_n=1_000_000,
    report_n=100_000,
    fleet_n=2_000,
)
QUICK = Sizes(
    ingest_n=5_000,
    ingest_repeats=1,
    push_n=400,
    push_repeats=1,
    pull_n=400,
    memory_push_n=400,
    memory_pull_n=400,
    startup_repeats=1,
    drain_n=200,
    stress_batch=2,
    stress_limit=40,
    walk_n=300,
    walk_repeats=1,
    walk_windows="quick",
    gpx_mib=0.5,
    rewrite_n=2_000,
    big_store_n=5_000,
    big_store_fixes=10,
    offline_n=300,
    offline_cycles=30,
    bulk_n=2_000,
    shared_n=30,
    shared_limit=20,
    waypoint_n=20_000,
    report_n=2_000,
    fleet_n=100,
)


# ----------------------------------------------------------------------------- the benchmarks
def _ingest(s: Sizes) -> list[Row]:
    from bench import ingest

    row = ingest.run(n=s.ingest_n, repeats=s.ingest_repeats)
    # bench/ingest.py predates the common row shape; rename its two rate keys.
    row["ours"] = row.pop("ours_per_s")
    row["baseline"] = row.pop("baseline_per_s")
    row["unit"] = "rows/s"
    return [row]


def _push(s: Sizes) -> list[Row]:
    from bench import push

    return [push.run(n=s.push_n, batch=100, repeats=s.push_repeats)]


def _pull(s: Sizes) -> list[Row]:
    from bench import pull

    return [pull.run() if s.pull_n is None else pull.run(n=s.pull_n)]


def _memory(s: Sizes) -> list[Row]:
    from bench import memory

    return memory.run(push_n=s.memory_push_n, pull_n=s.memory_pull_n)


def _startup(s: Sizes) -> list[Row]:
    from bench import startup

    return startup.run(repeats=s.startup_repeats)


def _drain(s: Sizes) -> list[Row]:
    from bench import drain

    return [
        drain.run(n=s.drain_n, batch=100),
        # A batch small enough that the backlog needs several windows: the budget must wait.
        drain.run(n=s.drain_n, batch=s.stress_batch, limit=s.stress_limit),
    ]


def _walk(s: Sizes) -> list[Row]:
    from bench import mileage_walk

    return mileage_walk.run(n=s.walk_n, repeats=s.walk_repeats, windows=s.walk_windows)


def _gpx(s: Sizes) -> list[Row]:
    from bench import gpx_import

    return [gpx_import.run(mib=s.gpx_mib, compact=True)]


def _rewrite(s: Sizes) -> list[Row]:
    from bench import costs_rewrite

    return [costs_rewrite.run(n=s.rewrite_n)]


def _big_store(s: Sizes) -> list[Row]:
    from bench import big_store

    repeats = 3 if s.big_store_n >= 100_000 else 1
    return [
        *big_store.run(n=0, repeats=repeats),
        *big_store.run(n=s.big_store_n, fixes=s.big_store_fixes, repeats=repeats),
    ]


def _offline(s: Sizes) -> list[Row]:
    from bench import offline

    return [offline.run(n=s.offline_n, cycles=s.offline_cycles)]


def _bulk(s: Sizes) -> list[Row]:
    from bench import bulk

    return bulk.run(n=s.bulk_n, repeats=3 if s.bulk_n >= 10_000 else 1)


def _idle_sync(s: Sizes) -> list[Row]:
    from bench import idle_sync

    return [idle_sync.run(n=s.big_store_n, repeats=3 if s.big_store_n >= 100_000 else 1)]


def _shared_budget(s: Sizes) -> list[Row]:
    from bench import shared_budget

    return [shared_budget.run(n=s.shared_n, limit=s.shared_limit)]


def _waypoints(s: Sizes) -> list[Row]:
    from bench import waypoint_store

    return waypoint_store.run(n=s.waypoint_n)


def _report(s: Sizes) -> list[Row]:
    from bench import report

    return report.run(n=s.report_n)


def _fleet(s: Sizes) -> list[Row]:
    from bench import fleet

    return [fleet.run(n=s.fleet_n)]


BENCHMARKS: dict[str, Callable[[Sizes], list[Row]]] = {
    "ingest": _ingest,
    "push": _push,
    "pull": _pull,
    "memory": _memory,
    "startup": _startup,
    "drain": _drain,
    "walk": _walk,
    "gpx": _gpx,
    "rewrite": _rewrite,
    "big_store": _big_store,
    "offline": _offline,
    "bulk": _bulk,
    "shared_budget": _shared_budget,
    "idle_sync": _idle_sync,
    "waypoints": _waypoints,
    "report": _report,
    "fleet": _fleet,
}


# ----------------------------------------------------------------------------- running
def run_all(
    *, quick: bool = False, only: list[str] | None = None, out: Path | None = None
) -> dict[str, Any]:
    """Run the benchmarks (all, or ``only`` these), write ``out`` and return the results."""
    sizes = QUICK if quick else FULL
    rows: list[Row] = []
    for key, bench in BENCHMARKS.items():
        if only and key not in only:
            continue
        started = time.perf_counter()
        try:
            produced = bench(sizes)
        except Exception as err:
            produced = [
                {
                    "name": key,
                    "status": "failed",
                    "why": f"{type(err).__name__}: {err}",
                    "traceback": traceback.format_exc(),
                    "ours": None,
                    "baseline": None,
                    "ratio": None,
                    "target": "",
                    "met": None,
                }
            ]
        seconds = round(time.perf_counter() - started, 1)
        for row in produced:
            row.setdefault("status", "ok")
            row["bench"] = key
            row["bench_seconds"] = seconds
            rows.append(row)
    results = {
        "quick": quick,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {_cpus()} CPUs",
        "rows": rows,
    }
    if out is not None:
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def _cpus() -> int:
    return os.cpu_count() or 0


# ----------------------------------------------------------------------------- output
def _number(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    else:
        text = f"{int(value):,}"
    return f"{text} {unit}".strip()


def _met(row: Row) -> str:
    if row["status"] != "ok":
        return str(row["status"])
    return {True: "yes", False: "NO", None: "n/a"}[row["met"]]


def _cells(row: Row) -> list[str]:
    unit = row.get("unit", "")
    ratio = "-" if row.get("ratio") is None else f"{row['ratio']:g}"
    target = row.get("target") or row.get("why", "")
    return [
        row["name"],
        _number(row.get("ours"), unit),
        _number(row.get("baseline"), unit),
        ratio,
        target,
        _met(row),
    ]


HEADERS = ["benchmark", "ours", "baseline", "ratio", "target", "met"]


def table(rows: list[Row]) -> str:
    """A plain-text table for the terminal."""
    cells = [HEADERS, *[_cells(row) for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[Row]) -> str:
    """The same table as markdown, for docs/performance.md."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    args = parser.parse_args(argv)
    results = run_all(quick=args.quick, only=args.only, out=args.out)
    rows = results["rows"]
    print(table(rows))
    notes = [f"- {row['name']}: {row['note']}" for row in rows if row.get("note")]
    if notes:
        print("\n" + "\n".join(notes))
    if args.markdown:
        print()
        print(markdown(rows))
    for row in rows:
        if row["status"] == "failed":
            print(f"\n{row['name']} failed:\n{row['traceback']}", file=sys.stderr)
    print(f"\nwrote {args.out}")
    return 1 if any(row["status"] == "failed" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

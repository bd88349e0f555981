"""Reliability scorecard: run the fault campaigns, print the figures, write bench/scorecard.json.

    .venv/bin/python bench/scorecard.py                    # CI profile (a few minutes)
    .venv/bin/python bench/scorecard.py --profile nightly  # the long profile (hours)
    .venv/bin/python bench/scorecard.py --markdown         # the table as Markdown (docs)
    .venv/bin/python bench/scorecard.py -- -k a1           # extra pytest arguments

It runs ``pytest tests/reliability`` with ``TRACKER_RELIABILITY_PROFILE`` and
``TRACKER_SCORECARD_OUT`` set; each campaign records its figures (with denominators) before
it asserts, so a failing campaign still shows its numbers. Rows are numbered as in
:data:`SECTIONS`; rows that other tests or tools cover say where. docs/reliability.md
publishes the figures and what they mean.
Exit status: pytest's (0 only when every campaign passed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.children import child_env

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "scorecard.json"

#: The scorecard's rows, by number: what each is about.
SECTIONS = {
    1: "Random SIGKILLs during record + push (A1)",
    2: "Named crash points (A2; after_send is A3's server-applied-then-killed)",
    3: "Server applied the batch, client killed (A3)",
    4: "Concurrent pushers (F1)",
    5: "Transport faults (B)",
    6: "Malformed or wrong-shape answers (C6)",
    7: "Per-item results (C1-C5)",
    8: "Rate limit (C11, C13)",
    9: "Auth (C8-C9)",
    10: "Time to drain 10k pending under the budget",
    11: "Bad local input (V)",
    12: "Storage faults (E)",
    13: "Clock steps (G)",
    14: "Security (S)",
    15: "Dependency audit",
    16: "Two-way sync: random SIGKILLs while pulling and pushing, another client editing (A8)",
    17: "Two-way sync: daemon and tracker sync on one file, app and another client (F5)",
    18: "Hostile and odd servers through the tracker command (H)",
    19: "The once flaky daemon SIGKILL test, repeated in fresh processes (R)",
    20: "Fleet mode on PostgreSQL: workers SIGKILLed mid-batch (A1-PG)",
    21: "Fleet mode accounts: workers killed, every account's limit kept, turns (A1-ACCT)",
    22: "Fleet mode: concurrent pushers on one PostgreSQL store (F1-PG)",
    23: "Fleet mode: transport faults on a PostgreSQL store (B-PG)",
}

#: Rows no campaign here produces, and where they are covered instead.
ELSEWHERE = {
    3: "counted in A2 after_send: every kill leaves a stored batch that is reconciled "
    "(found, adopted) and re-sent as an update; stored twice 0",
    7: "tests/sync/test_push.py (207 mixed, DUPLICATE, poison items, give-up)",
    8: "tests/sync/test_push_edges.py::test_the_client_budget_prevents_429s; bench/drain.py; "
    "two processes on one file: tests/sync/test_shared_budget.py, bench/shared_budget.py",
    9: "tests/sync/test_push.py (expired token mid-run: re-minted once / stops, 0 further "
    "requests, attempts refunded); S1 here runs the 401 paths with a canary",
    10: "bench/drain.py (benchmarks)",
    15: "not run: pip-audit cannot reach a vulnerability database from this machine",
}


def run_campaigns(profile: str, out: Path, extra: list[str]) -> tuple[int, float]:
    env = child_env(TRACKER_RELIABILITY_PROFILE=profile, TRACKER_SCORECARD_OUT=str(out))
    command = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider"]
    started = time.monotonic()
    done = subprocess.run([*command, *extra], cwd=ROOT, env=env, check=False)
    return done.returncode, time.monotonic() - started


def table_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure, in section order; sections covered elsewhere get a pointer."""
    rows: list[dict[str, Any]] = []
    campaigns = doc.get("campaigns", {})
    for section in SECTIONS:
        found = sorted(
            (name, c) for name, c in campaigns.items() if int(c.get("section", 0)) == section
        )
        for name, campaign in found:
            for row in campaign["rows"]:
                rows.append({"section": section, "campaign": name, **row})
        if not found:
            where = ELSEWHERE.get(section, "not covered")
            rows.append(
                {
                    "section": section,
                    "campaign": "-",
                    "figure": SECTIONS[section],
                    "value": where,
                    "criterion": "-",
                    "ok": None,
                }
            )
    return rows


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "pass" if ok else "FAIL"


def render(rows: list[dict[str, Any]], markdown: bool) -> str:
    header = ["#", "figure", "value", "pass if", "result"]
    cells = [
        [str(r["section"]), r["figure"], r["value"], r["criterion"], _verdict(r["ok"])]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [min(70, max(len(row[i]) for row in [header, *cells])) for i in range(len(header))]

    def fit(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for row in cells:
        out.append("  ".join(fit(c, w).ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["ci", "nightly"], default="ci")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--output", type=Path, default=OUT, help="JSON file to write")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "figures.json"
        code, seconds = run_campaigns(args.profile, figures, args.pytest_args)
        doc: dict[str, Any] = json.loads(figures.read_text()) if figures.exists() else {}
    rows = table_rows(doc)
    failed = [r for r in rows if r["ok"] is False]
    result = {
        "profile": args.profile,
        "seed": doc.get("seed"),
        "command": f"bench/scorecard.py --profile {args.profile}",
        "pytest_exit": code,
        "seconds": round(seconds, 1),
        "passed": code == 0 and not failed,
        "rows": rows,
        "campaigns": doc.get("campaigns", {}),
    }
    args.output.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    print()
    print(f"Reliability scorecard ({args.profile} profile, {seconds:.0f} s, pytest exit {code})")
    print(render(rows, args.markdown))
    print()
    print(f"{len(failed)} figure(s) failing; written to {args.output}")
    return code


if __name__ == "__main__":
    sys.exit(main())

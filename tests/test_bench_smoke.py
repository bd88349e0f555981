"""The benchmark runner, small: every row runs and yields numbers and a verdict.

Not a performance test: the targets are not asserted (timings on a shared CI machine are no
oracle); ``bench/run.py`` without ``--quick`` measures them. This keeps the benchmarks from
rotting: a renamed API or a broken fixture fails here, in the default run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.run import BENCHMARKS, run_all

pytestmark = pytest.mark.slow  # real processes and waits: the full run only

REPORT_ONLY = "reported only"


def test_quick_run_produces_every_row(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    results = run_all(quick=True, out=out)
    rows = results["rows"]

    assert {row["bench"] for row in rows} == set(BENCHMARKS)
    for row in rows:
        assert row["status"] == "ok", row.get("traceback", row)
        for key in ("ours", "baseline", "ratio"):
            value = row[key]
            assert isinstance(value, int | float) and not isinstance(value, bool), (key, row)
            assert math.isfinite(value), (key, row)
        if REPORT_ONLY in row["target"]:
            assert row["met"] is None
        else:
            assert isinstance(row["met"], bool), row
    assert json.loads(out.read_text()) == json.loads(json.dumps(results, default=str))

"""A one-year mileage log of ``n`` trips as CSV (issue 14): ``tracker.report`` (streamed rows,
each trip priced as the deduction on the wire, totals, cells defused) against a bare
``sqlite3`` SELECT plus ``csv.writer`` producing the same rows (the same cells, checked equal),
in the same child process; and that child's peak RSS above its baseline while the report is
written (memory flat: rows are streamed, never held).

Trips: ``n`` in 2023, in miles, under ``us-irs`` (65.5 c a mile), mostly business, some
personal and a few to classify, each with a purpose and a customer; one in a hundred edited
afterwards (its distance corrected), so the log's edited columns have something to say.

    .venv/bin/python -m bench.report [N]

Targets: ours >= 0.5x the bare loop's speed; < 60 MB above the baseline.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from bench.children import child_env, json_child
from bench.memory import memory_row

TARGET = 0.5
TARGET_MB = 60
RATE = Decimal("0.655")
CENT = Decimal("0.01")


def _trips(n: int) -> list[dict[str, Any]]:
    first = date(2023, 1, 1)
    kinds = ("business",) * 7 + ("personal", "personal", "unclassified")
    return [
        {
            "date": (first + timedelta(days=(i * 365) // n)).isoformat(),
            "distance": f"{(i % 80) + 1}.{i % 10}",
            "unit": "mile",
            "classification": kinds[i % 10],
            "description": f"client visit {i}" if i % 50 else f"=visit {i}",
            "customer_id": f"cus_{i % 40:04d}",
        }
        for i in range(n)
    ]


# The bare loop: the same columns, the same two queries (classified, then to classify), with
# how the trip was recorded and its field-changing links (the report's subqueries).
_SQL = (
    "SELECT t.date, t.description, t.customer_id, t.car_id, t.classification, t.distance, "
    "t.distance_unit, t.created_at, t.timezone, t.id, "
    "(SELECT CASE WHEN e.event = 'recorded' THEN e.detail END FROM journal_event AS e "
    "WHERE e.trip_id = t.id AND e.hash IS NOT NULL ORDER BY e.id LIMIT 1), "
    "(SELECT json_group_array(json_array(e.id, e.at, json(e.changes))) "
    "FROM journal_event AS e WHERE e.trip_id = t.id AND e.hash IS NOT NULL "
    "AND e.changes IS NOT NULL AND e.changes <> '{}' "
    "AND e.event NOT IN ('chain started', 'pulled', 'recorded', 'stopped')) "
    "FROM trip AS t "
    "WHERE coalesce(t.date, '') >= ? AND coalesce(t.date, '') <= ? "
    "AND t.lifecycle = 'active' AND t.status = 'complete' "
    "AND (t.classification = 'unclassified') = ? "
    "ORDER BY coalesce(t.date, ''), coalesce(t.start_time, ''), t.id"
)


def _text(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def bare(db: str, out: Path) -> int:
    """The baseline: rows as ``tracker report`` writes them, from plain sqlite3 and csv."""
    conn = sqlite3.connect(db)
    rows = 0
    with out.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        for apart in (0, 1):
            for (
                day, text, customer, car, kind, dist, unit, made, _zone, trip_id, said, edits
            ) in conn.execute(_SQL, ("2023-01-01", "2023-12-31", apart)):  # fmt: skip
                business = kind == "business"
                amount = (
                    (Decimal(dist) * RATE).quantize(CENT, ROUND_HALF_UP)
                    if business
                    else (None if kind == "unclassified" else Decimal("0.00"))
                )
                created = datetime.fromisoformat(made)
                ended = datetime.combine(
                    date.fromisoformat(day) + timedelta(days=1), datetime.min.time(), UTC
                )
                lag = created - ended
                after = (
                    "on the day"
                    if timedelta(days=-1) < lag <= timedelta(0)
                    else f"{lag.days} days later"
                )
                edited, last, changed = "no", "", ""
                if edits != "[]":  # the bench edits distances only
                    links = sorted(json.loads(edits))
                    old, new = links[0][2]["distance"][0], links[-1][2]["distance"][1]
                    edited, changed = "yes", f"distance {old} -> {new}"
                    last = datetime.fromisoformat(links[-1][1]).isoformat(timespec="seconds")
                writer.writerow(
                    [day, "", "", _text(text or ""), _text(customer or ""), _text(car or ""), kind,
                     dist, unit, "0.655" if business else "", "" if amount is None else str(amount),
                     "USD", "", said or "entered by hand", created.isoformat(timespec="seconds"),
                     after, edited, last, changed, trip_id]
                )  # fmt: skip
                rows += 1
    conn.close()
    return rows


def _child(db: str, folder: str) -> dict[str, Any]:
    import tracker.report.read  # noqa: F401 (loaded before the clock, as the bare loop's are)
    from bench.memory import _current_rss_mb, _reset_peak, peak_rss_mb
    from tracker.report.renderers import render
    from tracker.store import Tracker

    ours_csv, bare_csv = Path(folder) / "ours.csv", Path(folder) / "bare.csv"
    with Tracker.open(db, timezone="UTC") as store:
        baseline, reset = _current_rss_mb(), _reset_peak()
        start = time.perf_counter()
        with ours_csv.open("wb") as out:
            render(store.report(jurisdiction="us-irs", year=2023), "csv", out)
        ours = time.perf_counter() - start
        peak = peak_rss_mb()
    start = time.perf_counter()
    rows = bare(db, bare_csv)
    base = time.perf_counter() - start
    # The same rows: ours has a blank line and a title before the trips to classify, and the
    # totals after them; the trips' lines are the same text.
    ours_rows = [
        line for line in ours_csv.read_text(encoding="utf-8-sig").split("\r\n")[1:]
        if line.count(",") >= 19
    ]  # fmt: skip
    same = ours_rows == bare_csv.read_text(encoding="utf-8-sig").split("\r\n")[:-1]
    return {
        "ours_s": ours,
        "seconds": ours,
        "done": rows,
        "bare_s": base,
        "rows": rows,
        "same_rows": same,
        "baseline_mb": baseline,
        "peak_mb": peak,
        "peak_reset": reset,
        "file_mb": round(ours_csv.stat().st_size / 2**20, 1),
    }


def _edit_some(store: Any) -> None:
    """One trip in a hundred gets its distance corrected (its history then has an edit)."""
    for trip in store.trips.list()[::100]:
        store.trips.edit(trip.id, {"distance": str(trip.distance + 1)})


def run(n: int = 100_000) -> list[dict[str, Any]]:
    """Build a store of ``n`` trips of 2023 and measure its report in a child."""
    from tracker.store import Tracker

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        db = Path(tmp) / "tracker.db"
        with Tracker.open(db, timezone="UTC") as store:
            store.add_trips(_trips(n), chunk_size=10_000)
            _edit_some(store)
        measured = json_child(
            "bench.report", "--child", str(db), tmp, env=child_env(TRACKER_HOME=tmp)
        )
    if measured["rows"] != n or not measured["same_rows"]:
        raise RuntimeError(f"the bare loop did not produce the report's rows: {measured}")
    ratio = measured["bare_s"] / measured["ours_s"]
    speed = {
        "name": f"one-year report of {n} trips as CSV vs bare sqlite3 + csv.writer",
        "n": n,
        "unit": "s",
        "ours": round(measured["ours_s"], 3),
        "baseline": round(measured["bare_s"], 3),
        "ratio": round(ratio, 2),
        "target": f">= {TARGET}x the bare loop's speed (ratio = bare time / ours)",
        "met": ratio >= TARGET,
        "file_mb": measured["file_mb"],
    }
    memory = memory_row(
        f"peak memory, one-year report of {n} trips (child RSS)", n, measured, TARGET_MB
    )
    return [speed, memory]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(_child(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))

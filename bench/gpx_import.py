"""Peak memory and time of importing one large GPX file (issue 13, finding 11c).

The parent writes a 1 Hz drive (one ``<trk>``, hundreds of thousands of ``<trkpt>`` with
``<hdop>`` and a Garmin ``gpxtpx:speed``) of about ``mib`` MiB into a temp folder, then a
fresh child process (``python -m bench.gpx_import --child ...``) opens an empty store, takes
its RSS as the baseline (interpreter, libraries, the GPX reader imported, an open SQLite
connection), resets the high-water mark and imports the file. The row reports peak minus
baseline; see bench/memory.py for why RSS and ``VmHWM``.

    python -m bench.gpx_import            # the 49 MiB file
    python -m bench.gpx_import --mib 2    # smaller

Target: < 150 MB above the baseline for the 49 MiB file, i.e. memory that does not grow with
the file (the whole-tree parse of gpxpy needed 563-751 MB here).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.children import child_env, json_child
from bench.memory import memory_row

TARGET_MB = 150

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="bench" xmlns="http://www.topografix.com/GPX/1/1"'
    ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">\n'
    "<trk><name>long drive</name><trkseg>\n"
)
_TAIL = "</trkseg></trk>\n</gpx>\n"


def write_gpx(path: Path, mib: float, *, compact: bool = False) -> int:
    """Write a 1 Hz track of about ``mib`` MiB to ``path``; return its number of points.

    ``compact``: only position, time and HDOP (~120 bytes a point, as a phone logger writes),
    so the same size holds almost twice the points; else also ``<ele>`` and a Garmin speed.
    """
    limit = int(mib * 2**20) - len(_TAIL)
    start = datetime(2024, 5, 14, 6, 0, tzinfo=UTC)
    lat, lng = 40.0, 9.0
    points = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(_HEAD)
        written = len(_HEAD)
        lines: list[str] = []
        while True:
            # ~17 m/s north-east with a little wobble: every point survives the track filter,
            # and 500,000 of them stay below the pole.
            lat += 0.00006 + (points % 7) * 1e-6
            lng += 0.00020 - (points % 5) * 1e-6
            stamp = (start + timedelta(seconds=points)).strftime("%Y-%m-%dT%H:%M:%SZ")
            hdop = f"<hdop>{0.8 + (points % 9) / 10:.1f}</hdop>"
            if compact:
                line = (
                    f'<trkpt lat="{lat:.7f}" lon="{lng:.7f}"><time>{stamp}</time>{hdop}</trkpt>\n'
                )
            else:
                line = (
                    f'<trkpt lat="{lat:.7f}" lon="{lng:.7f}"><ele>{400 + points % 50}.0</ele>'
                    f"<time>{stamp}</time>{hdop}<extensions><gpxtpx:TrackPointExtension>"
                    f"<gpxtpx:speed>{24.5 + (points % 11) / 10:.2f}</gpxtpx:speed>"
                    "</gpxtpx:TrackPointExtension></extensions></trkpt>\n"
                )
            if written + len(line) > limit:
                break
            lines.append(line)
            written += len(line)
            points += 1
            if len(lines) == 10_000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines) + _TAIL)
    return points


# ----------------------------------------------------------------------------- the child
def _child(db: str, gpx: str) -> dict[str, Any]:
    from bench.memory import _current_rss_mb, _reset_peak, peak_rss_mb
    from tracker import gpx as _reader  # noqa: F401  (imported before the baseline)
    from tracker.store import Tracker

    with Tracker.open(db, timezone="UTC") as store:
        baseline, reset = _current_rss_mb(), _reset_peak()
        start = time.perf_counter()
        trips = store.trips.import_gpx(Path(gpx))
        seconds = time.perf_counter() - start
        stored = sum(store.trips.waypoint_count(t.id) for t in trips)
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "seconds": seconds,
        "done": stored,
        "peak_reset": reset,
    }


# ----------------------------------------------------------------------------- the parent
def run(mib: float = 49.0, *, compact: bool = False) -> dict[str, Any]:
    """Import a generated ``mib`` MiB GPX file in a child; one benchmark row."""
    with tempfile.TemporaryDirectory(prefix="bench-gpx-") as tmp:
        gpx = Path(tmp) / "drive.gpx"
        points = write_gpx(gpx, mib, compact=compact)
        size_mib = round(gpx.stat().st_size / 2**20, 1)
        db = Path(tmp) / "tracker.db"
        env = child_env(TRACKER_HOME=tmp)
        measured = json_child("bench.gpx_import", "--child", str(db), str(gpx), env=env)
    if measured["done"] != points:
        raise RuntimeError(f"the import stored {measured['done']} of {points} points")
    name = f"peak memory, GPX import of {size_mib:g} MiB ({points} points, child RSS)"
    return {**memory_row(name, points, measured, TARGET_MB), "file_mib": size_mib}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(_child(sys.argv[2], sys.argv[3])))
    else:
        parser = argparse.ArgumentParser(prog="bench.gpx_import")
        parser.add_argument("--mib", type=float, default=49.0)
        parser.add_argument("--compact", action="store_true", help="~120 bytes a point")
        args = parser.parse_args()
        print(json.dumps(run(args.mib, compact=args.compact)))

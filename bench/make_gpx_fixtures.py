"""Generate the GPX fixtures in ``fixtures/gpx/`` and their known lengths, reproducibly.

Usage (from the repository root)::

    .venv/bin/python bench/make_gpx_fixtures.py          # rewrite fixtures/gpx/*.gpx, print table
    .venv/bin/python bench/make_gpx_fixtures.py --check  # exit 1 if a file on disk differs

There is no network here, so the tracks are synthetic: for each scenario a hand-drawn polyline
of plausible road (or sea-lane) coordinates is smoothed into a dense "true path"; a simulated
vehicle drives it with a speed profile (cruise speed, traffic-light stops, braking); a
simulated receiver records it every few seconds with slowly drifting position noise (a
first-order autoregressive process, as real GNSS error is correlated in time), and then known
faults are injected: poor fixes (high HDOP, far off), a single GPS spike, a stale first fix, a
signal gap that starts a new ``<trkseg>``. Every random draw comes from ``random.Random(seed)``
of its scenario, so the output is byte-for-byte the same on every run.

The known lengths are computed here, independently of ``tracker.geo``: geodesic lengths on the
WGS-84 ellipsoid with GeographicLib (Karney's algorithm), not haversine on a sphere.

* ``true_m``: length of the dense true path, before any noise.
* ``expected_m``: length through the fixes as written to the file (after rounding to 7
  decimals), leaving out exactly the injected faults, i.e. what a correct filter keeps.

``tests/tracker/test_gpx.py`` asserts that ``tracker.geo``'s length of the filtered track
matches ``expected_m`` within 1e-6 (both are WGS-84 geodesics) and that the counts of dropped
fixes equal the injected faults. ``fixtures/README.md`` holds the table this script prints.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

try:
    from geographiclib.geodesic import Geodesic  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - a message beats a traceback for a dev tool
    sys.exit("make_gpx_fixtures needs geographiclib: .venv/bin/pip install geographiclib")

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "fixtures" / "gpx"
WGS84 = Geodesic.WGS84
EARTH_R = 6_371_000.0  # only for turning noise metres into degrees
DENSE_STEP_M = 5.0


@dataclass
class Scenario:
    """One fixture file: where, when, how the vehicle moves and how the receiver records."""

    file: str
    title: str
    shows: str
    creator: str
    seed: int
    vertices: list[tuple[float, float]]  # (lat, lng); lng may exceed 180 to stay continuous
    start_local: datetime  # aware, in the trip's zone
    interval_s: int
    cruise_kmh: float
    base_ele: float
    stops: list[tuple[float, int]] = field(default_factory=list)  # (fraction of path, seconds)
    stationary_s: int = 0  # > 0: the vehicle does not move at all for this long
    noise_sigma_m: float = 2.0
    noise_tau_s: float = 40.0
    poor_fixes: list[int] = field(default_factory=list)  # fix indexes recorded with high HDOP
    spikes: list[int] = field(default_factory=list)  # fix indexes thrown hundreds of metres off
    stale_first_m: float = 0.0  # > 0: a stale first fix this far away, stamped with start time
    gap: tuple[int, int] | None = None  # fix indexes [a, b) lost; a new <trkseg> starts at b
    dop: str = "hdop"  # "hdop" or "pdop": which dilution element the recorder writes
    speed_ext: str | None = "gpxtpx"  # "gpxtpx", "plain" or None
    local_offsets: bool = False  # write <time> with the local UTC offset instead of Z


SCENARIOS = [
    Scenario(
        file="city_commute_berlin.gpx",
        title="Morning commute Prenzlauer Berg - Neukoelln",
        shows="1 Hz city driving with traffic-light stops, 6 poor-HDOP fixes, one GPS spike, "
        "a 40 s signal gap (two trkseg)",
        creator="trip-tracker fixture generator (GPSLogger-style 1 Hz log)",
        seed=20240514,
        vertices=[
            (52.53650, 13.41760),  # Kollwitzplatz
            (52.53420, 13.41260),  # Knaackstrasse / Prenzlauer Allee
            (52.52900, 13.41600),  # Prenzlauer Allee south
            (52.52640, 13.41980),  # Mollstrasse
            (52.52180, 13.42700),  # Otto-Braun-Strasse
            (52.51830, 13.42830),  # Strausberger Platz
            (52.51700, 13.44000),  # Karl-Marx-Allee
            (52.51570, 13.45410),  # Frankfurter Tor
            (52.51120, 13.45220),  # Warschauer Strasse
            (52.50800, 13.45000),
            (52.50180, 13.44550),  # Oberbaumbruecke
            (52.50100, 13.44200),  # Schlesisches Tor
            (52.49930, 13.42830),  # Goerlitzer Bahnhof
            (52.49910, 13.41810),  # Kottbusser Tor
            (52.49370, 13.42150),  # Kottbusser Damm
            (52.48690, 13.42470),  # Hermannplatz
            (52.47600, 13.42700),  # Hermannstrasse
            (52.46750, 13.43050),  # Hermannstrasse / Ringbahn
        ],
        start_local=datetime(2024, 5, 14, 7, 42, 10, tzinfo=ZoneInfo("Europe/Berlin")),
        interval_s=1,
        cruise_kmh=42.0,
        base_ele=38.0,
        stops=[
            (0.06, 25),
            (0.17, 38),
            (0.31, 30),
            (0.44, 22),
            (0.52, 45),
            (0.63, 31),
            (0.71, 18),
            (0.83, 40),
            (0.93, 27),
        ],
        poor_fixes=[311, 312, 313, 905, 906, 1302],
        spikes=[640],
        gap=(1080, 1120),
    ),
    Scenario(
        file="motorway_a9_midnight.gpx",
        title="A9 Munich - Nuremberg, late evening",
        shows="motorway at ~125 km/h every 5 s, starts 23:14 CET and ends after local "
        "midnight (trip date stays 2024-01-12), 2 poor-HDOP fixes under bridges",
        creator="trip-tracker fixture generator (car-logger-style 0.2 Hz log)",
        seed=20240112,
        vertices=[
            (48.18500, 11.60300),  # Muenchen-Schwabing
            (48.21700, 11.62500),
            (48.25300, 11.63700),  # Garching
            (48.29900, 11.63300),  # Eching
            (48.32600, 11.65000),  # Kreuz Neufahrn
            (48.42900, 11.59600),  # Allershausen
            (48.52700, 11.52200),  # Pfaffenhofen
            (48.60100, 11.50100),  # Langenbruck
            (48.70200, 11.48900),  # Manching
            (48.73100, 11.46400),  # Ingolstadt-Sued
            (48.79900, 11.42600),  # Ingolstadt-Nord
            (48.86000, 11.44800),
            (48.92900, 11.46200),  # Denkendorf
            (48.98000, 11.42000),  # Altmuehltal
            (49.04800, 11.34400),  # Greding
            (49.11500, 11.29000),
            (49.17600, 11.23600),  # Hilpoltstein
            (49.24500, 11.22500),  # Allersberg
            (49.31000, 11.21000),
            (49.37000, 11.20300),  # Feucht
            (49.41200, 11.18000),  # Nuernberg-Fischbach
        ],
        start_local=datetime(2024, 1, 12, 23, 14, 5, tzinfo=ZoneInfo("Europe/Berlin")),
        interval_s=5,
        cruise_kmh=125.0,
        base_ele=420.0,
        noise_sigma_m=2.5,
        noise_tau_s=60.0,
        poor_fixes=[233, 701],
    ),
    Scenario(
        file="dst_fallback_hamburg_bremen.gpx",
        title="A1 Hamburg - Bremen during the DST change",
        shows="night drive 02:20 CEST -> 02:23 CET on 2024-10-27 (63 min, though the wall "
        "clock moves 3 min); times written with local offsets +02:00/+01:00; 1 poor fix; "
        "no speed element",
        creator="trip-tracker fixture generator (tracker-app-style log with local offsets)",
        seed=20241027,
        vertices=[
            (53.46200, 9.98000),  # Hamburg-Harburg
            (53.40800, 9.93000),
            (53.35600, 9.87000),  # Buchholzer Dreieck
            (53.37000, 9.72000),  # Hollenstedt
            (53.32500, 9.62000),
            (53.28300, 9.51500),  # Sittensen
            (53.21800, 9.32000),  # Bockel
            (53.14800, 9.25600),
            (53.09500, 9.13000),
            (53.05500, 9.02500),  # Oyten
            (53.06000, 8.95000),  # Bremer Kreuz
            (53.04500, 8.90000),  # Bremen-Hemelingen
        ],
        start_local=datetime(2024, 10, 27, 2, 20, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        interval_s=10,
        cruise_kmh=88.0,
        base_ele=15.0,
        noise_sigma_m=2.5,
        noise_tau_s=60.0,
        poor_fixes=[150],
        speed_ext=None,
        local_offsets=True,
    ),
    Scenario(
        file="parked_car_jitter.gpx",
        title="Parked in a garage, app left recording",
        shows="0 km trip: 6 min stationary every 5 s with position jitter, a stale first fix "
        "1.3 km away (first-fix outlier), 3 poor-HDOP fixes inside the garage",
        creator="trip-tracker fixture generator (OsmAnd-style 0.2 Hz log)",
        seed=20240603,
        vertices=[(48.14020, 11.56110)],  # Munich, near Hauptbahnhof
        start_local=datetime(2024, 6, 3, 17, 5, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        interval_s=5,
        cruise_kmh=0.0,
        base_ele=519.0,
        stationary_s=360,
        noise_sigma_m=1.5,
        noise_tau_s=120.0,
        poor_fixes=[20, 21, 40],
        stale_first_m=1300.0,
    ),
    Scenario(
        file="ferry_taveuni_antimeridian.gpx",
        title="Ferry Buca Bay (Vanua Levu) - Waiyevo (Taveuni), Fiji",
        shows="sea crossing of the 180th meridian (lng 179.99 -> -179.99) every 5 s, "
        "accuracy from <pdop> only, speed in a plain <extensions><speed>, 2 poor fixes, "
        "one spike; local 08:30 FJT is the previous day in UTC",
        creator="trip-tracker fixture generator (OsmAnd-style log, PDOP only)",
        seed=20240715,
        vertices=[
            (-16.71700, 179.86700),  # Natuvu jetty, Buca Bay
            (-16.72600, 179.88000),
            (-16.74000, 179.90300),  # leaving the bay
            (-16.75500, 179.93500),
            (-16.76600, 179.96500),  # Somosomo Strait
            (-16.77600, 179.99200),
            (-16.78300, 180.00800),  # the 180th meridian lies just west of here
            (-16.78800, 180.01600),
            (-16.79000, 180.02100),  # Waiyevo wharf, Taveuni (lng -179.979)
        ],
        start_local=datetime(2024, 7, 15, 8, 30, 0, tzinfo=ZoneInfo("Pacific/Fiji")),
        interval_s=5,
        cruise_kmh=24.0,
        base_ele=2.0,
        stops=[],
        noise_sigma_m=3.0,
        noise_tau_s=50.0,
        poor_fixes=[77, 78],
        spikes=[333],
        dop="pdop",
        speed_ext="plain",
    ),
]


# ------------------------------------------------------------------------ the true path


def _catmull_rom(points: list[tuple[float, float]], step_m: float) -> list[tuple[float, float]]:
    """Smooth the hand-drawn vertices into a dense path (roads curve, they do not kink)."""
    if len(points) < 2:
        return list(points)
    ext = [points[0], *points, points[-1]]
    dense: list[tuple[float, float]] = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        seg = WGS84.Inverse(p1[0], p1[1], p2[0], p2[1])["s12"]
        n = max(1, math.ceil(seg / step_m))
        for k in range(n):
            t = k / n
            t2, t3 = t * t, t * t * t
            lat = 0.5 * (
                2 * p1[0]
                + (-p0[0] + p2[0]) * t
                + (2 * p0[0] - 5 * p1[0] + 4 * p2[0] - p3[0]) * t2
                + (-p0[0] + 3 * p1[0] - 3 * p2[0] + p3[0]) * t3
            )
            lng = 0.5 * (
                2 * p1[1]
                + (-p0[1] + p2[1]) * t
                + (2 * p0[1] - 5 * p1[1] + 4 * p2[1] - p3[1]) * t2
                + (-p0[1] + 3 * p1[1] - 3 * p2[1] + p3[1]) * t3
            )
            dense.append((lat, lng))
    dense.append(points[-1])
    return dense


def _cumulative(path: list[tuple[float, float]]) -> list[float]:
    out = [0.0]
    for a, b in itertools.pairwise(path):
        out.append(out[-1] + WGS84.Inverse(a[0], a[1], b[0], b[1])["s12"])
    return out


def _at(path: list[tuple[float, float]], cum: list[float], s: float) -> tuple[float, float]:
    """Point at distance ``s`` along the path (linear between 5 m nodes)."""
    s = min(max(s, 0.0), cum[-1])
    lo, hi = 0, len(cum) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cum[mid] <= s:
            lo = mid
        else:
            hi = mid
    span = cum[hi] - cum[lo]
    f = 0.0 if span == 0 else (s - cum[lo]) / span
    a, b = path[lo], path[hi]
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


# ------------------------------------------------------------------------ the drive


@dataclass
class Sample:
    t: int  # seconds since start
    lat: float
    lng: float
    speed: float  # true speed, m/s
    ele: float


def _drive(
    sc: Scenario, rng: random.Random, path: list[tuple[float, float]], cum: list[float]
) -> list[Sample]:
    """Simulate the vehicle second by second; return one true sample per recorded fix."""
    total = cum[-1]
    samples: list[Sample] = []
    if sc.stationary_s:
        lat, lng = path[0]
        for t in range(0, sc.stationary_s + 1, sc.interval_s):
            samples.append(Sample(t, lat, lng, 0.0, sc.base_ele))
        return samples

    cruise = sc.cruise_kmh / 3.6
    accel, brake = 1.8, 2.5
    stops = sorted((frac * total, dur) for frac, dur in sc.stops)
    s, v, t = 0.0, 0.0, 0
    wander = 0.0
    waiting = 0
    while True:
        if t % sc.interval_s == 0:
            lat, lng = _at(path, cum, s)
            ele = sc.base_ele + 6.0 * math.sin(s / 1800.0) + 2.5 * math.sin(s / 370.0)
            samples.append(Sample(t, lat, lng, v, ele))
        if s >= total - 0.01 and v < 0.01:
            break
        t += 1
        if waiting:
            waiting -= 1
            continue
        # Drivers wander around the cruise speed; the wander is smooth (AR(1)).
        wander = 0.98 * wander + rng.gauss(0.0, 0.02)
        target = cruise * (1.0 + max(-0.35, min(0.25, wander)))
        next_stop = stops[0][0] if stops else total
        target = min(target, math.sqrt(2.0 * brake * max(0.0, next_stop - s)))
        v = min(target, v + accel) if target > v else max(target, v - brake)
        s = min(s + v, next_stop)
        if stops and s >= next_stop - 0.5 and v < 1.0:
            s, v = next_stop, 0.0
            waiting = stops.pop(0)[1]
        elif not stops and s >= total - 0.5 and v < 1.0:
            s, v = total, 0.0
    return samples


# ------------------------------------------------------------------------ the receiver


@dataclass
class Fix:
    t: int
    lat: str
    lng: str
    ele: str
    sat: int
    dop: str
    speed: str
    injected: bool
    segment: int


def _offset(lat: float, lng: float, north: float, east: float) -> tuple[float, float]:
    dlat = math.degrees(north / EARTH_R)
    dlng = math.degrees(east / (EARTH_R * math.cos(math.radians(lat))))
    return lat + dlat, lng + dlng


def _fmt_coord(value: float, wrap: bool) -> str:
    if wrap and value > 180.0:
        value -= 360.0
    return f"{value:.7f}"


def _record(sc: Scenario, rng: random.Random, samples: list[Sample]) -> list[Fix]:
    rho = math.exp(-sc.interval_s / sc.noise_tau_s)
    innov = sc.noise_sigma_m * math.sqrt(1.0 - rho * rho)
    north = rng.gauss(0.0, sc.noise_sigma_m)
    east = rng.gauss(0.0, sc.noise_sigma_m)
    fixes: list[Fix] = []
    if sc.stale_first_m:
        bearing = rng.uniform(0.0, 2.0 * math.pi)
        first = samples[0]
        lat, lng = _offset(
            first.lat,
            first.lng,
            sc.stale_first_m * math.cos(bearing),
            sc.stale_first_m * math.sin(bearing),
        )
        fixes.append(_fix(sc, rng, first.t, lat, lng, first.ele, 0.0, good=True, injected=True))
        samples = [Sample(x.t + sc.interval_s, x.lat, x.lng, x.speed, x.ele) for x in samples]
    segment = 0
    for index, smp in enumerate(samples):
        north = rho * north + rng.gauss(0.0, innov)
        east = rho * east + rng.gauss(0.0, innov)
        lat, lng = _offset(smp.lat, smp.lng, north, east)
        if sc.gap and sc.gap[0] <= index < sc.gap[1]:
            continue
        if sc.gap and index == sc.gap[1]:
            segment = 1
        injected = False
        good = True
        if index in sc.poor_fixes:
            # A fix the receiver itself flags as poor is usually far off too.
            dist = rng.uniform(60.0, 220.0)
            bearing = rng.uniform(0.0, 2.0 * math.pi)
            lat, lng = _offset(lat, lng, dist * math.cos(bearing), dist * math.sin(bearing))
            injected, good = True, False
        elif index in sc.spikes:
            dist = rng.uniform(400.0, 900.0)
            bearing = rng.uniform(0.0, 2.0 * math.pi)
            lat, lng = _offset(lat, lng, dist * math.cos(bearing), dist * math.sin(bearing))
            injected = True
        fix = _fix(sc, rng, smp.t, lat, lng, smp.ele, smp.speed, good=good, injected=injected)
        fix.segment = segment
        fixes.append(fix)
    return fixes


def _fix(
    sc: Scenario,
    rng: random.Random,
    t: int,
    lat: float,
    lng: float,
    ele: float,
    speed: float,
    *,
    good: bool,
    injected: bool,
) -> Fix:
    if good:
        hdop = rng.uniform(0.7, 1.8)
        sat = rng.randint(8, 14)
    else:
        hdop = rng.uniform(12.0, 30.0)
        sat = rng.randint(3, 5)
    dop = hdop if sc.dop == "hdop" else math.hypot(hdop, 1.4 * hdop)
    return Fix(
        t=t,
        lat=_fmt_coord(lat, wrap=True),
        lng=_fmt_coord(lng, wrap=True),
        ele=f"{ele + rng.gauss(0.0, 1.5 if good else 8.0):.1f}",
        sat=sat,
        dop=f"{dop:.1f}",
        speed=f"{max(0.0, speed + rng.gauss(0.0, 0.15)):.2f}",
        injected=injected,
        segment=0,
    )


# ------------------------------------------------------------------------ the file


def _time(sc: Scenario, t: int) -> str:
    when = sc.start_local.astimezone(UTC) + timedelta(seconds=t)
    if sc.local_offsets:
        local = when.astimezone(sc.start_local.tzinfo)
        return local.isoformat()
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _render(sc: Scenario, fixes: list[Fix]) -> str:
    ns = ""
    if sc.speed_ext == "gpxtpx":
        ns = ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"'
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<gpx version="1.1" creator="{sc.creator}" xmlns="http://www.topografix.com/GPX/1/1"'
        f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"{ns}'
        ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1'
        ' http://www.topografix.com/GPX/1/1/gpx.xsd">',
        "  <metadata>",
        f"    <name>{sc.title}</name>",
        "    <desc>Synthetic fixture made by bench/make_gpx_fixtures.py"
        f" (seed {sc.seed}); see fixtures/README.md</desc>",
        f"    <time>{_time(sc, 0)}</time>",
        "  </metadata>",
        "  <trk>",
        f"    <name>{sc.title}</name>",
        "    <type>driving</type>",
        "    <trkseg>",
    ]
    segment = 0
    for fx in fixes:
        if fx.segment != segment:
            lines += ["    </trkseg>", "    <trkseg>"]
            segment = fx.segment
        lines.append(f'      <trkpt lat="{fx.lat}" lon="{fx.lng}">')
        lines.append(f"        <ele>{fx.ele}</ele>")
        lines.append(f"        <time>{_time(sc, fx.t)}</time>")
        lines.append(f"        <sat>{fx.sat}</sat>")
        lines.append(f"        <{sc.dop}>{fx.dop}</{sc.dop}>")
        if sc.speed_ext == "gpxtpx":
            lines.append(
                "        <extensions><gpxtpx:TrackPointExtension>"
                f"<gpxtpx:speed>{fx.speed}</gpxtpx:speed>"
                "</gpxtpx:TrackPointExtension></extensions>"
            )
        elif sc.speed_ext == "plain":
            lines.append(f"        <extensions><speed>{fx.speed}</speed></extensions>")
        lines.append("      </trkpt>")
    lines += ["    </trkseg>", "  </trk>", "</gpx>", ""]
    return "\n".join(lines)


def _geodesic_length(points: list[tuple[float, float]]) -> float:
    return math.fsum(
        WGS84.Inverse(a[0], a[1], b[0], b[1])["s12"] for a, b in itertools.pairwise(points)
    )


@dataclass
class Result:
    sc: Scenario
    text: str
    fixes: int
    kept: int
    poor: int
    speed_drops: int
    true_m: float
    expected_m: float
    duration_s: int


def build(sc: Scenario) -> Result:
    """Generate one scenario: the GPX text and its known numbers."""
    rng = random.Random(sc.seed)
    path = _catmull_rom(sc.vertices, DENSE_STEP_M)
    cum = _cumulative(path)
    samples = _drive(sc, rng, path, cum)
    lost = range(*sc.gap) if sc.gap else range(0)
    for index in [*sc.poor_fixes, *sc.spikes]:
        # A fault planned on a fix that is never written would silently change the counts.
        if index >= len(samples) or index in lost:
            raise SystemExit(f"{sc.file}: fault index {index} is not a recorded fix")
    fixes = _record(sc, rng, samples)
    kept = [(float(f.lat), float(f.lng)) for f in fixes if not f.injected]
    kept_times = [f.t for f in fixes if not f.injected]
    return Result(
        sc=sc,
        text=_render(sc, fixes),
        fixes=len(fixes),
        kept=len(kept),
        poor=len(sc.poor_fixes),
        speed_drops=len(sc.spikes) + (1 if sc.stale_first_m else 0),
        true_m=cum[-1],
        expected_m=_geodesic_length(kept),
        duration_s=kept_times[-1] - kept_times[0],
    )


def table(results: list[Result]) -> str:
    """The markdown table of fixtures/README.md."""
    rows = [
        "| file | fixes | kept | dropped accuracy | dropped speed | duration (kept) "
        "| true path (m) | expected filtered (m) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        rows.append(
            f"| `{r.sc.file}` | {r.fixes} | {r.kept} | {r.poor} | {r.speed_drops} "
            f"| {timedelta(seconds=r.duration_s)} | {r.true_m:.1f} | {r.expected_m:.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk")
    args = parser.parse_args(argv)
    results = [build(sc) for sc in SCENARIOS]
    stale = []
    for r in results:
        target = OUT_DIR / r.sc.file
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != r.text:
                stale.append(r.sc.file)
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            target.write_text(r.text, encoding="utf-8", newline="\n")
    print(table(results))
    for r in results:
        print(f"{r.sc.file}: {len(r.text.encode()) / 1024:.0f} KiB — {r.sc.shows}")
    if stale:
        print("differs from the generator: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

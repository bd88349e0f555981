"""Pure distance logic for recorded trips: ellipsoidal distance, track cleaning, summaries.

Nothing here touches the database, the clock or the file system; every function takes plain
values and returns plain values, so the rules that decide a trip's distance can be tested
directly.

Numbers and units
    Coordinates are WGS-84 degrees. Distances inside this module are float metres, because
    trigonometry is float; the one number that is stored (a trip's distance) leaves through
    :func:`to_distance` as a :class:`~decimal.Decimal`, converted once and never touched by float
    arithmetic again.

How a recorded track becomes a distance (:func:`summarize`)
    1. :func:`clean_track` drops fixes the receiver itself says are poor (accuracy worse than
       :attr:`TrackFilter.max_accuracy_m`) and fixes that imply an impossible speed
       (:attr:`TrackFilter.max_speed_kmh`), see its docstring for the exact rules.
    2. :func:`track_length_m` adds up the WGS-84 geodesic lengths of the kept segments
       (:func:`step_m`).
    3. :func:`to_distance` converts metres to km or miles, exactly, to three decimals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from tracker.errors import InvalidInputError

__all__ = [
    "ANCHOR_LOOKAHEAD",
    "LOCAL_MAX_LAT",
    "LOCAL_STEP_M",
    "METRES_PER_KM",
    "METRES_PER_MILE",
    "DistanceUnit",
    "Fix",
    "TrackFilter",
    "TrackSummary",
    "clean_track",
    "dropped_note",
    "geodesic_m",
    "local_date",
    "step_m",
    "summarize",
    "to_distance",
    "track_length_m",
]

# WGS-84 as geographiclib defines it (a test holds them equal): geographiclib itself is
# imported on the first geodesic, so a command that computes no distance never loads it.
_A: float = 6378137.0
_F: float = 1 / 298.257223563
_E2: float = _F * (2.0 - _F)

#: Steps shorter than this (in metres) use the ellipsoid's local radii of curvature instead of
#: the full geodesic solution; see :func:`step_m`.
LOCAL_STEP_M = 1000.0
#: ... but only where both ends are within this latitude: near a pole a longitude difference no
#: longer maps to a distance through the local radii.
LOCAL_MAX_LAT = 80.0

#: Exact unit sizes; the mile is the international mile (1959), exactly 1609.344 m.
METRES_PER_KM = Decimal(1000)
METRES_PER_MILE = Decimal("1609.344")

#: How many following fixes the first kept fix is checked against (see :func:`clean_track`).
ANCHOR_LOOKAHEAD = 2

DistanceUnit = Literal["km", "mile"]

_THOUSANDTH = Decimal("0.001")
# A private context so that a caller who lowered the global decimal precision cannot change a
# stored distance. 80 digits hold the exact decimal expansion of any float metre count between
# a micrometre and 1e9 m, so the km conversion is exact and the mile division is correctly
# rounded far below the last kept decimal: one rounding step decides the stored value.
_DECIMAL_PREC = 80


@dataclass(frozen=True, slots=True)
class Fix:
    """One position fix of a recorded track.

    ``time`` must be timezone-aware; it is normalised to UTC. ``accuracy`` is the horizontal
    accuracy radius in metres as the receiver reports it (``None``: unknown, which the
    accuracy filter keeps), ``speed`` the receiver's own ground speed in m/s (informational;
    the filter derives speed from positions and times instead).

    Raises :class:`InvalidInputError` (field ``time``, ``lat``, ``lng``, ``accuracy`` or
    ``speed``) for a naive time, coordinates outside [-90, 90] / [-180, 180], NaN or infinity,
    or a negative accuracy or speed.
    """

    time: datetime
    lat: float
    lng: float
    accuracy: float | None = None
    speed: float | None = None

    def __post_init__(self) -> None:
        offset = self.time.utcoffset()
        if offset is None:
            raise InvalidInputError("time", "naive datetime: give a timezone-aware time (UTC)")
        if self.time.tzinfo is not UTC:
            # Normalising once here lets every later subtraction and comparison be plain UTC.
            object.__setattr__(self, "time", self.time.astimezone(UTC))
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise InvalidInputError("lat", f"{self.lat!r} is outside [-90, 90]")
        if not (math.isfinite(self.lng) and -180.0 <= self.lng <= 180.0):
            raise InvalidInputError("lng", f"{self.lng!r} is outside [-180, 180]")
        for name in ("accuracy", "speed"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0.0):
                raise InvalidInputError(name, f"{value!r} must be a finite number >= 0")


@dataclass(frozen=True, slots=True)
class TrackFilter:
    """Thresholds of :func:`clean_track`.

    ``max_accuracy_m``: fixes whose accuracy radius is larger than this are dropped.
    ``max_speed_kmh``: a jump between fixes faster than this is treated as a GPS error.
    """

    max_accuracy_m: float = 50.0
    max_speed_kmh: float = 250.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_accuracy_m) and self.max_accuracy_m > 0.0):
            raise InvalidInputError("max_accuracy_m", "must be a finite number > 0")
        if not (math.isfinite(self.max_speed_kmh) and self.max_speed_kmh > 0.0):
            raise InvalidInputError("max_speed_kmh", "must be a finite number > 0")


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """What stopping (or importing) a trip computes from its fixes.

    ``distance`` is in ``unit`` with three decimals; ``duration`` is end minus start of the
    kept fixes (zero for a single fix); ``start`` and ``end`` are the first and last kept
    fixes; ``kept``, ``dropped_accuracy`` and ``dropped_speed`` count the fixes.
    """

    distance: Decimal
    unit: DistanceUnit
    duration: timedelta
    start: Fix
    end: Fix
    kept: int
    dropped_accuracy: int
    dropped_speed: int


def geodesic_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Length in metres of the shortest path between two points on the WGS-84 ellipsoid.

    Karney's algorithm through geographiclib (accurate to about 15 nm), correct across the
    antimeridian, at the poles and for nearly antipodal points. This is what a tax office
    checking a distance with any geodesy tool gets; a sphere of mean radius is off by up to
    about 0.5 % depending on latitude and heading.
    """
    from geographiclib.geodesic import Geodesic  # type: ignore[import-untyped,unused-ignore]

    result: float = Geodesic.WGS84.Inverse(lat1, lng1, lat2, lng2, Geodesic.DISTANCE)["s12"]
    return result


def _local_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Short-step length through the meridian (M) and prime-vertical (N) radii of curvature of
    WGS-84 at the mid-latitude: the ellipsoid, flattened locally."""
    phi = math.radians((lat1 + lat2) * 0.5)
    sin_phi = math.sin(phi)
    w2 = 1.0 - _E2 * sin_phi * sin_phi
    n = _A / math.sqrt(w2)
    m = n * (1.0 - _E2) / w2
    # The short way round: a step across the antimeridian is a small longitude difference.
    dlng = (lng2 - lng1 + 180.0) % 360.0 - 180.0
    return math.hypot(m * math.radians(lat2 - lat1), n * math.cos(phi) * math.radians(dlng))


def step_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Length in metres of one step of a track on the WGS-84 ellipsoid.

    The full geodesic solution (:func:`geodesic_m`) costs ~30 µs in pure Python, 60 times the
    old spherical formula, and a track is mostly steps of a few metres. For a step shorter than
    :data:`LOCAL_STEP_M` with both ends within :data:`LOCAL_MAX_LAT` degrees of the equator,
    the ellipsoid's local radii of curvature give the same length to within 2e-7 of it
    (0.2 mm per km, tested against geographiclib); every other step is solved by
    :func:`geodesic_m`.
    """
    if abs(lat1) <= LOCAL_MAX_LAT and abs(lat2) <= LOCAL_MAX_LAT:
        local = _local_m(lat1, lng1, lat2, lng2)
        if local < LOCAL_STEP_M:
            return local
    return geodesic_m(lat1, lng1, lat2, lng2)


def _distance(a: Fix, b: Fix) -> float:
    return step_m(a.lat, a.lng, b.lat, b.lng)


def _plausible(a: Fix, b: Fix, max_speed_ms: float) -> bool:
    """Whether moving from fix ``a`` to the later fix ``b`` is physically possible."""
    jump = _distance(a, b)
    if jump == 0.0:
        return True
    seconds = (b.time - a.time).total_seconds()
    # Identical timestamps with any movement would be an infinite speed.
    return seconds > 0.0 and jump / seconds <= max_speed_ms


def _kept(fixes: Iterable[Fix], flt: TrackFilter, dropped: list[int]) -> Iterator[Fix]:
    """Yield the fixes :func:`clean_track` keeps, in order, reading ``fixes`` once.

    Holds at most the anchor's look-ahead window, so a long track never exists as a list of
    fixes here. Adds the fixes dropped for accuracy to ``dropped[0]`` and for speed (including
    those before the anchor) to ``dropped[1]``; raises on the first fix that goes back in time.
    """
    max_speed_ms = flt.max_speed_kmh / 3.6
    window: list[Fix] = []  # accurate fixes while the anchor is not chosen
    last: Fix | None = None  # the last kept fix
    previous: Fix | None = None
    for index, fix in enumerate(fixes):
        if previous is not None and fix.time < previous.time:
            raise InvalidInputError(
                f"waypoints[{index}].time",
                f"{fix.time.isoformat()} is before the previous fix "
                f"({previous.time.isoformat()}): sort the fixes by time",
            )
        previous = fix
        if fix.accuracy is not None and fix.accuracy > flt.max_accuracy_m:
            dropped[0] += 1
        elif last is not None:
            if _plausible(last, fix, max_speed_ms):
                last = fix
                yield fix
            else:
                dropped[1] += 1
        else:
            window.append(fix)
            # A full window (the candidate and its look-ahead) decides as the whole track would.
            while len(window) > ANCHOR_LOOKAHEAD and last is None:
                last = _anchor(window, max_speed_ms, dropped)
            if last is not None:
                yield from _after_anchor(window, max_speed_ms, dropped)
                last = window[-1] if window else last
                window = []
    # The end of the track: a candidate is judged on the fixes that follow it, if any.
    while window and last is None:
        last = _anchor(window, max_speed_ms, dropped)
    if last is not None and window:
        yield from _after_anchor(window, max_speed_ms, dropped)


def _anchor(window: list[Fix], max_speed_ms: float, dropped: list[int]) -> Fix | None:
    """``window[0]`` if it agrees with one of the next fixes (or none follows); else drop it."""
    following = window[1 : 1 + ANCHOR_LOOKAHEAD]
    if not following or any(_plausible(window[0], nxt, max_speed_ms) for nxt in following):
        return window[0]
    window.pop(0)
    dropped[1] += 1
    return None


def _after_anchor(window: list[Fix], max_speed_ms: float, dropped: list[int]) -> Iterator[Fix]:
    """Yield the anchor ``window[0]`` and the window's kept fixes; leaves the last kept fix as
    the window's only element."""
    kept = window[0]
    yield kept
    for fix in window[1:]:
        if _plausible(kept, fix, max_speed_ms):
            kept = fix
            yield fix
        else:
            dropped[1] += 1
    window[:] = [kept]


def _clean(fixes: Iterable[Fix], flt: TrackFilter) -> tuple[list[Fix], int, int]:
    """Return (kept fixes, dropped for accuracy, dropped for speed); see :func:`clean_track`."""
    dropped = [0, 0]
    kept = list(_kept(fixes, flt, dropped))
    return kept, dropped[0], dropped[1]


def clean_track(fixes: Sequence[Fix], flt: TrackFilter) -> list[Fix]:
    """Drop the fixes that would distort a trip's distance; return the rest in order.

    Rules, applied in this order (deterministic; the result is a subsequence of ``fixes``):

    1. **Accuracy.** A fix whose ``accuracy`` is larger than ``flt.max_accuracy_m`` is dropped.
       A fix with unknown accuracy (``None``) is kept: many recorders do not report it.
    2. **Anchor.** The first remaining fix is kept only if the jump to at least one of the next
       :data:`ANCHOR_LOOKAHEAD` (2) fixes is possible at ``flt.max_speed_kmh``; otherwise it is
       an outlier (typically a stale first fix from where the phone last had a position) and
       the next fix is tried the same way. So a first-fix outlier is dropped, and a good first
       fix followed by a single spike is kept. A fix with no fix after it is kept.
    3. **Speed.** Every later fix is compared with the *last kept* fix: if reaching it would
       take a speed above ``flt.max_speed_kmh`` it is dropped, and the next fix is compared
       with the same kept fix, so a single spike is dropped and the track goes on. Two fixes
       with the same time but different positions count as impossible; exact duplicates are
       kept (they add no distance).

    Known limit: a run of more than :data:`ANCHOR_LOOKAHEAD` mutually consistent wrong fixes at
    the very start would become the anchor. Such bursts almost always come with poor reported
    accuracy, which rule 1 drops first.

    Raises :class:`InvalidInputError` (``waypoints[i].time``) if the fixes are not in time
    order: a speed cannot be judged between fixes that go back in time.
    """
    return _clean(fixes, flt)[0]


def track_length_m(fixes: Sequence[Fix]) -> float:
    """Length in metres of the polyline through ``fixes`` in order (0.0 for fewer than two).

    The segment lengths are added with :func:`math.fsum`: the result is the float nearest their
    exact sum, however many tiny steps a long track has.
    """
    return math.fsum(_distance(fixes[i - 1], fixes[i]) for i in range(1, len(fixes)))


def to_distance(meters: float, unit: DistanceUnit) -> Decimal:
    """Convert metres to ``unit`` ("km" or "mile") as a Decimal with three decimals.

    The float is converted to Decimal exactly once and the unit division happens in Decimal
    (1 mile = 1609.344 m exactly), rounded half-to-even: ``to_distance(1500.0, "km")`` is
    ``Decimal("1.500")``, never ``1.4999999``.

    Raises :class:`InvalidInputError` (``distance``) for a negative, NaN or infinite length and
    (``unit``) for any other unit.
    """
    if not (math.isfinite(meters) and meters >= 0.0):
        raise InvalidInputError("distance", f"{meters!r} m must be a finite number >= 0")
    if unit == "km":
        per_unit = METRES_PER_KM
    elif unit == "mile":
        per_unit = METRES_PER_MILE
    else:
        raise InvalidInputError("unit", f"{unit!r} is not one of 'km', 'mile'")
    # A fresh context per call: contexts collect flags, and a shared one would be mutable state.
    ctx = Context(prec=_DECIMAL_PREC, rounding=ROUND_HALF_EVEN)
    return ctx.divide(Decimal(meters), per_unit).quantize(_THOUSANDTH, context=ctx)


def summarize(fixes: Sequence[Fix], flt: TrackFilter, unit: DistanceUnit) -> TrackSummary:
    """Clean ``fixes`` with ``flt`` and compute distance, duration, start and end of the trip.

    Raises :class:`InvalidInputError` (``waypoints``) if there are no fixes or none survives the
    filter, and the errors of :func:`clean_track` and :func:`to_distance`.
    """
    if not fixes:
        raise InvalidInputError("waypoints", "the trip has no waypoints to compute a distance")
    # One pass over the kept fixes, none of them held: a GPX import's columns build each fix
    # only as it is read, so a long track costs no list of fixes here.
    dropped = [0, 0]
    ends: list[Fix] = []  # the first kept fix, then the previous one
    count = 0

    def steps() -> Iterator[float]:
        nonlocal count
        for fix in _kept(fixes, flt, dropped):
            count += 1
            if ends:
                yield _distance(ends[-1], fix)
                ends[1:] = [fix]
            else:
                ends.append(fix)

    length = math.fsum(steps())
    if not ends:
        raise InvalidInputError(
            "waypoints",
            f"none of the {len(fixes)} waypoints is accurate enough "
            f"(all worse than {flt.max_accuracy_m:g} m): raise max_accuracy_m or enter the "
            "distance manually",
        )
    first, last = ends[0], ends[-1]
    return TrackSummary(
        distance=to_distance(length, unit),
        unit=unit,
        duration=last.time - first.time,
        start=first,
        end=last,
        kept=count,
        dropped_accuracy=dropped[0],
        dropped_speed=dropped[1],
    )


def dropped_note(summary: TrackSummary, flt: TrackFilter) -> str | None:
    """What the filter dropped from a track, in words (None when it kept every fix): a
    person reading a distance should know it was computed from fewer fixes than recorded."""
    dropped = summary.dropped_accuracy + summary.dropped_speed
    if not dropped:
        return None
    why = []
    if summary.dropped_accuracy:
        why.append(
            f"{summary.dropped_accuracy} less accurate than {flt.max_accuracy_m:g} m "
            "(TRACKER_MAX_ACCURACY)"
        )
    if summary.dropped_speed:
        why.append(
            f"{summary.dropped_speed} implying a jump faster than {flt.max_speed_kmh:g} km/h "
            "(TRACKER_MAX_SPEED)"
        )
    total = summary.kept + dropped
    return (
        f"{dropped} of {total} GPS fixes dropped by the filters: {'; '.join(why)}; the "
        f"distance is that of the {summary.kept} kept"
    )


def local_date(start: datetime, tz: ZoneInfo) -> date:
    """The calendar date in ``tz`` at the instant ``start``: the rule for a trip's ``date``.

    A trip that crosses local midnight keeps the date it started on; the UTC date does not
    matter (00:30 in Berlin in summer is 22:30 UTC the day before). Raises
    :class:`InvalidInputError` (``start``) for a naive datetime, whose instant is unknown.
    """
    if start.utcoffset() is None:
        raise InvalidInputError("start", "naive datetime: give a timezone-aware time")
    return start.astimezone(tz).date()

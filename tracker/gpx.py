"""Read a GPX file into plain track values (:class:`GpxTrack` of :class:`~tracker.geo.Fix`).

This module holds the rules and the values; :mod:`tracker.gpx_stream` is the XML reader. It
only parses and validates; it does not touch the database. Every problem with the file is an
:class:`~tracker.errors.InvalidInputError` whose ``field`` says where it is, e.g. ``gpx`` for
the whole file or ``gpx.trk[0].trkseg[1].trkpt[12].time`` for one value (indexes count from 0
in document order). No exception of the XML parser escapes (a :class:`MemoryError` stays
one: a valid file is not called malformed because memory ran out).

Choices, documented here because they decide what an imported trip contains:

* **What a track says of its trip.** ``<name>`` is the description (unless one is given),
  ``<type>`` the classification when it is one (``business``, ``personal``,
  ``unclassified``; any other type, e.g. Strava's ``cycling``, is ignored), and a
  ``<trip_id>`` element in the track's ``<extensions>`` the trip it was exported from (the
  import key, see :mod:`tracker.importkeys`): what ``tracker trip export`` writes.
* **Tracks, not routes.** Each ``<trk>`` is one track; the points of all its ``<trkseg>`` are
  joined in order (a segment break is a signal gap, the car still drove the chord). When a
  file has tracks, its ``<rte>`` and ``<wpt>`` are ignored. A file with only routes is imported
  only if every route point has a ``<time>`` (some devices store recordings as routes); a
  route without times is a plan, not a recording, and is rejected.
* **Times.** Every point needs a ``<time>`` (ISO 8601). A time with a zone (``Z`` or
  ``+02:00``) is converted to UTC; a time without one is taken as UTC, because GPX 1.1 defines
  ``<time>`` as UTC. Points must not go back in time. A point with the same time as the point
  before it (a receiver that logs twice in one second) is dropped: the first one is kept, the
  track is imported, and :attr:`GpxTrack.same_time_dropped` counts what was dropped.
* **Accuracy.** GPX has no accuracy radius, only dilution of precision. A point's accuracy is
  ``<hdop>`` × :data:`DOP_TO_METRES` (5 m, a typical user range error of a phone or car
  receiver), or ``<pdop>`` × the same factor when there is no ``<hdop>`` (PDOP ≥ HDOP, so this
  errs on the side of "less accurate"), else unknown (``None``).
* **Speed.** ``<speed>`` (GPX 1.0) or the first element named ``speed`` inside the point's
  ``<extensions>`` (Garmin TrackPointExtension ``gpxtpx:speed``, OsmAnd ``speed``), in m/s;
  else ``None``. A speed that is not a finite number >= 0 is rejected. Other point elements
  (``<ele>``, ``<sat>``, ...) are not read, so a bad value there does not refuse the file.
* **Streaming.** The file is read in 64 KiB chunks by the stdlib expat parser and only what a
  track needs is kept, in compact columns (:class:`FixColumns`, 40 bytes a point): memory does
  not grow with the size of the XML. A 49 MiB file imports with ~31 MB above the baseline
  (docs/performance.md).
* **Hardening.** Files larger than :data:`MAX_GPX_BYTES` (50 MiB, counted while reading) are
  rejected. Documents with a ``<!DOCTYPE`` or ``<!ENTITY`` declaration are rejected by the
  parser's handlers, and parameter entities are never parsed: GPX never needs them, and
  refusing them rules out entity-expansion bombs ("billion laughs") and external entities.
  Elements nested deeper than :data:`MAX_DEPTH`, more than 256 namespace declarations, or a
  namespace value over 8 KiB are rejected; text is kept only where it is read, and only its
  first few KiB.
* **Encoding.** Bytes and files must be UTF-8 (a BOM is allowed), whatever the XML declaration
  says; a ``str`` is GPX text (pass a :class:`~pathlib.Path` to read a file).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import overload

from tracker.errors import InvalidInputError
from tracker.geo import Fix

__all__ = ["DOP_TO_METRES", "MAX_DEPTH", "MAX_GPX_BYTES", "FixColumns", "GpxTrack", "read_gpx"]

#: Largest GPX file accepted, in bytes (for ``str`` input: in UTF-8 bytes). 50 MiB holds about
#: 400,000 compact points (110 hours at 1 Hz).
MAX_GPX_BYTES = 50 * 1024 * 1024

#: Metres of horizontal accuracy per unit of HDOP (or PDOP when HDOP is missing).
DOP_TO_METRES = 5.0

#: Deepest element nesting accepted (a GPX point's extensions are a handful of levels deep).
MAX_DEPTH = 1000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAN = math.nan


class FixColumns(Sequence[Fix]):
    """A track's fixes as five typed arrays (40 bytes a fix instead of ~250 as objects).

    Reads as a sequence of :class:`~tracker.geo.Fix`, each built when it is read; a slice is a
    list. ``None`` accuracy or speed is stored as NaN (a stored value is never NaN).
    """

    __slots__ = ("_acc", "_lat", "_lng", "_spd", "_t_us")

    def __init__(self) -> None:
        self._t_us = array("q")  # microseconds since 1970-01-01 UTC
        self._lat = array("d")
        self._lng = array("d")
        self._acc = array("d")
        self._spd = array("d")

    def append(self, fix: Fix) -> None:
        delta = fix.time - _EPOCH
        self._t_us.append((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
        self._lat.append(fix.lat)
        self._lng.append(fix.lng)
        self._acc.append(_NAN if fix.accuracy is None else fix.accuracy)
        self._spd.append(_NAN if fix.speed is None else fix.speed)

    def __len__(self) -> int:
        return len(self._t_us)

    @overload
    def __getitem__(self, index: int) -> Fix: ...
    @overload
    def __getitem__(self, index: slice) -> list[Fix]: ...
    def __getitem__(self, index: int | slice) -> Fix | list[Fix]:
        if isinstance(index, slice):
            return [self._fix(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("fix index out of range")
        return self._fix(index)

    def __iter__(self) -> Iterator[Fix]:
        return (self._fix(i) for i in range(len(self)))

    def _fix(self, i: int) -> Fix:
        acc, spd = self._acc[i], self._spd[i]
        return Fix(
            _EPOCH + timedelta(microseconds=self._t_us[i]),
            self._lat[i],
            self._lng[i],
            None if acc != acc else acc,  # NaN: unknown
            None if spd != spd else spd,
        )

    def last_time(self) -> datetime | None:
        """The time of the last fix (None when empty), without building the fix."""
        return _EPOCH + timedelta(microseconds=self._t_us[-1]) if self._t_us else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FixColumns):
            return NotImplemented
        # Bytes, not values: NaN (an unknown accuracy) must equal itself here.
        mine, theirs = self._columns(), other._columns()
        return all(a.tobytes() == b.tobytes() for a, b in zip(mine, theirs, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def _columns(self) -> tuple[array[int] | array[float], ...]:
        return self._t_us, self._lat, self._lng, self._acc, self._spd

    def __repr__(self) -> str:
        return f"FixColumns({len(self)} fixes)"


@dataclass(frozen=True, slots=True)
class GpxTrack:
    """One ``<trk>`` of a GPX file: its ``<name>`` (if any) and its points in order."""

    name: str | None
    fixes: FixColumns = field(default_factory=FixColumns)
    same_time_dropped: int = 0
    """Points dropped because their time equals the previous point's (kept: the first)."""
    kind: str | None = None
    """The track's ``<type>`` (``tracker trip export`` writes the trip's classification)."""
    trip_id: str | None = None
    """The ``<trip_id>`` in the track's ``<extensions>``: the trip it was exported from."""


def read_gpx(source: Path | bytes | str) -> list[GpxTrack]:
    """Parse GPX from a file (:class:`~pathlib.Path`), raw bytes or text into tracks.

    Returns one :class:`GpxTrack` per ``<trk>`` in document order, each with at least one fix,
    times in UTC and never going back. Raises :class:`InvalidInputError` for anything that is
    not a well-formed, importable GPX document; see the module docstring for the rules.
    """
    # The reader calls back into the rules below, so it is imported when first used.
    from tracker.gpx_stream import parse

    return parse(source)


# ----------------------------------------------------------------------------- the rules
@dataclass(slots=True)
class RawPoint:
    """The text of one ``<trkpt>``/``<rtept>`` as found (None: absent), before any check."""

    lat: str | None
    lon: str | None
    time: str | None = None
    hdop: str | None = None
    pdop: str | None = None
    speed: str | None = None
    ext_speed: str | None = None


def not_valid(detail: str) -> InvalidInputError:
    """A value the GPX schema types (a number, a coordinate) is not one: the document is bad."""
    return InvalidInputError("gpx", f"not a valid GPX document ({detail})")


def point_fix(where: str, raw: RawPoint, previous: datetime | None) -> Fix:
    """Turn one point's text into a validated Fix; ``where`` names the point in errors and
    ``previous`` is the time of the last fix kept before it (None for the first)."""
    lat = _coordinate(f"{where}.lat", _number(where, "lat", raw.lat), 90.0)
    lng = _coordinate(f"{where}.lon", _number(where, "lon", raw.lon), 180.0)
    time = _time(where, raw.time)
    if previous is not None and time < previous:
        raise InvalidInputError(
            f"{where}.time",
            f"{time.isoformat()} is before the previous point "
            f"({previous.isoformat()}): points must be in time order",
        )
    return Fix(
        time=time, lat=lat, lng=lng, accuracy=_accuracy(where, raw), speed=_speed(where, raw)
    )


def track_name(text: str | None) -> str | None:
    return (text.strip() or None) if text is not None else None


def _number(where: str, what: str, text: str | None) -> float:
    if text is None:
        raise not_valid(f"{where} has no {what}")
    try:
        return float(text)
    except ValueError:
        raise not_valid(f"{where}.{what}: {text[:40]!r} is not a number") from None


def _optional_number(where: str, what: str, text: str | None) -> float | None:
    return None if text is None else _number(where, what, text)


def _time(where: str, text: str | None) -> datetime:
    try:
        # ISO 8601; also takes what GPX writers emit: Z, offsets, 1 to 7 fraction digits.
        parsed = datetime.fromisoformat(text.strip()) if text else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInputError(f"{where}.time", "missing or unreadable <time> (ISO 8601 UTC)")
    try:
        # GPX 1.1 defines <time> as UTC, so a time without a zone is UTC, not local time.
        time = parsed.astimezone(UTC) if parsed.utcoffset() is not None else parsed
        return time.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidInputError(f"{where}.time", f"{text!r} is out of range") from exc


def _coordinate(where: str, value: float, limit: float) -> float:
    if not math.isfinite(value) or abs(value) > limit:
        raise InvalidInputError(where, f"{value!r} is outside [-{limit:g}, {limit:g}]")
    return value


def _non_negative(where: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(where, f"{value!r} must be a finite number >= 0")
    return value


def _accuracy(where: str, raw: RawPoint) -> float | None:
    hdop = _non_negative(f"{where}.hdop", _optional_number(where, "hdop", raw.hdop))
    if hdop is not None:
        return hdop * DOP_TO_METRES
    pdop = _non_negative(f"{where}.pdop", _optional_number(where, "pdop", raw.pdop))
    if pdop is not None:
        return pdop * DOP_TO_METRES
    return None


def _speed(where: str, raw: RawPoint) -> float | None:
    if raw.speed is not None:
        return _non_negative(f"{where}.speed", _number(where, "speed", raw.speed))
    if raw.ext_speed is None:
        return None
    text = raw.ext_speed.strip()
    try:
        value = float(text)
    except ValueError:
        raise InvalidInputError(
            f"{where}.extensions.speed", f"{text[:40]!r} is not a number"
        ) from None
    return _non_negative(f"{where}.extensions.speed", value)

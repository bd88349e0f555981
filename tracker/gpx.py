"""Read a GPX file into plain track values (:class:`GpxTrack` of :class:`~tracker.geo.Fix`).

This module only parses and validates; it does not touch the database. Every problem with the
file is an :class:`~tracker.errors.InvalidInputError` whose ``field`` says where it is, e.g.
``gpx`` for the whole file or ``gpx.trk[0].trkseg[1].trkpt[12].time`` for one value (indexes
count from 0 in document order). No exception of gpxpy or of the XML parser escapes.

Choices, documented here because they decide what an imported trip contains:

* **Tracks, not routes.** Each ``<trk>`` is one track; the points of all its ``<trkseg>`` are
  joined in order (a segment break is a signal gap, the car still drove the chord). When a
  file has tracks, its ``<rte>`` and ``<wpt>`` are ignored. A file with only routes is imported
  only if every route point has a ``<time>`` (some devices store recordings as routes); a
  route without times is a plan, not a recording, and is rejected.
* **Times.** Every point needs a ``<time>``. A time with a zone (``Z`` or ``+02:00``) is
  converted to UTC; a time without one is taken as UTC, because GPX 1.1 defines ``<time>`` as
  UTC. Points must not go back in time. A point with the same time as the point before it
  (a receiver that logs twice in one second) is dropped: the first one is kept, the track
  is imported, and :attr:`GpxTrack.same_time_dropped` counts what was dropped.
* **Accuracy.** GPX has no accuracy radius, only dilution of precision. A point's accuracy is
  ``<hdop>`` × :data:`DOP_TO_METRES` (5 m, a typical user range error of a phone or car
  receiver), or ``<pdop>`` × the same factor when there is no ``<hdop>`` (PDOP ≥ HDOP, so this
  errs on the side of "less accurate"), else unknown (``None``).
* **Speed.** ``<speed>`` (GPX 1.0) or the first element named ``speed`` inside the point's
  ``<extensions>`` (Garmin TrackPointExtension ``gpxtpx:speed``, OsmAnd ``speed``), in m/s;
  else ``None``. A speed that is not a finite number >= 0 is rejected.
* **Hardening.** Files larger than :data:`MAX_GPX_BYTES` (50 MiB) are rejected before they are
  parsed. Documents with a ``<!DOCTYPE`` or ``<!ENTITY`` declaration are rejected: GPX never
  needs one, and refusing them rules out entity-expansion bombs ("billion laughs") and
  external entities whatever XML parser gpxpy picks (the stdlib expat or lxml). Namespace
  declarations whose value does not close within a few KiB, or more than 256 of them, are
  rejected too, because gpxpy scans them with regular expressions that take quadratic time on
  such input and registers each prefix in ElementTree's process-wide table.
* **Encoding.** Bytes and files must be UTF-8 (a BOM is allowed); a ``str`` is GPX text
  (pass a :class:`~pathlib.Path` to read a file).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gpxpy
import gpxpy.gpx

from tracker.errors import InvalidInputError
from tracker.geo import Fix

__all__ = ["DOP_TO_METRES", "MAX_GPX_BYTES", "GpxTrack", "read_gpx"]

#: Largest GPX file accepted, in bytes (for ``str`` input: in UTF-8 bytes). 50 MiB holds about
#: 400,000 compact points (110 hours at 1 Hz); gpxpy parses that in ~8 s with ~0.6 GB of memory.
MAX_GPX_BYTES = 50 * 1024 * 1024

#: Metres of horizontal accuracy per unit of HDOP (or PDOP when HDOP is missing).
DOP_TO_METRES = 5.0

# Longest namespace prefix-to-value span accepted; real declarations are under 200 characters.
_MAX_NS_DECL_CHARS = 8192
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Real files declare a handful of namespaces; gpxpy registers each one in ElementTree's global
# prefix table, so their number is capped as well.
_MAX_NS_DECLS = 256
_NS_ATTRIBUTE = re.compile(r"\s(?:xmlns|xsi:schemaLocation)")
# What may precede the root element: white space, the XML declaration, processing
# instructions, comments (a DOCTYPE is refused earlier). Nothing follows the loop, so a failed
# match never backtracks into it.
_PROLOG = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_STARTS_LIKE_XML = re.compile(r"\s*<")
_GPX_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?gpx(?=[\s/>])")


@dataclass(frozen=True, slots=True)
class GpxTrack:
    """One ``<trk>`` of a GPX file: its ``<name>`` (if any) and its points in order."""

    name: str | None
    fixes: list[Fix]
    same_time_dropped: int = 0
    """Points dropped because their time equals the previous point's (kept: the first)."""


def read_gpx(source: Path | bytes | str) -> list[GpxTrack]:
    """Parse GPX from a file (:class:`~pathlib.Path`), raw bytes or text into tracks.

    Returns one :class:`GpxTrack` per ``<trk>`` in document order, each with at least one fix,
    times in UTC and never going back. Raises :class:`InvalidInputError` for anything that is
    not a well-formed, importable GPX document; see the module docstring for the rules.
    """
    text = _load_text(source)
    if isinstance(source, str) and not _STARTS_LIKE_XML.match(text):
        # The likeliest mistake: a file name passed as a str.
        raise InvalidInputError(
            "gpx", "not XML: a str is read as GPX text; pass a pathlib.Path to read a file"
        )
    _check_hostile(text)
    _check_root(text)
    try:
        doc = gpxpy.parse(text)
    except gpxpy.gpx.GPXXMLSyntaxException as exc:
        if isinstance(exc.__cause__, MemoryError):
            # Not the file's fault: a valid file must not be called malformed.
            raise MemoryError(
                "not enough memory to read the GPX file; close other programs or split it"
            ) from exc
        # gpxpy wraps every error of the XML parser it picked (expat's ParseError, lxml's
        # XMLSyntaxError, encoding errors) in this one.
        raise InvalidInputError("gpx", f"not well-formed XML ({_first_line(exc)})") from exc
    except gpxpy.gpx.GPXException as exc:
        raise InvalidInputError("gpx", f"not a valid GPX document ({_first_line(exc)})") from exc
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError) as exc:
        # gpxpy converts values with bare float()/int() and walks the tree without checks, so a
        # malformed value surfaces as one of these: it is bad input, not a bug of ours.
        raise InvalidInputError("gpx", f"not a valid GPX document ({_first_line(exc)})") from exc

    if doc.tracks:
        return [_track(f"gpx.trk[{i}]", trk) for i, trk in enumerate(doc.tracks)]
    if doc.routes:
        return [_route(f"gpx.rte[{i}]", rte) for i, rte in enumerate(doc.routes)]
    raise InvalidInputError("gpx", "the file has no <trk> track to import")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def _load_text(source: Path | bytes | str) -> str:
    if isinstance(source, Path):
        try:
            with source.open("rb") as handle:
                # Read one byte past the cap rather than trusting stat(): the file may grow.
                data = handle.read(MAX_GPX_BYTES + 1)
        except OSError as exc:
            raise InvalidInputError("gpx", f"cannot read {source}: {exc.strerror}") from exc
    elif isinstance(source, bytes):
        data = source
    elif isinstance(source, str):
        # Measuring the exact UTF-8 size means encoding a copy, so it is only done when the
        # string could be too large at all (UTF-8 needs at most 4 bytes per character).
        if len(source) * 4 > MAX_GPX_BYTES and _utf8_size(source) > MAX_GPX_BYTES:
            raise _too_large()
        return source.removeprefix("\ufeff")
    else:
        raise InvalidInputError(
            "gpx", f"expected a Path, bytes or str, not {type(source).__name__}"
        )
    if len(data) > MAX_GPX_BYTES:
        raise _too_large()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            "gpx", f"not UTF-8 text (bad byte at offset {exc.start}): save the file as UTF-8"
        ) from exc


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _too_large() -> InvalidInputError:
    return InvalidInputError(
        "gpx", f"file is larger than {MAX_GPX_BYTES // (1024 * 1024)} MiB: split the recording"
    )


def _check_hostile(text: str) -> None:
    """Reject DTDs/entities and unterminated namespace declarations before gpxpy sees them."""
    if _DECLARATION.search(text):
        raise InvalidInputError(
            "gpx", "the document declares a DTD or entities, which GPX never needs: refused"
        )
    for count, match in enumerate(_NS_ATTRIBUTE.finditer(text)):
        if count >= _MAX_NS_DECLS:
            raise _bad_namespace()
        # gpxpy's own scan runs from here to the next '=' and then to the closing quote; both
        # must be near, or a crafted file costs quadratic time.
        end = match.end()
        equals = text.find("=", end, end + _MAX_NS_DECL_CHARS)
        if equals < 0:
            raise _bad_namespace()
        quote = text[equals + 1 : equals + 2]
        if quote in ('"', "'") and text.find(quote, equals + 2, equals + _MAX_NS_DECL_CHARS) < 0:
            raise _bad_namespace()


def _bad_namespace() -> InvalidInputError:
    return InvalidInputError("gpx", "malformed namespace declaration: not a valid GPX document")


def _check_root(text: str) -> None:
    """The root element must be <gpx>; gpxpy would accept any XML as an empty GPX."""
    prolog = _PROLOG.match(text)
    if not _GPX_ROOT.match(text, prolog.end() if prolog else 0):
        raise InvalidInputError("gpx", "not a GPX document: the root element is not <gpx>")


def _track(where: str, trk: gpxpy.gpx.GPXTrack) -> GpxTrack:
    fixes: list[Fix] = []
    dropped = 0
    for s, segment in enumerate(trk.segments):
        for p, point in enumerate(segment.points):
            dropped += _keep(fixes, _fix(f"{where}.trkseg[{s}].trkpt[{p}]", point, fixes))
    if not fixes:
        raise InvalidInputError(where, "the track has no points")
    return GpxTrack(name=_name(trk.name), fixes=fixes, same_time_dropped=dropped)


def _keep(fixes: list[Fix], fix: Fix) -> int:
    """Append ``fix`` unless it has the previous fix's time; returns 1 when it was dropped.

    A trip's fixes are stored with strictly increasing times; two fixes in the same second
    are one position logged twice, so the first is kept (the file is still imported).
    """
    if fixes and fix.time == fixes[-1].time:
        return 1
    fixes.append(fix)
    return 0


def _route(where: str, rte: gpxpy.gpx.GPXRoute) -> GpxTrack:
    fixes: list[Fix] = []
    dropped = 0
    for p, point in enumerate(rte.points):
        if point.time is None:
            raise InvalidInputError(
                f"{where}.rtept[{p}].time",
                "a route without times is a plan, not a recorded trip: import a <trk> track",
            )
        dropped += _keep(fixes, _fix(f"{where}.rtept[{p}]", point, fixes))
    if not fixes:
        raise InvalidInputError(where, "the route has no points")
    return GpxTrack(name=_name(rte.name), fixes=fixes, same_time_dropped=dropped)


def _name(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _fix(where: str, point: Any, previous: list[Fix]) -> Fix:
    """Turn a gpxpy track or route point into a validated Fix; ``where`` names the point."""
    lat = _coordinate(f"{where}.lat", point.latitude, 90.0)
    lng = _coordinate(f"{where}.lon", point.longitude, 180.0)

    raw_time = point.time
    if not isinstance(raw_time, datetime):
        # gpxpy turns an unparseable <time> into None too, so both cases land here.
        raise InvalidInputError(f"{where}.time", "missing or unreadable <time> (ISO 8601 UTC)")
    try:
        # GPX 1.1 defines <time> as UTC, so a time without a zone is UTC, not local time.
        time = raw_time.astimezone(UTC) if raw_time.utcoffset() is not None else raw_time
        time = time.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidInputError(f"{where}.time", f"{raw_time!r} is out of range") from exc
    if previous and time < previous[-1].time:
        raise InvalidInputError(
            f"{where}.time",
            f"{time.isoformat()} is before the previous point "
            f"({previous[-1].time.isoformat()}): points must be in time order",
        )

    return Fix(
        time=time,
        lat=lat,
        lng=lng,
        accuracy=_accuracy(where, point),
        speed=_speed(where, point),
    )


def _coordinate(where: str, value: object, limit: float) -> float:
    if not isinstance(value, float | int) or not math.isfinite(value) or abs(value) > limit:
        raise InvalidInputError(where, f"{value!r} is outside [-{limit:g}, {limit:g}]")
    return float(value)


def _non_negative(where: str, value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, float | int) or not math.isfinite(value) or value < 0:
        raise InvalidInputError(where, f"{value!r} must be a finite number >= 0")
    return float(value)


def _accuracy(where: str, point: Any) -> float | None:
    hdop = _non_negative(f"{where}.hdop", point.horizontal_dilution)
    if hdop is not None:
        return hdop * DOP_TO_METRES
    pdop = _non_negative(f"{where}.pdop", point.position_dilution)
    if pdop is not None:
        return pdop * DOP_TO_METRES
    return None


def _speed(where: str, point: Any) -> float | None:
    speed = getattr(point, "speed", None)
    if speed is not None:
        return _non_negative(f"{where}.speed", speed)
    # Depth-first through the extension elements; iterative, so deep nesting cannot recurse.
    stack = list(reversed(getattr(point, "extensions", None) or []))
    while stack:
        element = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag.rpartition("}")[2].rpartition(":")[2].lower() == "speed":
            text = (element.text or "").strip()
            try:
                value = float(text)
            except ValueError:
                raise InvalidInputError(
                    f"{where}.extensions.speed", f"{text[:40]!r} is not a number"
                ) from None
            return _non_negative(f"{where}.extensions.speed", value)
        stack.extend(reversed(list(element)))
    return None

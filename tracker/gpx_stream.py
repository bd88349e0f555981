"""The GPX reader: the stdlib expat parser fed in 64 KiB chunks, keeping only what a track
needs (the rules and values are in :mod:`tracker.gpx`, whose docstring states them).

Why not a tree: a 49 MiB file parsed whole (gpxpy, ElementTree) took ~0.6-0.9 GB, and a valid
file could then fail for want of memory. Here the XML is never held: the handlers keep the
path of open elements (at most :data:`~tracker.gpx.MAX_DEPTH` short names), the text of the
one element being read (at most a few KiB) and the fixes in compact columns.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from xml.parsers import expat

from tracker.errors import InvalidInputError
from tracker.gpx import (
    MAX_DEPTH,
    MAX_GPX_BYTES,
    FixColumns,
    GpxTrack,
    RawPoint,
    point_fix,
    track_name,
)

__all__ = ["CHUNK_BYTES", "parse"]

#: Bytes handed to the parser at a time.
CHUNK_BYTES = 64 * 1024

# Text kept of one element: a time or a number is under 40 characters, a name under 500.
_MAX_TEXT = 4096
# Real files declare a handful of namespaces, each under 200 characters.
_MAX_NS_DECLS = 256
_MAX_NS_VALUE = 8192
_STARTS_LIKE_XML = re.compile(r"\s*<")
_POINT_FIELDS = frozenset({"time", "hdop", "pdop", "speed"})


def parse(source: Path | bytes | str) -> list[GpxTrack]:
    """Read ``source`` into tracks; see :func:`tracker.gpx.read_gpx`."""
    chunks = _chunks(source)  # checks the size of a str first
    if isinstance(source, str) and not _STARTS_LIKE_XML.match(source.removeprefix("\ufeff")):
        # The likeliest mistake: a file name passed as a str.
        raise InvalidInputError(
            "gpx", "not XML: a str is read as GPX text; pass a pathlib.Path to read a file"
        )
    reader = _Reader()
    for chunk in chunks:
        reader.feed(chunk, final=False)
    reader.feed(b"", final=True)
    return reader.result()


# ----------------------------------------------------------------------------- the bytes
def _chunks(source: Path | bytes | str) -> Iterator[bytes]:
    """The document as UTF-8 chunks. Raises at once for a size over the cap or a wrong type,
    and while iterating for a file that is unreadable, grows too large or is not UTF-8."""
    if isinstance(source, Path):
        return _checked_utf8(_file_chunks(source))
    if isinstance(source, bytes):
        if len(source) > MAX_GPX_BYTES:
            raise _too_large()
        return _checked_utf8(
            source[i : i + CHUNK_BYTES] for i in range(0, len(source), CHUNK_BYTES)
        )
    if isinstance(source, str):
        # Measuring the exact UTF-8 size means encoding a copy, so it is only done when the
        # string could be too large at all (UTF-8 needs at most 4 bytes per character).
        if len(source) * 4 > MAX_GPX_BYTES and _utf8_size(source) > MAX_GPX_BYTES:
            raise _too_large()
        return _str_chunks(source)
    raise InvalidInputError("gpx", f"expected a Path, bytes or str, not {type(source).__name__}")


def _file_chunks(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            # stat() answers a file that is too large before any parsing; the count below
            # holds even if the file grows while it is read.
            if path.stat().st_size > MAX_GPX_BYTES:
                raise _too_large()
            total = 0
            while chunk := handle.read(CHUNK_BYTES):
                total += len(chunk)
                if total > MAX_GPX_BYTES:
                    raise _too_large()
                yield chunk
    except OSError as exc:
        raise InvalidInputError("gpx", f"cannot read {path}: {exc.strerror}") from exc


def _str_chunks(text: str) -> Iterator[bytes]:
    step = CHUNK_BYTES // 4
    for start in range(0, len(text), step):
        try:
            yield text[start : start + step].encode("utf-8")
        except UnicodeEncodeError as exc:
            # A lone surrogate: no XML text can contain it.
            raise InvalidInputError(
                "gpx", f"not well-formed XML (character {start + exc.start} is not Unicode text)"
            ) from None


def _checked_utf8(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Pass ``chunks`` through, raising at the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes before the current chunk
    chunk = b""
    try:
        for chunk in chunks:
            pending = len(decoder.getstate()[0])
            decoder.decode(chunk)
            yield chunk
            offset += len(chunk)
        pending, chunk = len(decoder.getstate()[0]), b""
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            "gpx",
            f"not UTF-8 text (bad byte at offset {offset - pending + exc.start}): "
            "save the file as UTF-8",
        ) from None


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _too_large() -> InvalidInputError:
    return InvalidInputError(
        "gpx", f"file is larger than {MAX_GPX_BYTES // (1024 * 1024)} MiB: split the recording"
    )


# ----------------------------------------------------------------------------- the XML
def _refuse_declaration(*_: object) -> None:
    raise InvalidInputError(
        "gpx", "the document declares a DTD or entities, which GPX never needs: refused"
    )


class _Reader:
    """expat handlers that turn GPX elements into tracks as the parser meets them."""

    def __init__(self) -> None:
        # The encoding is fixed: the bytes were checked as UTF-8, whatever the file declares.
        parser = expat.ParserCreate(encoding="UTF-8")
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_declaration
        parser.EntityDeclHandler = _refuse_declaration
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        self._parser = parser
        self._stack: list[str] = []  # local names of the open elements
        self._root_seen = False
        self._namespaces = 0
        self._tracks: list[GpxTrack] = []
        self._routes: list[GpxTrack] = []
        self._route_error: InvalidInputError | None = None
        self._trk_count = 0
        self._rte_count = 0
        # The <trk> or <rte> being read ("" when none, or when a route is skipped).
        self._kind = ""
        self._where = ""
        self._name: str | None = None
        # A track's <type> and the trip id in its <extensions> (what `trip export` writes).
        self._type: str | None = None
        self._trip_id: str | None = None
        self._fixes = FixColumns()
        self._last: datetime | None = None
        self._dropped = 0
        self._segment = -1
        self._index = -1  # of the point in its segment (track) or route
        # The point being read, the depth of its element and of its <extensions>.
        self._point: RawPoint | None = None
        self._point_depth = -1
        self._ext_depth = -1
        # The element whose text is being kept, and where it goes.
        self._text: list[str] | None = None
        self._text_len = 0
        self._text_depth = -1
        self._text_into = ""
        self._text_closed = False

    # ------------------------------------------------------------------ feeding
    def feed(self, chunk: bytes, *, final: bool) -> None:
        try:
            self._parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            if exc.code == expat.errors.codes[expat.errors.XML_ERROR_NO_MEMORY]:
                # Not the file's fault: a valid file must not be called malformed.
                raise MemoryError(
                    "not enough memory to read the GPX file; close other programs or split it"
                ) from exc
            where = f"{expat.ErrorString(exc.code)} at line {exc.lineno}, column {exc.offset + 1}"
            if self._root_seen:
                raise InvalidInputError("gpx", f"not well-formed XML ({where})") from None
            raise InvalidInputError(
                "gpx", f"not a GPX document: no <gpx> root element ({where})"
            ) from None

    def result(self) -> list[GpxTrack]:
        if self._tracks:
            return self._tracks
        if self._rte_count:
            if self._route_error is not None:
                raise self._route_error
            return self._routes
        raise InvalidInputError("gpx", "the file has no <trk> track to import")

    # ------------------------------------------------------------------ handlers
    def _start(self, name: str, attrs: dict[str, str]) -> None:
        depth = len(self._stack)
        if depth >= MAX_DEPTH:
            raise InvalidInputError(
                "gpx", f"elements nested deeper than {MAX_DEPTH} levels: not a GPX document"
            )
        if attrs:
            self._count_namespaces(attrs)
        local = name.rpartition(":")[2]
        self._stack.append(local)
        if self._text is not None:
            # Like ElementTree's .text: only the text before an element's first child.
            self._text_closed = True
        if depth == 0:
            self._root_seen = True
            if local != "gpx":
                raise InvalidInputError("gpx", "not a GPX document: the root element is not <gpx>")
        elif self._point is not None:
            self._start_in_point(depth, local)
        elif depth == 1:
            if local == "trk":
                self._begin("trk")
            elif local == "rte":
                self._begin("rte")
        elif depth == 2 and self._kind:
            if local in ("name", "type"):
                self._keep_text(depth, local)
            elif local == "trkseg" and self._kind == "trk":
                self._segment += 1
                self._index = -1
            elif local == "rtept" and self._kind == "rte":
                self._begin_point(depth, attrs)
        elif depth == 3 and self._kind == "trk" and local == "trkpt" and self._stack[2] == "trkseg":
            self._begin_point(depth, attrs)
        elif (
            depth == 3
            and self._kind == "trk"
            and local == "trip_id"
            and self._stack[2] == "extensions"
            and self._text is None
        ):
            self._keep_text(depth, "trip_id")

    def _start_in_point(self, depth: int, local: str) -> None:
        point = self._point
        assert point is not None
        if depth == self._point_depth + 1:
            if local in _POINT_FIELDS and getattr(point, local) is None:
                self._keep_text(depth, local)
            elif local == "extensions" and self._ext_depth < 0:
                self._ext_depth = depth
        elif (
            0 <= self._ext_depth < depth
            and point.ext_speed is None
            and self._text is None
            and local.lower() == "speed"
        ):
            self._keep_text(depth, "ext_speed")

    def _end(self, _name: str) -> None:
        self._stack.pop()
        depth = len(self._stack)
        if self._text is not None and depth == self._text_depth:
            self._store_text()
        if self._point is not None:
            if depth == self._point_depth:
                self._end_point()
            elif depth == self._ext_depth:
                self._ext_depth = -1
        elif depth == 1 and self._kind:
            self._end_container()

    def _chars(self, data: str) -> None:
        if self._text is not None and not self._text_closed and self._text_len < _MAX_TEXT:
            self._text.append(data)
            self._text_len += len(data)

    def _count_namespaces(self, attrs: dict[str, str]) -> None:
        for key, value in attrs.items():
            if key == "xmlns" or key.startswith("xmlns:"):
                self._namespaces += 1
                if self._namespaces > _MAX_NS_DECLS or len(value) > _MAX_NS_VALUE:
                    raise InvalidInputError(
                        "gpx",
                        f"more than {_MAX_NS_DECLS} namespace declarations or one longer than "
                        f"{_MAX_NS_VALUE} characters: not a valid GPX document",
                    )

    # ------------------------------------------------------------------ text
    def _keep_text(self, depth: int, into: str) -> None:
        self._text, self._text_len, self._text_depth = [], 0, depth
        self._text_into, self._text_closed = into, False

    def _store_text(self) -> None:
        assert self._text is not None
        text = "".join(self._text)[:_MAX_TEXT]
        self._text = None
        if self._text_into == "name":
            if self._name is None:
                self._name = text
        elif self._text_into == "type":
            if self._type is None:
                self._type = text
        elif self._text_into == "trip_id":
            if self._trip_id is None:
                self._trip_id = text
        elif self._point is not None:
            setattr(self._point, self._text_into, text)

    # ------------------------------------------------------------------ tracks and points
    def _begin(self, kind: str) -> None:
        if kind == "trk":
            where = f"gpx.trk[{self._trk_count}]"
            self._trk_count += 1
            # Routes only count in a file without tracks.
            self._routes, self._route_error = [], None
        else:
            where = f"gpx.rte[{self._rte_count}]"
            self._rte_count += 1
            if self._trk_count or self._route_error is not None:
                return  # skipped: routes beside tracks, or after a bad route
        self._kind, self._where, self._name = kind, where, None
        self._type, self._trip_id = None, None
        self._fixes, self._last, self._dropped = FixColumns(), None, 0
        self._segment, self._index = -1, -1

    def _begin_point(self, depth: int, attrs: dict[str, str]) -> None:
        self._index += 1
        self._point = RawPoint(attrs.get("lat"), attrs.get("lon"))
        self._point_depth, self._ext_depth = depth, -1

    def _end_point(self) -> None:
        raw, self._point = self._point, None
        assert raw is not None
        if self._kind == "trk":
            where = f"{self._where}.trkseg[{self._segment}].trkpt[{self._index}]"
        else:
            where = f"{self._where}.rtept[{self._index}]"
        try:
            if self._kind == "rte" and not (raw.time or "").strip():
                raise InvalidInputError(
                    f"{where}.time",
                    "a route without times is a plan, not a recorded trip: import a <trk> track",
                )
            fix = point_fix(where, raw, self._last)
        except InvalidInputError as err:
            self._fail(err)
            return
        if fix.time == self._last:
            # Logged twice in one second: the first is kept (see the module docstring).
            self._dropped += 1
            return
        self._fixes.append(fix)
        self._last = fix.time

    def _end_container(self) -> None:
        kind = self._kind
        if not self._fixes:
            noun = "track" if kind == "trk" else "route"
            self._fail(InvalidInputError(self._where, f"the {noun} has no points"))
            return
        self._kind = ""
        track = GpxTrack(
            track_name(self._name),
            self._fixes,
            self._dropped,
            kind=track_name(self._type),
            trip_id=track_name(self._trip_id),
        )
        (self._tracks if kind == "trk" else self._routes).append(track)

    def _fail(self, err: InvalidInputError) -> None:
        if self._kind == "trk":
            raise err
        # A route's fault only matters if the file turns out to have no track.
        self._route_error = err
        self._kind = ""
        self._point = None

"""GPX import: the fixture tracks and their known lengths, and every kind of bad file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.errors import InvalidInputError
from tracker.geo import TrackFilter, clean_track, local_date, summarize, track_length_m
from tracker.gpx import DOP_TO_METRES, MAX_DEPTH, MAX_GPX_BYTES, read_gpx

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gpx"
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Known:
    """A row of the table in fixtures/README.md (computed by bench/make_gpx_fixtures.py)."""

    fixes: int
    kept: int
    dropped_accuracy: int
    dropped_speed: int
    duration: timedelta
    true_m: float
    expected_m: float
    tz: ZoneInfo
    local_start_date: date


KNOWN = {
    "city_commute_berlin.gpx": Known(
        1335, 1328, 6, 1, timedelta(minutes=22, seconds=54), 11646.5, 11808.3, BERLIN,
        date(2024, 5, 14),
    ),
    "motorway_a9_midnight.gpx": Known(
        853, 851, 2, 0, timedelta(hours=1, minutes=11), 146313.1, 146317.2, BERLIN,
        date(2024, 1, 12),
    ),
    "dst_fallback_hamburg_bremen.gpx": Known(
        379, 378, 1, 0, timedelta(hours=1, minutes=3), 92687.6, 92680.6, BERLIN,
        date(2024, 10, 27),
    ),
    "parked_car_jitter.gpx": Known(
        74, 70, 3, 1, timedelta(minutes=6), 0.0, 37.1, BERLIN, date(2024, 6, 3)
    ),
    "ferry_taveuni_antimeridian.gpx": Known(
        559, 556, 2, 1, timedelta(minutes=46, seconds=30), 18381.7, 18397.3,
        ZoneInfo("Pacific/Fiji"), date(2024, 7, 15),
    ),
}  # fmt: skip


# ------------------------------------------------------------------------------- fixtures


def test_every_fixture_has_a_known_length_and_is_small() -> None:
    files = sorted(FIXTURES.glob("*.gpx"))
    assert {f.name for f in files} == set(KNOWN)
    assert all(f.stat().st_size < 1_000_000 for f in files)
    assert sum(f.stat().st_size for f in files) < 3_000_000


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_fixture_filtered_length_matches_the_known_length(name: str) -> None:
    known = KNOWN[name]
    [track] = read_gpx(FIXTURES / name)
    assert len(track.fixes) == known.fixes
    assert track.name

    summary = summarize(track.fixes, TrackFilter(), "km")
    assert (summary.kept, summary.dropped_accuracy, summary.dropped_speed) == (
        known.kept,
        known.dropped_accuracy,
        known.dropped_speed,
    )
    assert summary.duration == known.duration

    length = track_length_m(clean_track(track.fixes, TrackFilter()))
    # Both are WGS-84 geodesic lengths (the generator's through geographiclib alone): equal to
    # a millimetre per kilometre at worst (short steps use the local radii, see geo.step_m),
    # plus the 5 cm of the known length's rounding to 0.1 m.
    assert abs(length - known.expected_m) <= 1e-6 * known.expected_m + 0.05
    # The stored value is that length, converted once.
    assert abs(summary.distance - Decimal(known.expected_m) / 1000) <= Decimal("0.001")
    if known.true_m:
        assert abs(length - known.true_m) <= 0.02 * known.true_m
    else:
        assert summary.distance < Decimal("0.050")
    assert local_date(summary.start.time, known.tz) == known.local_start_date


def test_fixture_times_are_utc_and_in_order() -> None:
    for name in KNOWN:
        [track] = read_gpx(FIXTURES / name)
        assert all(f.time.tzinfo is UTC for f in track.fixes)
        assert all(a.time <= b.time for a, b in zip(track.fixes, track.fixes[1:], strict=False))


def test_city_commute_joins_its_segments_and_reads_hdop_and_gpxtpx_speed() -> None:
    [track] = read_gpx(FIXTURES / "city_commute_berlin.gpx")
    gaps = [
        (b.time - a.time).total_seconds()
        for a, b in zip(track.fixes, track.fixes[1:], strict=False)
    ]
    # 1 Hz, except one 41 s jump where the second <trkseg> starts.
    assert sorted(set(gaps)) == [1.0, 41.0]
    first = track.fixes[0]
    # <hdop>1.1</hdop> and <gpxtpx:speed>0.02</gpxtpx:speed> in the file.
    assert first.accuracy == pytest.approx(1.1 * DOP_TO_METRES)
    assert first.speed == pytest.approx(0.02)
    assert track.fixes[3].speed == pytest.approx(5.62)
    assert sum(f.accuracy is not None and f.accuracy > 50 for f in track.fixes) == 6


def test_motorway_trip_crosses_midnight_but_keeps_its_start_date() -> None:
    [track] = read_gpx(FIXTURES / "motorway_a9_midnight.gpx")
    summary = summarize(track.fixes, TrackFilter(), "km")
    assert summary.start.time.astimezone(BERLIN).date() == date(2024, 1, 12)
    assert summary.end.time.astimezone(BERLIN).date() == date(2024, 1, 13)
    assert local_date(summary.start.time, BERLIN) == date(2024, 1, 12)
    assert summary.distance == pytest.approx(Decimal("146.3"), abs=Decimal("0.7"))


def test_dst_track_offsets_are_converted_to_utc() -> None:
    [track] = read_gpx(FIXTURES / "dst_fallback_hamburg_bremen.gpx")
    # Written as 02:20:00+02:00 ... 02:59:50+02:00, 02:00:00+01:00 ... 02:23:00+01:00.
    assert track.fixes[0].time == datetime(2024, 10, 27, 0, 20, tzinfo=UTC)
    assert track.fixes[-1].time == datetime(2024, 10, 27, 1, 23, tzinfo=UTC)
    steps = {
        (b.time - a.time).total_seconds()
        for a, b in zip(track.fixes, track.fixes[1:], strict=False)
    }
    assert steps == {10.0}  # no hour jump backwards or forwards at the change
    assert all(f.speed is None for f in track.fixes)


def test_parked_car_is_a_zero_km_trip_despite_a_stale_first_fix() -> None:
    [track] = read_gpx(FIXTURES / "parked_car_jitter.gpx")
    summary = summarize(track.fixes, TrackFilter(), "km")
    assert summary.start == track.fixes[1]  # the stale first fix is not the start point
    assert summary.distance < Decimal("0.050")
    # Without the speed filter the stale fix alone would add its 1.3 km.
    unfiltered = [f for f in track.fixes if f.accuracy is not None and f.accuracy <= 50]
    assert track_length_m(unfiltered) > 1_300


def test_ferry_crosses_the_antimeridian_with_pdop_accuracy() -> None:
    [track] = read_gpx(FIXTURES / "ferry_taveuni_antimeridian.gpx")
    assert any(f.lng > 179.99 for f in track.fixes)
    assert any(f.lng < -179.97 for f in track.fixes)
    summary = summarize(track.fixes, TrackFilter(), "km")
    assert Decimal("18") < summary.distance < Decimal("19")  # not 40,000 km the long way
    assert summary.start.time.date() == date(2024, 7, 14)  # UTC
    assert local_date(summary.start.time, ZoneInfo("Pacific/Fiji")) == date(2024, 7, 15)
    # No <hdop> in this file: accuracy is <pdop> x 5 m; speed from a plain <extensions><speed>.
    assert all(f.accuracy is not None for f in track.fixes)
    assert all(f.speed is not None for f in track.fixes)


# ------------------------------------------------------------------------------- inline GPX

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"'
    ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">'
)


def pt(
    minute: int,
    lat: str = "52.5",
    lon: str = "13.4",
    extra: str = "",
    *,
    when: str | None = None,
    tag: str = "trkpt",
) -> str:
    stamp = f"2024-05-14T06:{minute:02d}:00Z" if when is None else when
    time_el = f"<time>{stamp}</time>" if stamp else ""
    return f'<{tag} lat="{lat}" lon="{lon}">{time_el}{extra}</{tag}>'


def gpx(*tracks: str, other: str = "") -> str:
    return HEAD + other + "".join(tracks) + "</gpx>"


def trk(*segments: list[str], name: str = "") -> str:
    name_el = f"<name>{name}</name>" if name else ""
    return (
        "<trk>" + name_el + "".join(f"<trkseg>{''.join(s)}</trkseg>" for s in segments) + "</trk>"
    )


def invalid(source: Path | bytes | str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as err:
        read_gpx(source)
    return err.value


def test_reads_all_tracks_joins_segments_and_ignores_routes_beside_tracks() -> None:
    doc = gpx(
        trk([pt(0), pt(1)], [pt(5), pt(6)], name=" Morning "),
        trk([pt(10)]),
        other=f"<wpt lat='1' lon='2'/><rte>{pt(0, tag='rtept', when='')}</rte>",
    )
    tracks = read_gpx(doc)
    assert [t.name for t in tracks] == ["Morning", None]
    assert [len(t.fixes) for t in tracks] == [4, 1]
    assert tracks[0].fixes[2].time == datetime(2024, 5, 14, 6, 5, tzinfo=UTC)


def test_reads_bytes_with_a_bom_and_a_path(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + gpx(trk([pt(0)])).encode()
    path = tmp_path / "t.gpx"
    path.write_bytes(data)
    assert read_gpx(data) == read_gpx(path) == read_gpx(data.decode("utf-8"))


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-05-14T06:00:00Z", datetime(2024, 5, 14, 6, 0, tzinfo=UTC)),
        ("2024-05-14T06:00:00.250Z", datetime(2024, 5, 14, 6, 0, 0, 250_000, tzinfo=UTC)),
        ("2024-05-14T08:00:00+02:00", datetime(2024, 5, 14, 6, 0, tzinfo=UTC)),
        ("2024-05-14T01:30:00-04:30", datetime(2024, 5, 14, 6, 0, tzinfo=UTC)),
        # GPX 1.1 defines <time> as UTC: a time without a zone is UTC, not local time.
        ("2024-05-14T06:00:00", datetime(2024, 5, 14, 6, 0, tzinfo=UTC)),
    ],
)
def test_times_become_aware_utc(stamp: str, expected: datetime) -> None:
    [track] = read_gpx(gpx(trk([pt(0, when=stamp)])))
    assert track.fixes[0].time == expected
    assert track.fixes[0].time.tzinfo is UTC


@pytest.mark.parametrize(
    ("extra", "accuracy"),
    [
        ("<hdop>1.4</hdop>", 1.4 * DOP_TO_METRES),
        ("<pdop>3</pdop>", 3 * DOP_TO_METRES),
        ("<hdop>2</hdop><vdop>3</vdop><pdop>3.6</pdop>", 2 * DOP_TO_METRES),  # hdop wins
        ("<vdop>3</vdop>", None),
        ("", None),
    ],
)
def test_accuracy_comes_from_hdop_else_pdop(extra: str, accuracy: float | None) -> None:
    [track] = read_gpx(gpx(trk([pt(0, extra=extra)])))
    assert track.fixes[0].accuracy == (None if accuracy is None else pytest.approx(accuracy))


@pytest.mark.parametrize(
    ("extra", "speed"),
    [
        (
            "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>90</gpxtpx:hr>"
            "<gpxtpx:speed>13.9</gpxtpx:speed></gpxtpx:TrackPointExtension></extensions>",
            13.9,
        ),
        ("<extensions><speed> 4.5 </speed></extensions>", 4.5),
        ("<extensions><course>90</course></extensions>", None),
        ("", None),
    ],
)
def test_speed_comes_from_extensions(extra: str, speed: float | None) -> None:
    [track] = read_gpx(gpx(trk([pt(0, extra=extra)])))
    assert track.fixes[0].speed == speed


def test_gpx_10_speed_element_is_read() -> None:
    doc = (
        '<gpx version="1.0" creator="t" xmlns="http://www.topografix.com/GPX/1/0"><trk><trkseg>'
        '<trkpt lat="1" lon="2"><time>2024-05-14T06:00:00Z</time><speed>7.25</speed></trkpt>'
        "</trkseg></trk></gpx>"
    )
    [track] = read_gpx(doc)
    assert track.fixes[0].speed == 7.25


def test_routes_with_times_are_imported_when_there_is_no_track() -> None:
    [track] = read_gpx(
        gpx(other=f"<rte><name>r</name>{pt(0, tag='rtept')}{pt(3, tag='rtept')}</rte>")
    )
    assert track.name == "r"
    assert len(track.fixes) == 2


def test_antimeridian_and_pole_coordinates_are_valid() -> None:
    [track] = read_gpx(
        gpx(trk([pt(0, "-16.78", "180"), pt(1, "-16.78", "-180"), pt(2, "90", "0")]))
    )
    assert [f.lng for f in track.fixes] == [180.0, -180.0, 0.0]


def test_nested_extensions_are_read_up_to_the_depth_limit() -> None:
    # gpx/trk/trkseg/trkpt/extensions are 5 levels and <speed> one: the rest is for <a>.
    levels = MAX_DEPTH - 6
    deep = "<extensions>" + "<a>" * levels + "<speed>3</speed>" + "</a>" * levels
    [track] = read_gpx(gpx(trk([pt(0, extra=deep + "</extensions>")])))
    assert track.fixes[0].speed == 3.0
    # One level more is refused, as is a nesting bomb (no recursion, no stack of 50,000).
    for depth in (MAX_DEPTH - 4, 50_000):  # MAX_DEPTH - 4 <a>: the last at MAX_DEPTH + 1
        deep = "<extensions>" + "<a>" * depth + "</a>" * depth + "</extensions>"
        err = invalid(gpx(trk([pt(0, extra=deep)])))
        assert err.field == "gpx"
        assert "nested deeper" in str(err)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + ']><gpx version="1.1"><trk><name>&j;</name><trkseg>'
    + pt(0)
    + "</trkseg></trk></gpx>"
)


@pytest.mark.parametrize(
    ("source", "field", "message"),
    [
        ("hello, world", "gpx", "pass a pathlib.Path"),
        ("track.gpx", "gpx", "pass a pathlib.Path"),
        ("", "gpx", "not XML"),
        (b"\x00\x01\x02garbage", "gpx", "not a GPX document"),
        ("<html><body>hi</body></html>", "gpx", "root element is not <gpx>"),
        ('<?xml version="1.0"?><!-- c --><kml/>', "gpx", "root element is not <gpx>"),
        ("<gpx", "gpx", "root element"),
        (HEAD + "<trk><trkseg>", "gpx", "not well-formed XML"),
        (HEAD + "<trk></gpx>", "gpx", "not well-formed XML"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?><gpx><trk><name>M\xfcnchen'.encode("latin-1")
         + b"</name></trk></gpx>", "gpx", "not UTF-8"),
        ("<gpx><trk><name>\ud800</name></trk></gpx>", "gpx", "not well-formed XML"),
        (gpx(), "gpx", "no <trk>"),
        (gpx(other="<wpt lat='1' lon='2'><time>2024-05-14T06:00:00Z</time></wpt>"), "gpx",
         "no <trk>"),
        (gpx(trk(name="empty")), "gpx.trk[0]", "no points"),
        (gpx(trk([])), "gpx.trk[0]", "no points"),
        (gpx(trk([pt(0)]), trk([], [])), "gpx.trk[1]", "no points"),
        (gpx(trk([pt(0), pt(1, when="")])), "gpx.trk[0].trkseg[0].trkpt[1].time", "<time>"),
        (gpx(trk([pt(0, when="yesterday")])), "gpx.trk[0].trkseg[0].trkpt[0].time", "<time>"),
        (gpx(trk([pt(0, when="2024-13-45T06:00:00Z")])), "gpx.trk[0].trkseg[0].trkpt[0].time",
         "<time>"),
        (gpx(trk([pt(0, when="9999-12-31T23:00:00-05:00")])),
         "gpx.trk[0].trkseg[0].trkpt[0].time", "out of range"),
        (gpx(trk([pt(0), pt(5), pt(3)])), "gpx.trk[0].trkseg[0].trkpt[2].time", "time order"),
        (gpx(trk([pt(0), pt(5)], [pt(4)])), "gpx.trk[0].trkseg[1].trkpt[0].time", "time order"),
        (gpx(trk([pt(0)]), trk([pt(1), pt(2, lat="90.5")])), "gpx.trk[1].trkseg[0].trkpt[1].lat",
         "outside [-90, 90]"),
        (gpx(trk([pt(0, lat="-91")])), "gpx.trk[0].trkseg[0].trkpt[0].lat", "outside"),
        (gpx(trk([pt(0, lat="NaN")])), "gpx.trk[0].trkseg[0].trkpt[0].lat", "outside"),
        (gpx(trk([pt(0, lon="180.0001")])), "gpx.trk[0].trkseg[0].trkpt[0].lon",
         "outside [-180, 180]"),
        (gpx(trk([pt(0, lon="inf")])), "gpx.trk[0].trkseg[0].trkpt[0].lon", "outside"),
        (gpx(trk([pt(0, lat="north")])), "gpx", "not a valid GPX document"),
        (gpx(trk(['<trkpt lon="13"><time>2024-05-14T06:00:00Z</time></trkpt>'])), "gpx",
         "not a valid GPX document"),
        (gpx(trk([pt(0, extra="<hdop>-1</hdop>")])), "gpx.trk[0].trkseg[0].trkpt[0].hdop",
         ">= 0"),
        (gpx(trk([pt(0, extra="<pdop>nan</pdop>")])), "gpx.trk[0].trkseg[0].trkpt[0].pdop",
         ">= 0"),
        (gpx(trk([pt(0, extra="<hdop>good</hdop>")])), "gpx", "not a valid GPX document"),
        (gpx(trk([pt(0, extra="<extensions><speed>fast</speed></extensions>")])),
         "gpx.trk[0].trkseg[0].trkpt[0].extensions.speed", "not a number"),
        (gpx(trk([pt(0, extra="<extensions><speed>-1</speed></extensions>")])),
         "gpx.trk[0].trkseg[0].trkpt[0].extensions.speed", ">= 0"),
        (gpx(other=f"<rte>{pt(0, tag='rtept')}{pt(1, tag='rtept', when='')}</rte>"),
         "gpx.rte[0].rtept[1].time", "a plan, not a recorded trip"),
        (gpx(other="<rte><name>empty</name></rte>"), "gpx.rte[0]", "no points"),
        # Hostile documents: entity expansion, external entities, namespace floods.
        (BILLION_LAUGHS, "gpx", "DTD or entities"),
        ('<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
         '<gpx version="1.1"><trk><name>&x;</name></trk></gpx>', "gpx", "DTD or entities"),
        ('<gpx><!DOCTYPE gpx></gpx>', "gpx", "not well-formed XML"),
        ("<gpx><trk><name>&x;</name></trk></gpx>", "gpx", "undefined entity at line 1"),
        ("<gpx" + "".join(f' xmlns:n{i}="u{i}"' for i in range(300)) + "/>", "gpx",
         "namespace"),
        (gpx(trk([pt(0, extra="".join(f'<x xmlns:n{i}="u"/>' for i in range(255)))])), "gpx",
         "namespace"),  # 2 in HEAD + 255
        ('<gpx xmlns:a="' + "x" * 10_000 + '"/>', "gpx", "namespace"),
        # Text that only looks like declarations is text (gpxpy's regex scan needed limits).
        ("<gpx>" + " xmlns" * 50_000 + "</gpx>", "gpx", "no <trk>"),
        ('<gpx xmlns:a="' + "x" * 100_000 + "></gpx>", "gpx", "not a GPX document"),
        # Syntax errors say where.
        (HEAD + "\n<trk>\n<trkseg></trk></gpx>", "gpx", "mismatched tag at line 4, column 11"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(source: bytes | str, field: str, message: str) -> None:
    err = invalid(source)
    assert err.field == field
    assert message in str(err)


def _best_time(read: Callable[[], object]) -> float:
    """Seconds ``read`` takes, best of 3 (the least disturbed run)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        read()
        times.append(time.perf_counter() - start)
    return min(times)


def test_hostile_documents_are_refused_about_as_fast_as_a_track_of_their_size_is_read() -> None:
    # Against a baseline in the same run (a valid track of about the same size), never a
    # wall-clock limit: a blow-up (entity expansion, a scan quadratic in the input) costs
    # hundreds of times the baseline; a loaded machine slows both alike.
    hostile = [
        BILLION_LAUGHS,
        "<gpx" + "".join(f' xmlns:n{i}="u"' for i in range(200_000)) + "/>",
        "<gpx>" + " xmlns" * 200_000 + "</gpx>",  # once quadratic in gpxpy's scan
    ]
    point = len(pt(0))
    for source in hostile:
        start = datetime(2026, 3, 1, tzinfo=UTC)
        times = (start + timedelta(seconds=i) for i in range(max(len(source) // point, 10)))
        track = gpx(trk([pt(0, when=t.strftime("%Y-%m-%dT%H:%M:%SZ")) for t in times]))
        baseline = _best_time(lambda: read_gpx(track))  # noqa: B023 (used at once)
        refused = _best_time(lambda: invalid(source))  # noqa: B023
        assert refused <= 10 * baseline, (source[:40], refused, baseline)


def test_size_cap(tmp_path: Path) -> None:
    too_big = b" " * MAX_GPX_BYTES + b"<"
    assert "larger than 50 MiB" in str(invalid(too_big))
    path = tmp_path / "huge.gpx"
    with path.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(MAX_GPX_BYTES + 1)
    assert "larger than 50 MiB" in str(invalid(path))
    assert "larger than 50 MiB" in str(invalid(" " * (MAX_GPX_BYTES + 1)))
    # Exactly at the cap is still read (and then judged on its content).
    assert "larger than" not in str(invalid(b" " * MAX_GPX_BYTES))


def test_unreadable_path(tmp_path: Path) -> None:
    err = invalid(tmp_path / "missing.gpx")
    assert err.field == "gpx"
    assert "cannot read" in str(err)
    assert "cannot read" in str(invalid(tmp_path))  # a directory


def test_other_source_types_are_refused() -> None:
    assert invalid(bytearray(b"<gpx/>")).field == "gpx"  # type: ignore[arg-type]


VALID = gpx(trk([pt(0, extra="<hdop>1</hdop>"), pt(1), pt(2)], [pt(3)], name="x"))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mangled_files_never_leak_a_parser_exception(data: st.DataObject) -> None:
    # Cut, splice or overwrite a valid file anywhere: the answer is tracks or InvalidInputError.
    start = data.draw(st.integers(0, len(VALID)))
    end = data.draw(st.integers(start, len(VALID)))
    filler = data.draw(st.text(max_size=20))
    mangled = VALID[:start] + filler + VALID[end:]
    try:
        tracks = read_gpx(mangled)
    except InvalidInputError:
        return
    assert all(t.fixes for t in tracks)


@given(st.binary(max_size=200))
def test_random_bytes_never_leak_a_parser_exception(blob: bytes) -> None:
    with pytest.raises(InvalidInputError):
        read_gpx(blob)


def test_fixes_are_compact_columns_that_read_as_fixes() -> None:
    [track] = read_gpx(VALID)
    fixes = track.fixes
    assert len(fixes) == 4
    assert fixes[0].accuracy == DOP_TO_METRES and fixes[1].accuracy is None  # NaN: unknown
    assert fixes[-1] == fixes[3] == list(fixes)[3] == fixes[2:][1]
    assert fixes == read_gpx(VALID)[0].fixes  # unknown accuracy equals itself
    with pytest.raises(IndexError):
        fixes[4]


def test_a_large_file_is_read_in_chunks_with_the_errors_of_a_small_one(tmp_path: Path) -> None:
    # Far more than one 64 KiB chunk; the bad point sits past the first chunks.
    points = [pt(0, when=f"2024-05-14T{6 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z")
              for i in range(5000)]  # fmt: skip
    path = tmp_path / "long.gpx"
    path.write_text(gpx(trk(points)))
    [track] = read_gpx(path)
    assert len(track.fixes) == 5000
    points[4321] = pt(0, lat="91")
    path.write_text(gpx(trk(points)))
    assert invalid(path).field == "gpx.trk[0].trkseg[0].trkpt[4321].lat"

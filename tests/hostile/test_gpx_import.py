"""GPX files as receivers really write them (finding 11 of issue 13): two fixes logged in the
same second are one position, not a reason to refuse the whole file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tracker.gpx import read_gpx

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><name>same second</name><trkseg>
  <trkpt lat="52.5200" lon="13.4050"><time>2026-03-01T08:00:00Z</time></trkpt>
  <trkpt lat="52.5201" lon="13.4051"><time>2026-03-01T08:00:01Z</time></trkpt>
  <trkpt lat="52.5201" lon="13.4051"><time>2026-03-01T08:00:01Z</time></trkpt>
  <trkpt lat="52.5210" lon="13.4060"><time>2026-03-01T08:00:10Z</time></trkpt>
 </trkseg></trk>
</gpx>
"""


def test_a_fix_in_the_same_second_is_dropped_and_the_file_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ride.gpx"
    path.write_text(GPX)

    code, out, err = run(capsys, "trip", "import", str(path), "--json")

    assert code == 0, err
    assert "waypoints[" not in err
    assert "same time" in err  # the user is told what was dropped
    [trip] = json.loads(out)
    assert trip["description"] == "same second"
    [track] = read_gpx(path)
    assert [f.time.second for f in track.fixes] == [0, 1, 10]
    assert track.same_time_dropped == 1


def test_a_point_going_back_in_time_names_its_place_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "back.gpx"
    path.write_text(GPX.replace("08:00:10Z", "07:59:00Z"))
    code, _, err = run(capsys, "trip", "import", str(path))
    assert code == 65
    assert "gpx.trk[0].trkseg[0].trkpt[3].time" in err

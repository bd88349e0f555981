"""``tracker report --format pdf`` through the real CLI on a real database: written to
``--out`` with the CSV's figures, to a redirected stdout, refused on a terminal (exit 2), and
without fpdf2 a one-line hint naming the ``pdf`` extra (exit 78).

PDFs are read back with pypdfium2 (pdftoppm's stand-in: tests/tracker/test_report_pdf.py)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests.helpers.cli import run, run_json

Capture = pytest.CaptureFixture[str]
REPORT = ("report", "--year", "2022", "--jurisdiction", "us-irs")


def text_of(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in doc)
    finally:
        doc.close()


def a_year(capsys: Capture) -> str:
    car = str(run_json(capsys, "car", "add", "Golf")["id"])
    for day, reading in (("2022-01-01", "10000"), ("2022-12-31", "10100")):
        code, _, err = run(
            capsys, "car", "odometer", car, "--date", day, "--reading", reading, "--unit", "mile"
        )
        assert code == 0, err
    for day, miles in (("2022-06-30", "100"), ("2022-07-01", "100")):
        run_json(
            capsys, "trip", "add", "--date", day, "--distance", miles, "--unit", "mile",
            "-c", "business", "--car", car, "-d", f"visit {day}",
        )  # fmt: skip
    return car


def tracker(*argv: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "sync.cli", *argv], env=dict(os.environ), timeout=60, **kw
    )


def test_pdf_to_a_file_has_the_csvs_totals_and_the_odometer_warning(
    capsys: Capture, tmp_path: Path
) -> None:
    car = a_year(capsys)
    out = tmp_path / "log.pdf"
    code, stdout, err = run(capsys, *REPORT, "--format", "pdf", "--out", str(out))
    assert (code, stdout, err) == (0, "", "")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(("log", ".log"))] == ["log.pdf"]
    text = text_of(out.read_bytes())
    code, stdout, _ = run(capsys, *REPORT, "--format", "csv")
    rows = list(csv.reader(io.StringIO(stdout.lstrip("\ufeff"))))
    totals = {r[0]: r[1:] for r in rows[rows.index(["totals"]) + 1 :]}
    assert totals["deduction"][:2] == ["121.00", "USD"]  # 100 x 0.585 + 100 x 0.625
    assert f"deduction {totals['deduction'][0]} USD" in text
    assert f"grand total {totals['grand total'][0]} USD" in text
    assert f"business distance {totals['business distance'][0]} mile" in text
    # The odometer at the start and end of the period and its warning (200 mi > 100).
    assert f"car {car}: start 10000 mile on 2022-01-01, end 10100 mile on 2022-12-31" in text
    assert "warning:" in text and totals["odometer warning"][0][:20] in text
    # The log: each trip's row (purpose, then customer and car, then the figures).
    june, july = text.index("visit 2022-06-30 "), text.index("visit 2022-07-01 ")
    assert text.index("business 100 mile 0.585 58.50 USD entered by hand", june) < july
    assert text.index("business 100 mile 0.625 62.50 USD entered by hand", july) > july


def test_pdf_to_a_redirected_stdout(capsys: Capture) -> None:
    a_year(capsys)
    done = tracker(*REPORT, "--format", "pdf", capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"%PDF-") and done.stdout.rstrip().endswith(b"%%EOF")
    assert "deduction 121.00 USD" in text_of(done.stdout)


def test_pdf_onto_a_terminal_is_a_usage_error(capsys: Capture) -> None:
    a_year(capsys)
    main, child = os.openpty()
    try:
        done = tracker(*REPORT, "--format", "pdf", stdout=child, stderr=subprocess.PIPE)
        os.close(child)
        shown = b""
        while True:  # what reached the terminal (EOF or EIO once the child is gone)
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert done.returncode == 2
    err = " ".join(done.stderr.decode().split())
    assert "a PDF cannot be shown on a terminal: give --out FILE" in err
    assert b"%PDF" not in shown


def test_without_fpdf2_the_pdf_names_the_extra_and_exits_78(
    capsys: Capture, tmp_path: Path
) -> None:
    a_year(capsys)
    out = tmp_path / "log.pdf"
    # An install without the 'pdf' extra: fpdf cannot be imported in this interpreter.
    probe = (
        "import sys\n"
        "sys.modules['fpdf'] = None\n"
        "from sync.cli import main\n"
        f"main({[*REPORT, '--format', 'pdf', '--out', str(out)]!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=dict(os.environ), capture_output=True, timeout=60
    )
    assert done.returncode == 78, done.stderr
    assert done.stderr.decode().splitlines() == [
        "error: tracker report --format pdf needs the 'pdf' extra (import of fpdf halted; "
        "None in sys.modules): pip install 'trip-tracker[pdf]'"
    ]
    assert not out.exists() and not list(tmp_path.glob(".log.pdf.*"))
    # The library says the same, typed (a MissingExtraError, exit 78 in the CLI).
    library = (
        "import io, sys\n"
        "sys.modules['fpdf'] = None\n"
        "from tracker.errors import MissingExtraError\n"
        "from tracker.report.renderers import render_pdf\n"
        "try:\n"
        "    render_pdf(None, io.BytesIO())\n"
        "except MissingExtraError as err:\n"
        "    print(err.extra, err)\n"
    )
    said = subprocess.run(
        [sys.executable, "-c", library], env=dict(os.environ), capture_output=True, text=True
    )
    assert said.stdout.startswith("pdf a PDF report needs the 'pdf' extra"), said.stderr
    assert "pip install 'trip-tracker[pdf]'" in said.stdout

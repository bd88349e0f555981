"""The library examples in the README and docs/library.md run as written, in a real process,
against the bundled sandbox on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxServer, serve

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(page: str, section: str | None = None) -> list[str]:
    text = (ROOT / page).read_text(encoding="utf-8")
    if section is not None:
        text = text.split(section, 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(text)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with serve(Sandbox()) as running:
        yield running


def run(code: str, home: Path, server: SandboxServer) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        TRACKER_HOME=str(home),
        TRACKER_TIMEZONE="UTC",
        TRACKER_MILEAGE_URL=server.tight_url,
        TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )


@pytest.mark.slow
def test_the_readme_library_example_runs(tmp_path: Path, server: SandboxServer) -> None:
    (code,) = blocks("README.md", "## As a library")
    done = run(code, tmp_path / "home", server)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["1", "1 synced"]


@pytest.mark.slow
def test_the_library_page_runs_top_to_bottom(tmp_path: Path, server: SandboxServer) -> None:
    code = "\n".join(blocks("docs/library.md"))
    assert code.count("open_app") >= 4
    done = run(code, tmp_path / "home", server)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(" km pending")
    assert lines[1] == "2"
    assert lines[2:4] == ["True 2 {}", "None"]
    assert lines[4:] == ["True", "0", "True", "True"]
    assert done.stderr == ""

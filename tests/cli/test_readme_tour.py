"""The README's CLI tour, run as written (in bash, with the installed ``tracker``) against
the sandbox: every command works and says what its comment claims."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gpx"
# Not run here: installing completion edits the user's shell files (tests/cli/
# test_completion.py covers it), and resolving needs a conflict (tests/cli/
# test_conflicts_cli.py makes one).
NOT_RUN = ("tracker --install-completion", "tracker conflicts resolve")


def tour() -> list[tuple[str, str]]:
    """(command, its comment) for each line of the README's tour."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## A short CLI tour", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = []
    for raw in block.splitlines():
        command, _, comment = raw.partition("  #")
        lines.append((command.strip(), comment.strip()))
    return lines


@pytest.mark.usefixtures("point_at_sandbox")
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    gpx = sorted(FIXTURES.glob("*.gpx"))[0]
    shutil.copy(gpx, tmp_path / "drive.gpx")
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "tracker").exists(), "the console script is installed with the package"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    steps = [(c, note) for c, note in tour() if not c.startswith(NOT_RUN)]
    assert len(steps) >= 8
    # One shell, so ID=$(...) carries over; each command's output is fenced to be checked.
    script = "set -u\n" + "".join(
        f"echo '>>> {n}'\n{c}\necho \"<<< $?\"\n" for n, (c, _) in enumerate(steps)
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    parts = re.split(r">>> (\d+)\n", done.stdout)[1:]
    outputs = {int(n): body for n, body in zip(parts[::2], parts[1::2], strict=True)}
    assert len(outputs) == len(steps), done.stderr
    for n, (command, note) in enumerate(steps):
        body, _, code = outputs[n].rpartition("<<< ")
        assert code.strip() == "0", (command, body, done.stderr)
        if command.startswith("ID="):
            assert "-q" in note  # the claim: the trip id alone
    said = {command: outputs[n] for n, (command, _) in enumerate(steps)}
    assert re.search(r"^stopped trip [0-9a-f-]{36}", said["tracker trip stop $ID"], re.M)
    assert "imported trip" in said["tracker trip import drive.gpx"]
    status = said["tracker status"]
    assert "database" in status and "file mode" in status  # "database path and mode"
    assert "push: 3 saved on Tight" in said["tracker sync"]

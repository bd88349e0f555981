"""The ``tracker`` command run in this process, as the CLI tests use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from sync.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1 if code else 0), out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """Run with ``--json``; the exit code must be 0; returns the parsed document."""
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def modules_loaded(
    argvs: list[list[str]], watch: tuple[str, ...], env: dict[str, str] | None = None
) -> tuple[list[object], list[str], str]:
    """Run each ``argv`` through the CLI in one fresh interpreter; returns their exit codes,
    which of ``watch`` that interpreter had imported by the end, and what it printed."""
    probe = (
        "import json, sys\n"
        "from sync.cli import main\n"
        "codes = []\n"
        f"for argv in {argvs!r}:\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as done:\n"
        "        codes.append(done.code)\n"
        f"loaded = [m for m in {watch!r} if m in sys.modules]\n"
        "print('\\nPROBE ' + json.dumps([codes, loaded]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env if env is not None else dict(os.environ),
        timeout=60,
        check=True,
    )
    out, _, tail = done.stdout.rpartition("\nPROBE ")
    codes, loaded = json.loads(tail)
    return codes, loaded, out + done.stderr

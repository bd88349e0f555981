"""The ``tracker`` command run in this process, as the CLI tests use it."""

from __future__ import annotations

import json
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

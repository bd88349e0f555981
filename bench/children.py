"""Child processes of the benchmarks: a clean environment, and children that answer in JSON.

Measurements run in fresh interpreters (memory high-water marks, start-up times, the sandbox
server) and must not pick up the caller's ``TRACKER_*`` settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def child_env(**tracker: str) -> dict[str, str]:
    """This process's environment without any ``TRACKER_*`` variable, plus ``tracker``
    (e.g. ``TRACKER_HOME="..."``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(tracker)
    return env


def compile_bytecode() -> None:
    """Write the bytecode of ``tracker`` and ``sync`` next to their sources, as an installed
    package has it (pip compiles at install). A checkout run with ``PYTHONDONTWRITEBYTECODE``
    set would otherwise compile every module it imports from source at every start: ~40 ms
    of a ~380 ms start-up, which the baseline's installed packages never pay."""
    import compileall

    for package in ("tracker", "sync"):
        compileall.compile_dir(REPO / package, quiet=1)


def json_child(module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m module args...`` in the repository; return the JSON object on the last
    line of its output. Raises RuntimeError (with its stderr) when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env if env is not None else child_env(),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result

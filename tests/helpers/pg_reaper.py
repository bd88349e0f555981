"""Stop a test PostgreSQL server once the process that started it is gone, however it ended.

``python -m tests.helpers.pg_reaper PID FOLDER BIN`` waits for process PID to exit (a pidfd:
woken by the exit itself, no polling), then stops the server whose cluster is FOLDER/data
(``pg_ctl stop -m immediate``, BIN holding pg_ctl) and removes FOLDER. The test session
starts one per cluster in a session of its own, so a signal to the session's process group
does not reach it: a pytest killed by SIGTERM, SIGINT or SIGKILL leaves no server running.
After a normal end the server is already stopped and the folder gone: nothing to do.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.postgres import as_server_user


def wait_for_exit(pid: int) -> None:
    """Return once process ``pid`` has exited (at once if it already has)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # no pidfd (not Linux, or before 5.3): ask each second
        while _alive(pid):
            time.sleep(1.0)
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap(folder: Path, pg_bin: Path) -> None:
    """Stop the cluster in ``folder`` if it runs, then remove the folder."""
    if (folder / "data" / "postmaster.pid").exists():
        subprocess.run(
            [
                *as_server_user(),
                str(pg_bin / "pg_ctl"),
                "stop",
                "-D",
                str(folder / "data"),
                "-m",
                "immediate",
                "-w",
            ],
            check=False,
            capture_output=True,
            cwd="/",
        )
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    pid, folder, pg_bin = int(argv[1]), Path(argv[2]), Path(argv[3])
    wait_for_exit(pid)
    reap(folder, pg_bin)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

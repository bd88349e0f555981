"""The test PostgreSQL server dies with the session that started it, however it ends: a
pytest killed by SIGKILL (no atexit, no fixture teardown) leaves no server running."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.wait import wait_for

pytestmark = pytest.mark.slow  # initdb and a server of its own

ROOT = Path(__file__).resolve().parents[2]
_SESSION = (
    "from tests.helpers.postgres import start_cluster\n"
    "cluster = start_cluster()\n"
    "print(cluster.folder, cluster.port, flush=True)\n"
    "import sys; sys.stdin.read()\n"  # alive until killed
)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_killed_session_leaves_no_server_running() -> None:
    session = subprocess.Popen(
        [sys.executable, "-c", _SESSION],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert session.stdout is not None
        folder_text, port_text = session.stdout.readline().split()
        folder, port = Path(folder_text), int(port_text)
        assert _accepts(port) and folder.exists()
        session.send_signal(signal.SIGKILL)
        session.wait(timeout=30)
        assert wait_for(lambda: not folder.exists() and not _accepts(port), 60)
    finally:
        if session.poll() is None:
            session.kill()
        session.communicate(timeout=30)

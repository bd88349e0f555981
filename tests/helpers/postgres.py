"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` into a temporary folder.

One cluster per test session (so per pytest-xdist worker: each worker process has its own
session, its own folder and its own port). It listens on 127.0.0.1 only, on a free port,
with its unix socket in its own folder, trusts local connections (nothing but this test
run can reach it) and skips fsync (a test cluster need not survive a power cut).

Running as root, the cluster is made and run by the unprivileged ``postgres`` user
(PostgreSQL refuses to run as root): the folder is handed to that user first.

Each test gets a fresh database copied from a template that was migrated to head once
(``CREATE DATABASE ... TEMPLATE``: a file copy, ~50 ms, instead of running the migrations
again). Missing binaries are a failure that says what to install, never a skip.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PgCluster", "as_server_user", "find_pg_bin", "start_cluster"]

#: Where Debian/Ubuntu's ``postgresql`` package puts the server binaries (not on PATH).
_DEBIAN_BIN = Path("/usr/lib/postgresql")
_RUN_AS = "postgres"
_ROOT = Path(__file__).resolve().parents[2]
_TEMPLATE = "tracker_template"


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_pg_bin(path: str | None = None) -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else the newest
    /usr/lib/postgresql/<version>/bin. Raises PostgresMissing saying what to install."""
    found = shutil.which("initdb", path=path)
    if found and shutil.which("pg_ctl", path=path):
        return Path(found).parent
    versions = sorted(
        (p for p in _DEBIAN_BIN.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    raise PostgresMissing(
        "the PostgreSQL tests need a PostgreSQL server (initdb, pg_ctl) and none was found "
        "on PATH or in /usr/lib/postgresql/*/bin: install it (apt-get install postgresql, "
        "or .ci/run does it) and run the tests again"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_server_user() -> list[str]:
    """The prefix that runs a command as the unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", _RUN_AS, "--"]
    return ["setpriv", f"--reuid={_RUN_AS}", f"--regid={_RUN_AS}", "--init-groups", "--"]


@dataclass
class PgCluster:
    """A running test cluster; :meth:`database` makes a fresh database on it."""

    folder: Path
    bin: Path
    port: int
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _stopped: bool = False
    reaper: subprocess.Popen[bytes] | None = None
    """Stops the server if this process dies without stopping it (tests/helpers/pg_reaper.py)."""

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of ``dbname`` on this cluster (psycopg 3)."""
        return f"postgresql+psycopg://{_RUN_AS}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_server_user(), *args], check=True, capture_output=True, text=True, cwd="/"
        )

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=_RUN_AS, dbname=dbname, autocommit=True
        ) as conn:
            conn.execute(sql.encode())

    def prepare_template(self) -> None:
        """Create the template database and migrate it to head once."""
        from tracker.store import Tracker

        self.execute(f"CREATE DATABASE {_TEMPLATE}")
        Tracker.open_url(self.url(_TEMPLATE)).close()

    def database(self) -> str:
        """A new, empty-of-rows database at the current schema; returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a test's database (its connections must be closed)."""
        self.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server (fast: disconnects clients) and remove the folder."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w")
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.reaper is not None:  # nothing left for it to do
            self.reaper.kill()
            self.reaper.wait()


def start_cluster() -> PgCluster:
    """initdb + pg_ctl start -w (which returns once the server accepts connections)."""
    pg_bin = find_pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, _RUN_AS, _RUN_AS)
    cluster = PgCluster(folder=folder, bin=pg_bin, port=0)
    atexit.register(cluster.stop)  # also when the session is interrupted
    # And when it is killed (atexit does not run then): a reaper process, in a session of
    # its own, stops the server once this process is gone (tests/helpers/pg_reaper.py).
    cluster.reaper = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.helpers.pg_reaper",
            str(os.getpid()),
            str(folder),
            str(pg_bin),
        ],
        cwd=_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        cluster._run(
            str(pg_bin / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            _RUN_AS,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        # A port found free may be taken before the server binds it: try a few.
        for attempt in range(5):
            cluster.port = _free_port()
            options = (
                f"-p {cluster.port} -c listen_addresses=127.0.0.1 -k {folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                cluster._run(
                    str(pg_bin / "pg_ctl"),
                    "start",
                    "-D",
                    str(cluster.data),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "-l",
                    str(folder / "server.log"),
                )
                break
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
        cluster.prepare_template()
    except subprocess.CalledProcessError as err:
        log = folder / "server.log"
        tail = log.read_text()[-2000:] if log.exists() else ""
        cluster.stop()
        raise RuntimeError(
            f"could not start the test PostgreSQL ({err.cmd[-1]}): {err.stderr}{tail}"
        ) from err
    except BaseException:
        cluster.stop()
        raise
    return cluster

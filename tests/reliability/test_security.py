"""S: the token never leaks, files are private, TLS is verified, no unsafe code patterns.

S1: a canary token ``tok_CANARY_<random>`` (and a canary client secret) run through a
daemon push with DEBUG logging, the CLI's error paths (401 expired, 401 invalid, a
re-mint with client credentials, ``--dry-run``), and an in-process push with *every* logger
(httpx, httpcore included) at DEBUG and no redaction. Then stdout, stderr, the log files,
the database and its -wal/-shm bytes, the exception texts and the daemon's
``/proc/<pid>/cmdline`` are searched for the canary: plain, URL-encoded and base64.
S8: the database, -wal, -shm and log files are 0600 (folder 0700) under umask 022.
S5: a self-signed HTTPS server on loopback is refused (exit 78, message names TLS), is
accepted only with its certificate given as the CA bundle, and ``VERIFY=false`` is refused.
S6: bandit finds no disabled TLS verification (B501) and no SQL built from strings (B608)
in ``tracker`` and ``sync`` (and does find both in a planted bad file, so the scan works).
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import logging
import os
import secrets
import signal
import ssl
import stat
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from sync.engine import SyncEngine
from sync.errors import AuthError
from sync.sandbox import Sandbox, SandboxServer, serve
from sync.settings import MileageSettings, ScheduleSettings, Settings
from tests.helpers.remote import push
from tests.helpers.wait import wait_for
from tests.reliability.figures import Row, Scorecard
from tests.reliability.harness import EXE, KEY, ROOT, clean_env
from tracker.store import Tracker


def forms(secret: str) -> list[bytes]:
    """The secret as bytes: plain, URL-encoded, and the stable middle of its base64 at each of
    the three alignments (so it is found inside a longer base64 string, e.g. Basic auth)."""
    raw = secret.encode()
    found = {raw, urllib.parse.quote(secret).encode(), urllib.parse.quote_plus(secret).encode()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        found.add(encoded[4:-4] if shift else encoded[:-4])
    return sorted(found)


def error_lines(stderr: str) -> list[str]:
    """stderr without `tracker sync`'s plain progress lines (``claimed N``); a one-line error
    leaves exactly one line starting with ``error:``."""
    lines = [x for x in stderr.splitlines() if not x.startswith(("claimed ", "reconciled "))]
    return lines if all(x.startswith("error:") for x in lines) else [*lines, "(not an error)"]


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


class Evidence:
    """Everything a leak could hide in, by name."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def add(self, name: str, data: bytes | str) -> None:
        self.blobs[name] = self.blobs.get(name, b"") + (
            data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        )

    def add_files(self, prefix: str, folder: Path) -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.add(f"{prefix}/{path.relative_to(folder)}", path.read_bytes())

    def hits(self, needles: list[bytes]) -> dict[str, int]:
        return {
            name: sum(blob.count(n) for n in needles)
            for name, blob in self.blobs.items()
            if any(n in blob for n in needles)
        }


@pytest.fixture
def canary() -> str:
    return f"tok_CANARY_{secrets.token_hex(12)}"


@pytest.fixture
def secret_canary() -> str:
    return f"sec_CANARY_{secrets.token_hex(12)}"


@pytest.fixture
def server(canary: str, secret_canary: str) -> Iterator[SandboxServer]:
    sandbox = Sandbox(tokens=[canary], clients={"cid": secret_canary}, rate_limit=None)
    with serve(sandbox) as running:
        yield running


def _umask_022() -> None:
    os.umask(0o022)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_canary_token_never_leaks_and_files_are_private(
    tmp_path: Path,
    server: SandboxServer,
    canary: str,
    secret_canary: str,
    scorecard: Scorecard,
) -> None:
    sandbox = server.sandbox
    home = tmp_path / "home"
    evidence = Evidence()
    env = clean_env(
        TRACKER_HOME=str(home),
        TRACKER_MILEAGE_URL=server.tight_url,
        TRACKER_MILEAGE_TOKEN=canary,
        TRACKER_LOG_LEVEL="DEBUG",
        TRACKER_MILEAGE_BACKOFF_INITIAL="0.05",
        TRACKER_MILEAGE_BACKOFF_MAX="0.1",
        TRACKER_SCHEDULE_PUSH_INTERVAL="30",
        TRACKER_SCHEDULE_JITTER="0",
        TRACKER_SCHEDULE_SOON_DELAY="0.2",
        TRACKER_SCHEDULE_LEASE_SECONDS="2",
    )

    def cli(*argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [EXE, *argv],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            preexec_fn=_umask_022,
        )
        evidence.add(f"stdout of tracker {' '.join(argv)}", done.stdout)
        evidence.add(f"stderr of tracker {' '.join(argv)}", done.stderr)
        return done

    # 1. The daemon pushes with DEBUG logging to a file; modes checked while it runs.
    for i in range(3):
        assert cli("trip", "add", "--distance", f"{i}.5", "--date", "2026-03-01").returncode == 0
    log = home / "daemon.log"
    daemon = subprocess.Popen(
        [EXE, "daemon", "--log-file", str(log)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_umask_022,
    )
    try:
        assert wait_for(lambda: len(sandbox.stored_counts_by_custom(KEY)) == 3, 20)
        evidence.add("/proc/<daemon>/cmdline", Path(f"/proc/{daemon.pid}/cmdline").read_bytes())
        modes = {
            name: mode(home / name)
            for name in ("tracker.db", "tracker.db-wal", "tracker.db-shm", "daemon.log")
            if (home / name).exists()
        }
        modes["data folder"] = mode(home)
        evidence.add_files("while the daemon ran", home)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=20)
    evidence.add("daemon stdout", out)
    evidence.add("daemon stderr", err)

    # 2. The CLI's error paths: the token expires, then a wrong token, then a re-mint.
    sandbox.expire_token(canary)
    assert cli("trip", "add", "--distance", "9", "--date", "2026-03-02").returncode == 0
    expired = cli("sync")
    invalid = cli("sync", TRACKER_MILEAGE_TOKEN=f"{canary}x")
    dry = cli("sync", "--dry-run", "--json")
    reminted = cli(
        "sync", TRACKER_MILEAGE_CLIENT_ID="cid", TRACKER_MILEAGE_CLIENT_SECRET=secret_canary
    )

    # 3. In process: every logger at DEBUG, no redaction filter at all.
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved = (root.level, {n: logging.getLogger(n).level for n in ("httpx", "httpcore")})
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    errors: list[str] = []
    try:
        with Tracker.open(home / "tracker.db", timezone="UTC") as store:
            store.trips.add({"date": "2026-03-03", "distance": "1"})
            for value, cid, sec in ((canary, None, None), (canary, "cid", secret_canary)):
                mileage = MileageSettings(
                    url=server.tight_url, token=value, client_id=cid, client_secret=sec
                )
                settings = Settings(home=home, mileage=mileage, schedule=ScheduleSettings())
                engine = SyncEngine(settings, store)
                try:
                    push(engine)
                except AuthError as caught:
                    errors += [str(caught), repr(caught)]
                finally:
                    engine.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)
    evidence.add("in-process DEBUG log (all loggers, unredacted)", captured.getvalue())
    evidence.add("exception texts", "\n".join(errors))
    evidence.add_files("after all runs", home)

    needles = forms(canary) + forms(secret_canary)
    hits = evidence.hits(needles)
    control = Evidence()  # the search itself works: it finds the forms a leak would take
    control.add("bearer header, base64", base64.b64encode(f"Bearer {canary}".encode()))
    control.add("basic auth", base64.b64encode(f"cid:{secret_canary}".encode()))
    control.add("query string", "?" + urllib.parse.urlencode({"token": canary}))
    assert len(control.hits(needles)) == 3
    scanned = sum(len(b) for b in evidence.blobs.values())
    codes = {
        "expired": expired.returncode,
        "invalid": invalid.returncode,
        "dry-run": dry.returncode,
        "re-mint": reminted.returncode,
    }
    private = {k: v for k, v in modes.items() if k != "data folder"}
    rows = [
        Row(
            "S1 canary hits (plain, URL-encoded, base64) in output, logs, DB, -wal, -shm",
            f"{sum(hits.values())} in {len(evidence.blobs)} sources, {scanned:,} bytes scanned",
            "0",
            not hits,
        ),
        Row(
            "S1 error paths exercised (401 expired, 401 invalid, dry run, re-mint)",
            ", ".join(f"{k} exit {v}" for k, v in codes.items()),
            "77, 77, 0, 0",
            codes == {"expired": 77, "invalid": 77, "dry-run": 0, "re-mint": 0},
        ),
        Row(
            "S8 file modes under umask 022",
            ", ".join(f"{k} {v}" for k, v in modes.items()),
            "files 0600, folder 0700",
            set(private.values()) == {"0o600"}
            and len(private) == 4
            and modes["data folder"] == "0o700",
        ),
    ]
    scorecard.record(
        "S1-S8",
        title="Token canary and file modes",
        section=14,
        rows=rows,
        raw={
            "hits": hits,
            "sources": sorted(evidence.blobs),
            "bytes": scanned,
            "codes": codes,
            "modes": modes,
        },
    )
    assert not hits, hits
    assert codes == {"expired": 77, "invalid": 77, "dry-run": 0, "re-mint": 0}, codes
    assert "Bearer ***" in dry.stdout
    assert len(private) == 4, modes
    assert set(private.values()) == {"0o600"}, modes
    assert modes["data folder"] == "0o700"


# ------------------------------------------------------------------------------- TLS
class _Always503(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.seen.append(self.path)
        body = b'{"result":"FAILURE","data":null,"error":[]}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Always503)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    seen: list[str] = []
    _Always503.seen = seen
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", cert, seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_tls_verification_is_on_by_default(
    tmp_path: Path, self_signed: tuple[str, Path, list[str]], scorecard: Scorecard
) -> None:
    url, cert, seen = self_signed
    env = clean_env(
        TRACKER_HOME=str(tmp_path / "home"),
        TRACKER_MILEAGE_URL=url,
        TRACKER_MILEAGE_TOKEN="tok_CANARY_tls",
        TRACKER_MILEAGE_RETRIES="0",
    )

    def cli(*argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [EXE, *argv],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert cli("trip", "add", "--distance", "1", "--date", "2026-03-01").returncode == 0
    refused = cli("sync")
    reached_when_refused = len(seen)
    disabled = cli("sync", TRACKER_MILEAGE_VERIFY="false")
    fresh = clean_env(
        TRACKER_HOME=str(tmp_path / "other"),
        TRACKER_MILEAGE_URL=url,
        TRACKER_MILEAGE_TOKEN="tok_CANARY_tls",
        TRACKER_MILEAGE_RETRIES="0",
    )
    assert (
        subprocess.run(
            [EXE, "trip", "add", "--distance", "1", "--date", "2026-03-01"],
            env=fresh,
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    trusted = subprocess.run(
        [EXE, "sync"],
        env={**fresh, "TRACKER_MILEAGE_VERIFY": str(cert)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ok_refused = (
        refused.returncode == 78
        and "TLS" in refused.stderr
        and len(error_lines(refused.stderr)) == 1
        and "Traceback" not in refused.stderr
        and reached_when_refused == 0
    )
    ok_trust = trusted.returncode == 75 and len(seen) >= 1 and disabled.returncode == 78
    rows = [
        Row(
            "S5 self-signed loopback HTTPS refused by default",
            f"exit {refused.returncode}; {reached_when_refused} request(s) reached the server; "
            f"message: {' '.join(error_lines(refused.stderr))[:90]}",
            "exit 78, names TLS, nothing sent",
            ok_refused,
        ),
        Row(
            "S5 same server trusted only with its CA bundle; VERIFY=false refused",
            f"with CA: exit {trusted.returncode} after {len(seen)} request(s); "
            f"VERIFY=false: exit {disabled.returncode}",
            "75 (server says 503); 78",
            ok_trust,
        ),
    ]
    scorecard.record(
        "S5",
        title="TLS verification",
        section=14,
        rows=rows,
        raw={
            "refused_exit": refused.returncode,
            "refused_stderr": refused.stderr.strip(),
            "trusted_exit": trusted.returncode,
            "requests_with_ca": len(seen),
            "disabled_exit": disabled.returncode,
            "disabled_stderr": disabled.stderr.strip(),
        },
    )
    assert ok_refused, refused.stderr
    assert trusted.returncode == 75, trusted.stderr
    assert len(seen) >= 1
    assert disabled.returncode == 78, disabled.stderr


def test_a_tls_refusal_gives_the_claimed_batch_back(
    tmp_path: Path, self_signed: tuple[str, Path, list[str]], scorecard: Scorecard
) -> None:
    """After ``tracker sync`` is refused for TLS (exit 78), nothing was sent, so the claimed
    entries must be back in the queue: fixing the setting and syncing again must send them
    (not wait out the claim lease, 300 s by default, and then reconcile them as in doubt)."""
    url, cert, seen = self_signed
    env = clean_env(
        TRACKER_HOME=str(tmp_path / "home"),
        TRACKER_MILEAGE_URL=url,
        TRACKER_MILEAGE_TOKEN="tok_CANARY_tls",
        TRACKER_MILEAGE_RETRIES="0",
    )

    def cli(*argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [EXE, *argv],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert cli("trip", "add", "--distance", "1", "--date", "2026-03-01").returncode == 0
    assert cli("sync").returncode == 78
    journal = json.loads(cli("status", "--json").stdout)["journal"]
    retried = cli("sync", TRACKER_MILEAGE_VERIFY=str(cert))
    ok = journal["in_flight"] == 0 and journal["in_doubt"] == 0 and len(seen) >= 1
    scorecard.record(
        "S5b",
        title="Queue after a TLS refusal",
        section=14,
        rows=[
            Row(
                "S5 after a TLS refusal (nothing sent) the batch is back in the queue",
                f"in flight {journal['in_flight']}, in doubt {journal['in_doubt']}; "
                f"sync with the CA bundle then sent {len(seen)} request(s) "
                f"(exit {retried.returncode})",
                "0 in flight; the next sync sends",
                ok,
            )
        ],
        raw={"journal": journal, "requests_after_fix": len(seen), "exit": retried.returncode},
    )
    assert journal["in_flight"] == 0, journal
    assert len(seen) >= 1, "the fixed sync sent nothing: the batch is stuck in flight"


def _bandit(*targets: str, cwd: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "bandit"), "-q", "-f", "json", "-r", *targets],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    results: list[dict[str, object]] = json.loads(done.stdout)["results"]
    return results


def test_bandit_finds_no_disabled_verification_and_no_string_sql(
    tmp_path: Path, scorecard: Scorecard
) -> None:
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "bad.py").write_text(
        "import httpx\nimport sqlite3\n\n"
        "def f(x: str) -> None:\n"
        "    httpx.get('https://example.invalid', verify=False)\n"
        "    sqlite3.connect(':memory:').execute(f'SELECT * FROM t WHERE id = {x}')\n"
    )
    control = {str(r["test_id"]) for r in _bandit(str(planted), cwd=tmp_path)}
    found = _bandit("tracker", "sync", cwd=ROOT)
    ignoring = subprocess.run(
        [
            str(Path(sys.executable).parent / "bandit"),
            "-q",
            "-f",
            "json",
            "--ignore-nosec",
            "-r",
            "tracker",
            "sync",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    hidden = json.loads(ignoring.stdout)["results"]
    counts = {
        tid: sum(r["test_id"] == tid for r in found) + sum(r["test_id"] == tid for r in hidden)
        for tid in ("B501", "B608")
    }
    rows = [
        Row(
            "S6 bandit B501 (TLS verification off) / B608 (SQL from strings) in tracker, sync",
            f"B501 {counts['B501']}, B608 {counts['B608']} (nosec ignored too); "
            f"planted control found {sorted(control & {'B501', 'B608'})}",
            "0 / 0; control finds both",
            counts == {"B501": 0, "B608": 0} and {"B501", "B608"} <= control,
        )
    ]
    scorecard.record(
        "S6",
        title="Static scan",
        section=14,
        rows=rows,
        raw={"counts": counts, "all_findings": sorted({str(r["test_id"]) for r in found})},
    )
    assert {"B501", "B608"} <= control
    assert counts == {"B501": 0, "B608": 0}, [r for r in found if r["test_id"] in counts]

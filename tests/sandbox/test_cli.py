"""``tracker sandbox`` (the ``sync.cli.sandbox`` sub-app) in a real subprocess, and its checks."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sync.cli.sandbox import app
from tests.helpers.remote import AUTH, save_item

ROOT = Path(__file__).resolve().parents[2]
RUN = "from sync.cli.sandbox import app; app(prog_name='tracker sandbox')"


@pytest.fixture
def cli_server() -> Iterator[tuple[dict[str, Any], subprocess.Popen[str]]]:
    args = [
        "--port", "0", "--json", "--no-access-log", "--seed-costs", "4", "--seed", "9",
        "--fail-next", "503", "--reject-description", "NOPE", "--malformed-cost",
        "--paging", "offset", "--envelope", "--total-header", "X-Total-Count",
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        yield json.loads(line), proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


@pytest.mark.slow
def test_cli_serves_both_apis_with_its_faults_and_stops_on_ctrl_c(
    cli_server: tuple[dict[str, Any], subprocess.Popen[str]],
) -> None:
    facts, proc = cli_server
    assert facts["token"] == "sandbox-token"
    assert facts["settings"]["TRACKER_COSTS_URL"] == facts["costs_url"]
    assert facts["settings"]["TRACKER_COSTS_PAGING"] == "offset"
    assert facts["settings"]["TRACKER_COSTS_TOTAL_HEADER"] == "X-Total-Count"
    with httpx.Client(base_url=facts["url"], timeout=5) as client:
        token = client.post(
            "/v6/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(facts["client_id"], facts["client_secret"]),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = {"data": [save_item("a"), save_item("b", description="NOPE")]}
        assert client.post("/v6/mileage", json=body, headers=headers).status_code == 503
        saved = client.post("/v6/mileage", json=body, headers=headers)
        assert saved.status_code == 207
        assert saved.json()["data"][1]["error"][0]["param"] == "description"
        costs = client.get(facts["costs_url"] + "/v1/additional-costs/list", headers=AUTH)
        assert costs.headers["x-total-count"] == "5"
        assert costs.json()["Total"] == 5
        assert costs.json()["Items"][-1]["Amount"] == "ten"  # the planted malformed cost
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0


@pytest.mark.slow
def test_cli_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", RUN, "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert result.returncode == 75
    assert f"cannot bind 127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "loopback"),
        (["--fail-next", "503,abc"], "comma-separated"),
        (["--fail-next", "700"], "between 100 and 599"),
        (["--paging", "cursor"], "'cursor' is not one of 'page', 'offset'"),
    ],
)
def test_cli_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for option in ("--port", "--seed-costs", "--paging", "--token", "--reject-description"):
        assert option in result.output

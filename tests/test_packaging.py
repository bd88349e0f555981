"""The core install is what an app embeds: no CLI stack, no server stack.

The slow tests build the wheel, install it into fresh virtual environments (dependencies from the
package index, nothing shared with the environment running the tests) and run it there.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CLI_STACK = ("typer", "rich", "click")
SERVER_STACK = ("starlette", "uvicorn")
CORE_CONTRACT = "the core never imports the CLI or the sandbox's server stack"

# Run inside the fresh environment: where the packages came from, what else is importable.
PROBE = """
import importlib.util, json, sys
import tracker, sync
import sync.engine
print(json.dumps({
    "tracker": tracker.__file__,
    "sync": sync.__file__,
    "engine": sync.engine.__file__,
    "importable": [m for m in sys.argv[1:] if importlib.util.find_spec(m) is not None],
    "loaded": sorted({name.split(".")[0] for name in sys.modules}),
    "httpx_cli_loaded": "httpx._main" in sys.modules,
}))
"""


def _run(argv: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,  # not the checkout: `import sync` must find the installed copy
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.args, result.stdout[-2000:], result.stderr[-4000:])
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT], out))
    (built,) = out.glob("trip_tracker-*.whl")
    return built


def _fresh_env(where: Path, requirement: str) -> Path:
    """A new virtual environment (no pip, no system site-packages) with ``requirement``
    installed by this environment's pip; returns its bin directory."""
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", where], where.parent))
    python = where / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python]
    _ok(_run([*pip, "install", "-q", requirement], where))
    return where / "bin"


def _probe(bin_dir: Path, cwd: Path) -> dict[str, Any]:
    modules = [*CLI_STACK, *SERVER_STACK]
    result = _ok(_run([bin_dir / "python", "-c", PROBE, *modules], cwd))
    probe: dict[str, Any] = json.loads(result.stdout)
    site = str(bin_dir.parent)
    for key in ("tracker", "sync", "engine"):
        assert str(probe[key]).startswith(site), (key, probe[key])
    return probe


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_core_install_has_no_cli_or_server_stack(wheel: Path, tmp_path: Path) -> None:
    bin_dir = _fresh_env(tmp_path / "core", str(wheel))
    probe = _probe(bin_dir, tmp_path)
    assert probe["importable"] == []
    assert probe["httpx_cli_loaded"] is False

    # The console script is installed; without the 'cli' extra it names the fix: one line, 78.
    result = _run([bin_dir / "tracker", "--help"], tmp_path)
    assert result.returncode == 78, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: the tracker command needs the 'cli' extra (No module named 'typer'): "
        "pip install 'trip-tracker[cli]'"
    ]
    module_run = _run([bin_dir / "python", "-m", "sync.cli", "status"], tmp_path)
    assert (module_run.returncode, module_run.stderr) == (78, result.stderr)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_cli_extra_without_the_sandbox_names_the_sandbox_extra(
    wheel: Path, tmp_path: Path
) -> None:
    bin_dir = _fresh_env(tmp_path / "cli", f"{wheel}[cli]")
    probe = _probe(bin_dir, tmp_path)
    assert {"typer", "rich"} <= set(probe["importable"])
    assert not set(SERVER_STACK) & set(probe["importable"])
    # Installed, but importing the library does not load them (nor httpx's CLI).
    assert not set(CLI_STACK) & set(probe["loaded"])
    assert probe["httpx_cli_loaded"] is False

    tracker = bin_dir / "tracker"
    assert "trip" in _ok(_run([tracker, "--help"], tmp_path)).stdout
    for command in ("demo", "sandbox"):
        result = _run([tracker, command], tmp_path)
        assert result.returncode == 78, (command, result.stdout, result.stderr)
        assert result.stderr.splitlines() == [
            f"error: tracker {command} needs the 'sandbox' extra "
            "(No module named 'starlette'): pip install 'trip-tracker[sandbox]'"
        ]
    # Refused before anything was set up (the autouse fixture points TRACKER_HOME here).
    assert not Path(os.environ["TRACKER_HOME"]).exists()


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;(]", requirement, maxsplit=1)[0].lower()


def test_the_core_dependencies_leave_out_the_cli_and_the_server() -> None:
    project = PYPROJECT["project"]
    core = {_name(req) for req in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert not core & {*CLI_STACK, *SERVER_STACK}
    assert {_name(req) for req in extras["cli"]} == {"typer", "rich"}
    assert {_name(req) for req in extras["sandbox"]} == set(SERVER_STACK)
    # `pip install -e '.[dev]'` (the README's set-up) brings both.
    assert "trip-tracker[cli,sandbox]" in extras["dev"]


def test_the_core_contract_names_every_core_module() -> None:
    """The import-linter contract lists the core by name: a new module must be added to it."""
    (contract,) = [
        c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c["name"] == CORE_CONTRACT
    ]
    sync_dir = ROOT / "sync"
    children = {
        path.stem if path.suffix == ".py" else path.name
        for path in sync_dir.iterdir()
        if path.suffix == ".py" or (path / "__init__.py").is_file()
    }
    core = {f"sync.{name}" for name in children - {"__init__", "cli", "sandbox"}}
    assert set(contract["source_modules"]) == core | {"tracker"}
    assert {"sync.cli", "sync.sandbox", *CLI_STACK, *SERVER_STACK} <= set(
        contract["forbidden_modules"]
    )
    # The package module itself cannot be listed (as a package it would cover sync.cli too):
    # it imports only the lazy-export helper, and its exports name no CLI or sandbox module.
    tree = ast.parse((sync_dir / "__init__.py").read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {
        m for m in imported if m and m.split(".")[:2] in (["sync", "cli"], ["sync", "sandbox"])
    }
    import sync

    assert not [m for m in sync._EXPORTS.values() if m.startswith(("sync.cli", "sync.sandbox"))]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_wheel_ships_the_rate_schedules(wheel: Path, tmp_path: Path) -> None:
    """The rate data files are in the wheel, and the installed package finds them through
    importlib.resources (not a path relative to the checkout)."""
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    shipped = sorted(n for n in names if n.startswith("tracker/rates/data/"))
    assert shipped == [f"tracker/rates/data/{n}.toml" for n in ("ca-cra", "uk-hmrc", "us-irs")]
    probe = (
        "import json, tracker; from tracker.rates import load_schedules; "
        "print(json.dumps([tracker.__file__, sorted(load_schedules())]))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    where, ids = json.loads(result.stdout)
    assert where.startswith(str(tmp_path / "site"))
    assert ids == ["ca-cra", "uk-hmrc", "us-irs"]

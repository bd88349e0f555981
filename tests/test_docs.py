"""The README stays true: every setting, exit code and command is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main
from pydantic import BaseModel

from sync.cli.app import build_app
from sync.cli.exitcodes import ExitCode
from sync.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names += _env_names(kind, f"{prefix}{name.upper()}_")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_in_the_readme() -> None:
    missing = []
    for env in _env_names(Settings, "TRACKER_"):
        group_form = re.sub(r"^TRACKER_(COSTS)_(.+)$", r"`_\2`", env)
        if f"`{env}`" not in README and (
            not env.startswith("TRACKER_COSTS_") or group_form not in README
        ):
            missing.append(env)
    assert missing == []


def test_every_exit_code_is_in_the_readme() -> None:
    table = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", table, re.MULTILINE), code


def _commands(group: Any, prefix: str = "") -> list[str]:
    # Typer may use its own vendored click: walk groups by shape, not by class.
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found += _commands(command, path + " ")
        else:
            found.append(path)
    return found


def test_every_command_is_in_the_readme_and_has_help() -> None:
    root: Any = typer.main.get_command(build_app())
    commands = _commands(root)
    assert "trip start" in commands
    for path in commands:
        assert f"`tracker {path}" in README, path
    for name, command in root.commands.items():
        assert command.help or command.short_help, name

"""The documentation stays true: settings, exit codes, commands, pages, links, the README."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel

from sync.cli.app import build_app
from sync.cli.exitcodes import ExitCode
from sync.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
CLI = (DOCS / "cli.md").read_text(encoding="utf-8")

#: The two commands of the README's quick start, verbatim (.ci/run relies on them too).
SETUP_AND_DEMO = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/tracker demo"
)
TEST_SUITE = ".venv/bin/python -m pytest"


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names += _env_names(kind, f"{prefix}{name.upper()}_")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def _missing_settings(text: str) -> list[str]:
    missing = []
    for env in _env_names(Settings, "TRACKER_"):
        group_form = re.sub(r"^TRACKER_(COSTS)_(.+)$", r"`_\2`", env)
        if f"`{env}`" not in text and (
            not env.startswith("TRACKER_COSTS_") or group_form not in text
        ):
            missing.append(env)
    return missing


def test_every_setting_is_in_the_configuration_page() -> None:
    assert _missing_settings(CONFIGURATION) == []


def test_the_settings_check_can_fail() -> None:
    without = CONFIGURATION.replace("`TRACKER_MILEAGE_BATCH_SIZE`", "")
    assert _missing_settings(without) == ["TRACKER_MILEAGE_BATCH_SIZE"]


def _exit_code_table(text: str) -> str:
    assert "\n## Exit codes\n" in text
    return text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]


def test_every_exit_code_is_in_the_exit_code_table() -> None:
    table = _exit_code_table(CLI)
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", table, re.MULTILINE), code


def _commands(group: Any, prefix: str = "") -> list[str]:
    # Typer may use its own vendored click: walk groups by shape, not by class.
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            if getattr(command, "invoke_without_command", False):
                found.append(path)  # a group that is a command itself (`tracker sync`)
            found += _commands(command, path + " ")
        else:
            found.append(path)
    return found


def test_every_command_is_in_the_cli_page_and_has_help() -> None:
    root: Any = typer.main.get_command(build_app())
    commands = _commands(root)
    assert {"trip start", "sync", "sync explain", "sandbox"} <= set(commands)
    for path in commands:
        assert re.search(rf"`tracker {re.escape(path)}( [^`]*)?`", CLI), path
    for name, command in root.commands.items():
        assert command.help or command.short_help, name


def test_the_readme_command_table_is_the_command_line() -> None:
    """The README's table lists exactly the top-level commands `tracker --help` lists."""
    root: Any = typer.main.get_command(build_app())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `tracker ([a-z-]+)[^`]*` \|", readme, flags=re.MULTILINE))
    assert listed == set(root.commands)


def _pages() -> list[str]:
    return sorted(
        path.relative_to(DOCS).as_posix()
        for path in DOCS.rglob("*.md")
        if not any(part.startswith("_") for part in path.relative_to(DOCS).parts)
    )


def test_every_page_is_linked_from_the_index_and_in_the_nav() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    nav = nav.split("\n\n", 1)[0]
    pages = _pages()
    assert "cli.md" in pages
    assert "reference/sync.md" in pages
    for page in pages:
        assert re.search(rf":\s+{re.escape(page)}$", nav, re.MULTILINE), page
        if page != "index.md":
            assert f"]({page})" in index, page


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _relative_links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # code blocks hold no links
    return [
        target.split("#", 1)[0]
        for target in _LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


@pytest.mark.parametrize(
    "document",
    [Path("README.md"), *sorted(p.relative_to(ROOT) for p in DOCS.rglob("*.md"))],
    ids=str,
)
def test_every_relative_link_points_to_a_file(document: Path) -> None:
    source = ROOT / document
    for target in _relative_links(source):
        assert (source.parent / target).exists(), f"{document}: {target}"


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) [gone](nowhere.md#x) [web](https://example.org)\n")
    assert _relative_links(page) == ["page.md", "nowhere.md"]
    assert not (tmp_path / "nowhere.md").exists()


def test_the_readme_is_short_and_keeps_its_two_commands() -> None:
    assert len(README.splitlines()) < 200
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    assert [block.strip() for block in blocks[:2]] == [SETUP_AND_DEMO, TEST_SUITE]
    assert TEST_SUITE in (ROOT / ".ci" / "run").read_text(encoding="utf-8")

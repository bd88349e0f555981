"""Fixtures of the reliability campaigns: the scorecard file and the fork server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.figures import Scorecard
from tests.reliability.harness import Zygote
from tests.reliability.profile import PROFILE, SCORECARD_OUT

_where: list[Path] = []


@pytest.fixture(scope="session")
def scorecard(tmp_path_factory: pytest.TempPathFactory) -> Scorecard:
    path = Path(SCORECARD_OUT) if SCORECARD_OUT else tmp_path_factory.getbasetemp() / "sc.json"
    _where.append(path)
    return Scorecard(path)


@pytest.fixture(scope="session")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    server = Zygote(tmp_path_factory.mktemp("zygote") / "zygote.log")
    yield server
    server.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every campaign is slow: the fast loop (``-m "not slow"``) leaves them to the full run."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _where:
        terminalreporter.write_line(
            f"reliability figures ({PROFILE} profile): {_where[0]} "
            "(bench/scorecard.py prints them as a table)"
        )

"""The optional parts of an install: which extra brings which modules, and the hint that names it.

The core (``tracker`` and the sync engine) installs what an app embeds. The ``tracker`` command
needs the ``cli`` extra (Typer, Rich); ``tracker demo`` and ``tracker sandbox`` also need the
``sandbox`` extra (Starlette, uvicorn); ``tracker report --format pdf`` the ``pdf`` extra
(fpdf2). Without them the command says which install fixes it and exits with ``CONFIG`` (78)
instead of showing a traceback. Standard library only: this runs before Typer is known to be
there.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from sync.errors import ConfigError


class Extra(NamedTuple):
    """An optional-dependencies group of pyproject.toml and the top-level modules it brings."""

    name: str
    modules: tuple[str, ...]


CLI = Extra("cli", ("typer", "rich"))
SANDBOX = Extra("sandbox", ("starlette", "uvicorn"))
PDF = Extra("pdf", ("fpdf",))


def missing_hint(extra: Extra, needed_by: str) -> str | None:
    """``None`` if the extra's modules import; otherwise one line naming the install command."""
    for module in extra.modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            return (
                f"{needed_by} needs the '{extra.name}' extra ({err}): "
                f"pip install 'trip-tracker[{extra.name}]'"
            )
    return None


def require(extra: Extra, needed_by: str) -> None:
    """Raise :class:`~sync.errors.ConfigError` (exit 78) naming the install command if the
    extra's modules are missing."""
    hint = missing_hint(extra, needed_by)
    if hint is not None:
        raise ConfigError(hint)

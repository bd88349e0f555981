"""Griffe extension for the API reference: show Sphinx roles in docstrings as code.

The docstrings cite other objects the Sphinx way (``:func:`next_delay```,
``:class:`~sync.errors.ConfigError```); mkdocstrings reads Markdown, where those would show
as raw text. Each role becomes a code span (``~`` keeps only the last name, as in Sphinx),
and a paragraph ending in the reStructuredText literal marker ``::`` ends in ``:``.
Loaded by mkdocs.yml; used only to build the documentation.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|data|attr|mod|exc|obj|const):`(~?)([^`]+)`")
_LITERAL_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)


def _code(match: re.Match[str]) -> str:
    short, target = match.groups()
    name = target.rsplit(".", 1)[-1] if short else target
    return f"`{name}`"


def markdown_of(text: str) -> str:
    """``text`` with Sphinx roles as code spans and ``::`` markers as ``:``."""
    return _LITERAL_MARKER.sub(":", _ROLE.sub(_code, text))


class SphinxRoles(Extension):
    """Rewrite every docstring as it is loaded."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_of(obj.docstring.value)

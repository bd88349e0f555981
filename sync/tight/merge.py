"""The three-way merge of a trip, field by field: the last server copy we saw (the base), the
trip as it is here, and the server's copy now. Pure: canonical values in, a decision out.

For each field of :data:`~sync.tight.canonical.FIELDS`:

- changed on one side only (that side differs from the base): that side's value;
- changed on both sides to the same value: that value, no conflict;
- changed on both sides to different values: a **conflict** (the base, here, the server);
- without a base (a trip the server never answered for), every difference is a conflict.

A merge never drops a change without a conflict, and merging its own result again changes
nothing. docs/sync-guarantees.md ("Two-way sync") states the rules for the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.tight.canonical import FIELDS, Canon

__all__ = ["FieldConflict", "Merge", "merge"]


@dataclass(frozen=True)
class FieldConflict:
    """One field changed on both sides to different values."""

    name: str
    base: Any
    local: Any
    server: Any


@dataclass(frozen=True)
class Merge:
    """What merging one trip decided.

    ``from_server``: fields whose server value the trip takes (changed there only).
    ``local_changes``: fields changed here only (they stay, and are pushed).
    ``conflicts``: fields changed on both sides differently.
    """

    from_server: dict[str, Any] = field(default_factory=dict)
    local_changes: dict[str, Any] = field(default_factory=dict)
    conflicts: list[FieldConflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing conflicts."""
        return not self.conflicts

    def result(self, local: Canon) -> Canon:
        """The merged trip: ``local`` with the server's changes (conflicts keep ``local``)."""
        return {**local, **self.from_server}


def merge(base: Canon | None, local: Canon, server: Canon) -> Merge:
    """Merge ``local`` and ``server`` against ``base`` (None: no base known)."""
    from_server: dict[str, Any] = {}
    local_changes: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for name in FIELDS:
        mine, theirs = local.get(name), server.get(name)
        if mine == theirs:
            continue
        if base is None:
            conflicts.append(FieldConflict(name, None, mine, theirs))
            continue
        was = base.get(name)
        if mine == was:
            from_server[name] = theirs
        elif theirs == was:
            local_changes[name] = mine
        else:
            conflicts.append(FieldConflict(name, was, mine, theirs))
    return Merge(from_server, local_changes, conflicts)


def changed(base: Canon | None, record: Mapping[str, Any]) -> list[str]:
    """The fields in which ``record`` (canonical) differs from ``base``."""
    if base is None:
        return list(FIELDS)
    return [name for name in FIELDS if base.get(name) != record.get(name)]

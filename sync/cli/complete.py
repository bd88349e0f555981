"""Shell completion of ids (bash, zsh, fish: ``tracker --install-completion``).

Called by the shell on Tab with what was typed so far; answers the matching ids of the
configured store, or nothing (never an error: a completion that fails must stay silent).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["car_ids", "trip_ids"]


def _ids(kind: Literal["trip", "car"], incomplete: str) -> list[str]:
    from sync.cli.context import load_settings
    from tracker.candidates import id_candidates

    try:
        db = load_settings().db_path
    except Exception:  # a bad setting: the command itself will say so
        return []
    return id_candidates(db, kind, incomplete)


def trip_ids(incomplete: str) -> list[str]:
    """Ids of live trips starting with ``incomplete``."""
    return _ids("trip", incomplete)


def car_ids(incomplete: str) -> list[str]:
    """Ids of cars starting with ``incomplete``."""
    return _ids("car", incomplete)

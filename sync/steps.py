"""Which steps a sync run takes, and in which order, from its flags and the settings. Pure.

Pull before push: a push then sends changes against what the server has now. Shared by the
engine (what it runs) and the dry run (what it shows), so the two cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.settings import Settings

__all__ = ["run_steps"]


def run_steps(settings: Settings, push: bool, pull: bool | None) -> tuple[str, ...]:
    """The steps (``costs``, ``mileage``, ``push``) of a run with these flags.

    ``pull``: True pulls from every configured remote (with none, the costs step says what
    to set), False none, None the costs when configured and Tight's changes when two-way
    sync is on and there is no push (a push reads the server copies it needs itself).
    """
    costs = bool(settings.costs.url)
    mileage = settings.mileage.two_way and bool(settings.mileage.url)
    if pull is None:
        pull_costs, pull_mileage = costs, mileage and not push
    elif pull:
        pull_costs, pull_mileage = costs or not mileage, mileage
    else:
        pull_costs = pull_mileage = False
    wanted = (("costs", pull_costs), ("mileage", pull_mileage), ("push", push))
    return tuple(step for step, on in wanted if on)

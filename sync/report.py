"""What one sync run did: a report per step, and the steps that failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.costs.report import PullReport
from sync.http.failures import Unreachable
from sync.tight.pull import MileagePullReport
from sync.tight.report import PushReport

__all__ = ["SyncReport"]


@dataclass
class SyncReport:
    """The outcome of :meth:`sync.engine.SyncEngine.run`.

    ``steps`` are the steps the run tried, in order (``costs``, ``mileage``, ``push``).
    ``costs``, ``mileage`` (the walk of Tight's records, and the reads of the copies of trips
    about to be updated) and ``push`` are their reports (None when the step did not run or
    failed before doing anything). A step that
    failed (offline, refused, misconfigured) is in ``failures`` with its error; the other
    steps still ran. ``stopped`` says why the run ended early (stop asked, time budget).
    ``unreachable``: the servers the run could not connect to (offline, a wrong address),
    one failure each; the run did not try them again.
    """

    steps: tuple[str, ...] = ()
    costs: PullReport | None = None
    mileage: MileagePullReport | None = None
    push: PushReport | None = None
    failures: dict[str, Exception] = field(default_factory=dict)
    stopped: str | None = None
    unreachable: list[Unreachable] = field(default_factory=list)
    accounts: dict[str, SyncReport] = field(default_factory=dict)
    """Fleet mode (``sync.rotation``): each account's own report of the run, by name; the
    fields above sum them."""

    @property
    def ok(self) -> bool:
        """True when no step failed and nothing needs the user (parked, quarantined, held in
        a conflict, unreadable)."""
        if self.failures:
            return False
        if self.push is not None and self.push.parked:
            return False
        if self.mileage is not None and (self.mileage.conflicts or self.mileage.unreadable):
            return False
        return not (self.costs is not None and self.costs.quarantined)

    def raise_for_failure(self) -> None:
        """Raise the error of the first step that failed (nothing when none did)."""
        for error in self.failures.values():
            raise error

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "steps": list(self.steps),
            "costs": None if self.costs is None else self.costs.to_dict(),
            "mileage": None if self.mileage is None else self.mileage.to_dict(),
            "push": None if self.push is None else self.push.to_dict(),
            "failures": {
                step: {"error": type(error).__name__, "message": str(error)}
                for step, error in self.failures.items()
            },
            "stopped": self.stopped,
            "unreachable": [
                {"origin": error.origin, "url": error.url, "cause": error.cause}
                for error in self.unreachable
            ],
            **(
                {"accounts": {name: r.to_dict() for name, r in self.accounts.items()}}
                if self.accounts
                else {}
            ),
        }

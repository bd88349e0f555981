"""What a pull decided for each trip, and what applying a page did: the values the sync
side's merge (``sync.tight.inbound``) hands to the inbox (``tracker.inbox``). Plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from tracker.inputs import RemoteTripIn
from tracker.outbox import OutboxTrip

__all__ = [
    "Adopt",
    "Applied",
    "CreateLocal",
    "Decide",
    "Decision",
    "DeleteLocal",
    "Hold",
    "Keep",
    "LocalTrip",
    "PageCounts",
    "Recreate",
    "RunStep",
    "TakeServer",
]


@dataclass(frozen=True)
class LocalTrip:
    """A local trip as the merge sees it: its latest state as it would be pushed, the last
    server copy seen (the base), and its open change (None: nothing waits to be pushed)."""

    trip: OutboxTrip
    lifecycle: str
    status: str
    base: dict[str, Any] | None
    change: str | None
    in_doubt: bool
    car_remote_id: str | None = None
    sent: tuple[dict[str, Any], ...] = ()
    """What the trip's saves (creates or updates) sent since the last recorded answer
    (``tracker.sentsaves``)."""

    @property
    def changed_here(self) -> bool:
        """True when a local change waits to be pushed (or is held)."""
        return self.change is not None


# ------------------------------------------------------------------------ decisions
@dataclass(frozen=True)
class Keep:
    """Nothing to write: the server's copy says what the trip says."""

    trip_id: str


@dataclass(frozen=True)
class TakeServer:
    """Write the server's ``values`` on the trip; ``record`` becomes the base. A change
    waiting to be pushed stays (it carries the merged state)."""

    trip_id: str
    values: RemoteTripIn
    record: dict[str, Any]
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Adopt:
    """A create whose answer was lost, found on the server: it has this id now."""

    trip_id: str
    remote_id: str
    record: dict[str, Any]


@dataclass(frozen=True)
class CreateLocal:
    """A record made elsewhere (Tight's app, another device) becomes a local trip; it is not
    pushed back. ``local_id``: the id the originating device gave it, kept when free."""

    remote_id: str
    values: RemoteTripIn
    record: dict[str, Any]
    local_id: str | None = None


@dataclass(frozen=True)
class DeleteLocal:
    """Deleted on the server: the trip is deleted here too (a tombstone that says so),
    never re-created. ``drop_change``: a change made here is dropped with it (the policy
    took the server's side)."""

    trip_id: str
    drop_change: bool = False


@dataclass(frozen=True)
class Recreate:
    """Deleted on the server, edited here, and the policy keeps it: the trip is sent again
    as a new record."""

    trip_id: str


@dataclass(frozen=True)
class Hold:
    """Changed here and on the server differently (``kind`` ``edit``), or deleted there and
    edited here (``deleted``): the trip's change is held until the user resolves it.

    ``fields``: ``{name, base, local, server, values}`` per field (``values``: the server's
    value in local terms, a partial :class:`~tracker.inputs.RemoteTripIn`)."""

    trip_id: str
    kind: str
    fields: list[dict[str, Any]]
    record: dict[str, Any] | None
    words: tuple[str, ...] = ()


Decision = Keep | TakeServer | Adopt | CreateLocal | DeleteLocal | Recreate | Hold


@dataclass
class PageCounts:
    """What applying pulled records did (a page's, or summed over a pull)."""

    unchanged: int = 0
    updated: int = 0
    created: int = 0
    adopted: int = 0
    deleted: int = 0
    recreated: int = 0
    others: int = 0
    """Records of another account's trips (seen through a token that sees several users'):
    left to that account, never adopted or copied (fleet mode)."""
    conflicts: list[str] = field(default_factory=list)
    """Trips whose change is now held in a conflict."""

    def count(self, other: PageCounts) -> None:
        """Add ``other``'s counts (and conflicts) to these."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNTS = tuple(f.name for f in fields(PageCounts))


@dataclass
class Applied(PageCounts):
    """What applying one page did."""

    changed: list[str] = field(default_factory=list)
    """Trips whose fields the server changed (for events)."""

    def count(self, other: PageCounts) -> None:
        """Add another page's counts (and the trips it changed) to these."""
        super().count(other)
        if isinstance(other, Applied):
            self.changed += other.changed


Decide = Callable[[Mapping[str, LocalTrip], Mapping[str, LocalTrip]], list[Decision]]
"""``decide(by_remote_id, by_local_id) -> decisions``: called inside the transaction."""


@dataclass(frozen=True)
class RunStep:
    """The pull's checkpoint, moved with the page (see ``tracker.pullruns``)."""

    name: str
    run_id: str
    checkpoint: dict[str, Any]
    pages: int
    items: int

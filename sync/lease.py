"""Holding a named lease while working: take it (or take it over from a dead holder on this
host), renew it on a rhythm, give it up. One helper for the push, the pull and the daemon.

A lease lives in the database (``tracker.leases``), so it works across processes: one pusher,
one puller and one daemon per database at a time. A SIGKILLed holder cannot release its
lease; owners are ``host:pid:random`` (``sync.owners``), so a holder on this host whose
process is gone is known dead and is taken over at once instead of after the lease expires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from sync.clock import Clock
from sync.errors import AlreadyRunningError
from sync.owners import dead_here, new_owner
from tracker.leases import LeaseHold, LeaseInfo, Leases

__all__ = ["HeldLease"]

log = logging.getLogger(__name__)

RENEW_FRACTION = 3
"""A held lease is renewed once a third of its lifetime has passed."""


class HeldLease:
    """A lease this process holds (a context manager that gives it up on exit).

    ``on_takeover(owner)`` runs after a dead holder's lease was taken over (the push gives
    that holder's claimed entries back). ``busy(info)`` words the AlreadyRunningError raised
    when a live owner holds it. ``forget``: the row goes on release (a lease named for this
    holder alone: a fleet worker's push lease).
    """

    def __init__(
        self,
        leases: Leases,
        name: str,
        ttl: timedelta,
        clock: Clock,
        *,
        busy: Callable[[LeaseInfo], str],
        on_takeover: Callable[[str], object] | None = None,
        forget: bool = False,
    ) -> None:
        self._leases = leases
        self._clock = clock
        self._forget = forget
        owner = new_owner()
        fence = leases.acquire(name, owner, ttl)
        if fence is None:
            fence = self._take_over(name, owner, ttl, on_takeover)
        if fence is None:
            raise AlreadyRunningError(busy(leases.info(name)))
        self.hold = LeaseHold(name, owner, fence, ttl)
        self._renewed = clock.monotonic()
        self._every = ttl.total_seconds() / RENEW_FRACTION
        self.lost = False

    @property
    def owner(self) -> str:
        """This holder's name (``host:pid:random``)."""
        return self.hold.owner

    def _take_over(
        self,
        name: str,
        owner: str,
        ttl: timedelta,
        on_takeover: Callable[[str], object] | None,
    ) -> int | None:
        held = self._leases.info(name)
        if held.owner is None or not dead_here(held.owner):
            return None
        log.info("previous holder died; taking over", extra={"lease": name, "previous": held.owner})
        self._leases.release(name, held.owner, held.fence)
        if on_takeover is not None:
            on_takeover(held.owner)
        return self._leases.acquire(name, owner, ttl)

    def renewed(self) -> None:
        """Note a renewal made elsewhere (the push renews inside its claim transaction)."""
        self._renewed = self._clock.monotonic()

    def keep(self) -> bool:
        """Renew when due; False once the lease was lost (stop working then)."""
        if self.lost:
            return False
        if self._clock.monotonic() - self._renewed < self._every:
            return True
        hold = self.hold
        if not self._leases.renew(hold.name, hold.owner, hold.fence, hold.ttl):
            self.lost = True
            return False
        self.renewed()
        return True

    def release(self) -> None:
        """Give the lease up (harmless when it was already lost)."""
        hold = self.hold
        self._leases.release(hold.name, hold.owner, hold.fence, forget=self._forget)

    def __enter__(self) -> HeldLease:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()

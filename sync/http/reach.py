"""Offline, said once: a server that cannot be reached is not asked again in the same run.

A refused connection, a name that does not resolve or a connect timeout is a fact about the
host, not about one request: once a run has given up on a host (after its connect tries),
every later request of the run to the same host fails at once with the same reason
(:class:`StillUnreachable`, never retried), so an offline ``tracker sync`` answers in
seconds instead of spending its time budget on backoffs. The memo lives for one run: the
next run tries again.
"""

from __future__ import annotations

import threading

from sync.http.failures import StillUnreachable, Unreachable, origin_of

__all__ = ["Reachability"]


class Reachability:
    """One run's memo of the hosts it could not connect to (thread-safe).

    ``connect_tries``: tries of one request whose server cannot be connected to, the first
    included (None: the API's retry policy decides). A sync asked for by hand uses a small
    number so that an offline run answers at once (``TRACKER_MANUAL_CONNECT_TRIES``).
    """

    def __init__(self, connect_tries: int | None = None) -> None:
        if connect_tries is not None and connect_tries < 1:
            raise ValueError(f"connect_tries must be >= 1 (got {connect_tries})")
        self.connect_tries = connect_tries
        self._down: dict[str, Unreachable] = {}
        self._lock = threading.Lock()

    def check(self, url: str) -> None:
        """Raise :class:`StillUnreachable` when this run gave up on ``url``'s server."""
        with self._lock:
            known = self._down.get(origin_of(url))
        if known is not None:
            raise StillUnreachable(url, f"{known.cause}; not tried again in this run")

    def give_up(self, error: Unreachable) -> None:
        """Remember that the run's tries to ``error``'s server are spent."""
        with self._lock:
            self._down.setdefault(error.origin, error)

    @property
    def down(self) -> list[Unreachable]:
        """The first failure of each host given up on, in order."""
        with self._lock:
            return list(self._down.values())

"""Which updates a two-way push may send: those whose server copy was read just before.

Tight has no conditional write, so an update overwrites whatever the server holds. A run
therefore merges each update with the server's copy first, and keeps the time between that
read and the save short: the updates are read one batch-sized chunk at a time (oldest trip
date first, so one chunk's dates are close and its walk is short), and each chunk is
claimed and sent right after its read. Creates and deletes need no read and go first.
An update whose copy could not be read waits for a later run (``updates_held``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence

from sync.errors import TransientRemoteError
from sync.tight.pull import PendingUpdate

__all__ = ["FreshReads"]

log = logging.getLogger(__name__)

Read = Callable[[Sequence[PendingUpdate]], set[str]]
"""Reads and merges the copies of some updates; returns the trips read."""


class FreshReads:
    """The updates of one push, read chunk by chunk (see the module docstring).

    ``pending``: the updates due, oldest trip date first; ``read``: reads a chunk (e.g.
    :meth:`sync.tight.pull.MileagePull.refresh`); ``chunk``: updates per read.
    """

    def __init__(self, pending: Iterable[PendingUpdate], read: Read, chunk: int) -> None:
        self._queue: deque[PendingUpdate] = deque(pending)
        self._read = read
        self._chunk = max(1, chunk)
        self._fresh: set[str] = set()
        self.reads = 0
        """How many chunks were read."""
        self.unread = 0
        """Updates whose server copy could not be read: they wait for a later run."""

    @property
    def allowed(self) -> Collection[str]:
        """The trips whose updates may be claimed now (read, not yet claimed)."""
        return frozenset(self._fresh)

    @property
    def more(self) -> bool:
        """True while updates are left to read."""
        return bool(self._queue)

    def read_next(self) -> None:
        """Read the next chunk. A read that fails leaves its updates for a later run."""
        count = min(self._chunk, len(self._queue))
        chunk = [self._queue.popleft() for _ in range(count)]
        self.reads += 1
        try:
            got = self._read(chunk) & {trip_id for trip_id, _, _ in chunk}
        except TransientRemoteError as err:
            log.warning("could not read Tight's copies of %d trips (%s): they wait", count, err)
            got = set()
        self._fresh |= got
        self.unread += count - len(got)

    def claimed(self, trip_ids: Iterable[str]) -> None:
        """These trips' updates were claimed: a later claim needs a new read."""
        self._fresh.difference_update(trip_ids)

"""Who holds a lease: ``host:pid:random`` names, and telling a dead holder on this host.

A SIGKILLed process cannot release its leases. Waiting for them to expire would block the
next sync for the lease's lifetime; a holder on this host whose process is gone is known
dead, so its lease (and its claims) can be taken over at once. A holder on another host, or
a reused pid, only means waiting for the expiry.
"""

from __future__ import annotations

import os
import socket
import uuid

from tracker.sessions import gone


def new_owner() -> str:
    """A unique name for this process's runs (host, pid, random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_here(owner: str) -> bool:
    """True when ``owner`` names a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    return pid_text.isdigit() and gone(host, int(pid_text))

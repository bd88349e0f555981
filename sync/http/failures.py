"""How a request can fail on the way, sorted by what it tells about the server.

``NotSent``: the server never saw the request (safe to send again); ``Unreachable`` is the
kind that says the server cannot be connected to at all (refused, unknown name, connect
timeout), so the rest of a run need not try it again (:mod:`sync.http.reach`).
``OutcomeUnknown``: it may have processed it; we could not read the answer.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sync.errors import TransientRemoteError

__all__ = [
    "Interrupted",
    "NotSent",
    "OutcomeUnknown",
    "StillUnreachable",
    "Unreachable",
    "connect_cause",
    "origin_of",
]


class NotSent(TransientRemoteError):
    """The request never reached the server (safe to send again)."""


class OutcomeUnknown(TransientRemoteError):
    """The request may have been processed; we could not read the answer."""


class Interrupted(NotSent):
    """Not sent: the client is stopping (its connections were cut). Never retried in-run."""


class Unreachable(NotSent):
    """The server could not be connected to (refused, unknown name, connect timeout): the
    request never reached it. ``url``: what was asked; ``cause``: why, in plain words."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"cannot connect to {url} ({cause}); will retry")
        self.url = url
        self.cause = cause

    @property
    def origin(self) -> str:
        """``scheme://host:port`` of the server."""
        return origin_of(self.url)


class StillUnreachable(Unreachable):
    """Not sent: this run already found the server unreachable. Never retried in-run."""


_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


def connect_cause(kind: str, detail: str) -> str:
    """Why a connection failed, in words (``kind``: the httpx exception's name)."""
    if kind in ("ConnectTimeout", "PoolTimeout"):
        return "no answer to the connection attempt"
    text = _ERRNO.sub("", detail.strip()).rstrip(".")
    lowered = text.lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "the host name does not resolve: offline, or a wrong address"
    if "temporary failure in name resolution" in lowered or "getaddrinfo failed" in lowered:
        return "the host name could not be looked up: offline?"
    if "network is unreachable" in lowered or "no route to host" in lowered:
        return "no route to the server: offline?"
    if "connection refused" in lowered:
        return "connection refused: nothing listens at that address"
    return text or kind


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the default port made explicit)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"

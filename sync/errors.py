"""Errors raised by the sync side.

Every error the `sync` package raises on purpose derives from :class:`SyncError`.
Per-item rejections are *values* (``tracker.outcomes``), not exceptions: these errors are
failures of a whole request or run, split by what the caller should do next::

    SyncError
    ├── ConfigError                  fix the settings (env var / config file)
    ├── TransientRemoteError         offline, timeout, 429, 5xx: work stays queued, retry later
    │   ├── ProtocolError            the response did not match the documented shape
    │   └── AlreadyRunningError      another process holds the sync lease
    └── PermanentRemoteError         retrying will not help without a change on our side
        ├── AuthError                the token is missing, expired or refused
        └── EndpointMissingError     404 on the endpoint: wrong base URL or client too old

Messages never contain a token.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base class of every error raised by the sync side."""


class ConfigError(SyncError, ValueError):
    """A setting is missing or invalid."""


class TransientRemoteError(SyncError):
    """A temporary failure; everything stays queued. ``retry_after`` is in seconds when known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ProtocolError(TransientRemoteError):
    """The server answered something that does not fit the documented response shape."""


class AlreadyRunningError(TransientRemoteError):
    """Another process currently owns the sync lease on this database."""


class PermanentRemoteError(SyncError):
    """A failure that will repeat until something changes on the client side."""


class AuthError(PermanentRemoteError):
    """The remote refused our credentials (or none are configured)."""


class EndpointMissingError(PermanentRemoteError):
    """The endpoint answered 404: the base URL is wrong or the API moved."""

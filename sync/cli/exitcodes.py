"""The one table from error class to exit code (close to BSD sysexits.h).

Documented in docs/cli.md; a test checks every code there and each mapping below.
"""

from __future__ import annotations

from enum import IntEnum

from sync import errors as sync_errors
from tracker import errors as tracker_errors


class ExitCode(IntEnum):
    """Process exit codes of the ``tracker`` command."""

    OK = 0
    USAGE = 2  # wrong command line (click/typer)
    DATAERR = 65  # bad input, or records need attention (parked, quarantined)
    UNAVAILABLE = 69  # remote endpoint missing (404): wrong URL or API moved
    SOFTWARE = 70  # internal error (a bug): please report it
    IOERR = 74  # local storage error: read-only, full, corrupt, missing
    TEMPFAIL = 75  # temporary failure (offline, 5xx, 429, DB busy); work kept queued
    NOPERM = 77  # authentication: token missing, expired or refused
    CONFIG = 78  # a setting is missing or invalid


# Most specific first: the first matching class wins.
_TABLE: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (tracker_errors.InvalidInputError, ExitCode.DATAERR),
    (tracker_errors.NotFoundError, ExitCode.DATAERR),
    (tracker_errors.StateError, ExitCode.DATAERR),
    (tracker_errors.NoRateError, ExitCode.DATAERR),  # a trip (or a year) no rate covers
    (tracker_errors.RateScheduleError, ExitCode.CONFIG),  # the user's schedule file
    (tracker_errors.MissingExtraError, ExitCode.CONFIG),  # an optional extra not installed
    (tracker_errors.DatabaseBusyError, ExitCode.TEMPFAIL),
    (tracker_errors.StorageError, ExitCode.IOERR),
    (sync_errors.ConfigError, ExitCode.CONFIG),
    (sync_errors.AuthError, ExitCode.NOPERM),
    (sync_errors.EndpointMissingError, ExitCode.UNAVAILABLE),
    (sync_errors.TransientRemoteError, ExitCode.TEMPFAIL),
    (sync_errors.PermanentRemoteError, ExitCode.TEMPFAIL),
)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error (SOFTWARE for anything unexpected)."""
    for cls, code in _TABLE:
        if isinstance(error, cls):
            return code
    return ExitCode.SOFTWARE

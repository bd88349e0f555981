"""Errors raised by the local store.

Every error the `tracker` package raises on purpose derives from :class:`TrackerError`.
The tree is split by what the caller should do next::

    TrackerError
    ├── InvalidInputError (ValueError)   fix the input; nothing was written
    │   └── UnknownScheduleError         a jurisdiction or schedule id that is not loaded
    ├── NotFoundError (LookupError)      check the id; nothing was written
    │   ├── IdTooShortError              type more of the id
    │   └── AmbiguousIdError             type more of the id: it names several records
    ├── StateError                       the record is not in a state that allows this
    ├── RateScheduleError (ValueError)   a rate schedule file is wrong: fix the entry it names
    ├── NoRateError (LookupError)        no rate covers a trip: add one (a custom schedule)
    │   └── NoRatesInPeriodError         no rate covers a report's period at all
    ├── MissingExtraError (ImportError)  install the optional extra it names
    └── StorageError                     the database file itself is the problem
        ├── DatabaseBusyError            another process holds the write lock: try again
        ├── StorageFullError             free disk space
        ├── ReadOnlyStorageError         fix permissions or point TRACKER_HOME elsewhere
        ├── CorruptDatabaseError         recover the file (sqlite3 DB .recover)
        ├── SchemaTooNewError            upgrade trip-tracker
        └── StorageUnavailableError      the file or its folder cannot be opened or created

Messages are one line and end with the next step.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base class of every error raised by the local store."""


class InvalidInputError(TrackerError, ValueError):
    """Input failed validation. Nothing was written.

    ``field`` names the offending field (dotted for nested values, e.g. ``waypoints[3].lat``).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"invalid {field}: {message}")


class NotFoundError(TrackerError, LookupError):
    """The record asked for does not exist (or was deleted)."""

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"no {kind} with id {ident!r}: check the id with `tracker {kind} list`")


class IdTooShortError(NotFoundError):
    """A prefix too short to stand for an id (so few characters match too much)."""

    def __init__(self, kind: str, ident: str, minimum: int) -> None:
        self.kind = kind
        self.ident = ident
        self.minimum = minimum
        LookupError.__init__(
            self,
            f"{kind} id {ident!r} is too short: give at least {minimum} characters of it "
            f"(`tracker {kind} list` shows them)",
        )


class AmbiguousIdError(NotFoundError):
    """A prefix that starts several ids; ``candidates`` lists some of them."""

    def __init__(self, kind: str, ident: str, candidates: list[str], *, more: bool = False) -> None:
        self.kind = kind
        self.ident = ident
        self.candidates = candidates
        shown = ", ".join(candidates) + (" and more" if more else "")
        LookupError.__init__(
            self, f"{kind} id {ident!r} is ambiguous: it starts {shown}; give more characters"
        )


class ParkedNotFoundError(NotFoundError):
    """No parked change has this number, and no trip with this id has one."""

    def __init__(self, ident: str) -> None:
        super().__init__("parked", ident)
        self.args = (
            f"no parked change {ident!r}: give its number or its trip's id "
            "(`tracker parked list` shows both)",
        )


class StateError(TrackerError):
    """The record exists but its state does not allow the operation."""


class RateScheduleError(TrackerError, ValueError):
    """A rate schedule file (shipped or the user's own) failed validation.

    ``path`` is the file, ``entry`` where in it (e.g. ``schedules[0].rates[2].valid_from``),
    ``reason`` what is wrong with it.
    """

    def __init__(self, path: str, entry: str, reason: str) -> None:
        self.path = path
        self.entry = entry
        self.reason = reason
        where = f"{path}, {entry}" if entry else path
        super().__init__(f"rate schedule {where}: {reason}; fix it and try again")


class NoRateError(TrackerError, LookupError):
    """No rate of the schedule covers a trip's date, vehicle and purpose."""

    def __init__(self, schedule: str, trip: str, detail: str) -> None:
        self.schedule = schedule
        self.trip = trip
        super().__init__(
            f"schedule {schedule!r} has no rate for trip {trip} ({detail}): add the rate to a "
            "custom schedule (TRACKER_RATE_SCHEDULES, see docs/tax-rates.md)"
        )


class NoRatesInPeriodError(NoRateError):
    """A report's period that no business rate of the schedule covers on any day."""

    def __init__(self, schedule: str, period: str, detail: str) -> None:
        self.schedule = schedule
        self.trip = ""
        self.period = period
        LookupError.__init__(
            self,
            f"schedule {schedule!r} has no business rate for a car in {period} ({detail}): "
            "add the rates to a custom schedule (TRACKER_RATE_SCHEDULES, see "
            "docs/tax-rates.md) and give its id with --jurisdiction",
        )


class MissingExtraError(TrackerError, ImportError):
    """An optional part of the install is missing (e.g. fpdf2 for a PDF report).

    ``extra`` is the optional-dependencies group of pyproject.toml that brings it.
    """

    def __init__(self, extra: str, needed_by: str, cause: str) -> None:
        self.extra = extra
        super().__init__(
            f"{needed_by} needs the '{extra}' extra ({cause}): pip install 'trip-tracker[{extra}]'"
        )


class UnknownScheduleError(InvalidInputError):
    """A jurisdiction (or schedule id) that no loaded schedule has."""

    def __init__(self, asked: str, reason: str) -> None:
        super().__init__("jurisdiction", f"{asked!r} {reason}")
        self.asked = asked


class StorageError(TrackerError):
    """The SQLite file cannot be used as asked."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class DatabaseBusyError(StorageError):
    """Another process held the write lock for longer than the busy timeout."""


class StorageFullError(StorageError):
    """The disk (or a file size limit) is full; the transaction was rolled back."""


class ReadOnlyStorageError(StorageError):
    """The database file or its folder is not writable."""


class CorruptDatabaseError(StorageError):
    """The file is not a healthy SQLite database."""


class SchemaTooNewError(StorageError):
    """The file was written by a newer trip-tracker than this one."""


class StorageUnavailableError(StorageError):
    """The database file or its folder is missing and cannot be created or opened."""

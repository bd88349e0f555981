"""The Tracker: one SQLite file opened the right way, and its parts.

Each part owns one idea and each of its methods is one transaction:

- ``trips`` (:class:`~tracker.trips.Trips`): record, enter, import, edit, delete, read;
- ``cars`` (:class:`~tracker.cars.Cars`);
- ``journal`` (:class:`~tracker.journal.Journal`): what is queued, a trip's history;
- ``parked`` (:class:`~tracker.parked.ParkedChanges`): changes the server rejected;
- ``conflicts`` (:class:`~tracker.conflicts.Conflicts`): changes held, changed on both sides;
- ``outbox`` (:class:`~tracker.outbox.Outbox`): what the pusher claims and records;
- ``inbox`` (:class:`~tracker.inbox.Inbox`): what the mileage pull writes;
- ``costs`` (:class:`~tracker.costs.CostStore`): what the costs pull writes;
- ``leases`` (:class:`~tracker.leases.Leases`): who may push or pull right now;
- ``grants`` (:class:`~tracker.grants.RequestGrants`): the request budget all processes share;
- ``sessions`` (:class:`~tracker.sessions.Sessions`): who has the file open.

Thread-safe: every method takes a pooled connection of its own for its transaction, so
several threads (an app's UI thread and the background sync) may share one Tracker. A part is
made (and its module imported) when first used: ``tracker trip list`` never loads the pull's
code. Parts hold nothing but the database, so two threads making one at once is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from tracker.db import (
    Clock,
    Database,
    DbOptions,
    Synchronous,
    create_db_engine,
    create_pg_engine,
    is_postgres_url,
    prepare_file,
    redact_url,
    utcnow,
)
from tracker.enums import DistanceUnit
from tracker.errors import InvalidInputError, StorageError
from tracker.geo import TrackFilter
from tracker.schema import ensure_schema
from tracker.sessions import Sessions
from tracker.triprows import TripRules

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.accounts import Accounts
    from tracker.bulk import Progress
    from tracker.bulkrows import BulkReport, RowError, TripRow
    from tracker.cars import Cars
    from tracker.conflicts import Conflicts
    from tracker.costs import CostStore
    from tracker.grants import RequestGrants
    from tracker.inbox import Inbox
    from tracker.inputs import ManualTripIn
    from tracker.journal import Journal
    from tracker.leases import Leases
    from tracker.outbox import Outbox
    from tracker.parked import ParkedChanges
    from tracker.rates.schedule import Schedule
    from tracker.report.model import Report
    from tracker.retention import GcReport
    from tracker.tripexport import ExportFormat, ExportReport
    from tracker.trips import Trips
    from tracker.verify import VerifyResult

__all__ = ["Tracker", "system_timezone"]

_EXPORT_ROWS = 500  # rows an export fetches at a time (trips, or a track's fixes)


def system_timezone() -> ZoneInfo:
    """The system's IANA zone (tzlocal), or UTC when it cannot be determined."""
    try:
        import tzlocal

        zone = tzlocal.get_localzone()
        return zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone))
    except Exception:
        return ZoneInfo("UTC")


class Tracker:
    """Trips, waypoints, cars and costs in one SQLite file, with a change journal.

    Open with :meth:`open`; use as a context manager or call :meth:`close`::

        with Tracker.open("trips.db", timezone="Europe/Berlin") as store:
            trip = store.trips.add({"date": "2026-03-01", "distance": "12.5"})
    """

    def __init__(self, db: Database, rules: TripRules, account: str | None = None) -> None:
        self.db = db
        self.rules = rules
        self.account = account  # fleet mode: whose trips this view adds, pushes and pulls
        self._session: str | None = None

    def for_account(self, name: str) -> Tracker:
        """This store as one account sees it (fleet mode): trips added through it are the
        account's, its outbox sends only the account's changes and its inbox matches only
        the account's trips. ``default`` is the implicit account. The view shares this
        store's connections: close this store, not the view. The name must be an account
        (NotFoundError); a disabled one is refused when a trip is given to it."""
        return Tracker(self.db, self.rules, self.accounts.key_of(name))

    @cached_property
    def trips(self) -> Trips:
        """Record, enter, import, edit, delete and read trips."""
        from tracker.trips import Trips

        return Trips(self.db, self.rules, self.account)

    @cached_property
    def cars(self) -> Cars:
        """Cars trips can be attached to."""
        from tracker.cars import Cars

        return Cars(self.db)

    @cached_property
    def journal(self) -> Journal:
        """What is queued, and a trip's history."""
        from tracker.journal import Journal

        return Journal(self.db, self.account)

    @cached_property
    def parked(self) -> ParkedChanges:
        """Changes the server rejected."""
        from tracker.parked import ParkedChanges

        return ParkedChanges(self.db)

    @cached_property
    def conflicts(self) -> Conflicts:
        """Changes held because the trip changed on both sides."""
        from tracker.conflicts import Conflicts

        return Conflicts(self.db)

    @cached_property
    def outbox(self) -> Outbox:
        """What the pusher claims and records."""
        from tracker.outbox import Outbox

        return Outbox(self.db, self.account)

    @cached_property
    def inbox(self) -> Inbox:
        """What the mileage pull writes."""
        from tracker.inbox import Inbox

        return Inbox(self.db, self.account)

    @cached_property
    def costs(self) -> CostStore:
        """What the costs pull writes."""
        from tracker.costs import CostStore

        return CostStore(self.db, self.account)

    @cached_property
    def accounts(self) -> Accounts:
        """The Tight users this store syncs for (fleet mode; one implicit account else)."""
        from tracker.accounts import Accounts

        return Accounts(self.db)

    @cached_property
    def leases(self) -> Leases:
        """Who may push or pull right now."""
        from tracker.leases import Leases

        return Leases(self.db)

    @cached_property
    def grants(self) -> RequestGrants:
        """The request budget every process on the file shares."""
        from tracker.grants import RequestGrants

        return RequestGrants(self.db)

    @cached_property
    def sessions(self) -> Sessions:
        """Who has the file open (an unclean close is found by the next open)."""
        return Sessions(self.db)

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        timezone: ZoneInfo | str | None = None,
        track_filter: TrackFilter | None = None,
        unit: DistanceUnit | str = DistanceUnit.KM,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
        clock: Clock | None = None,
    ) -> Tracker:
        """Open (creating or upgrading in place) the database at ``path``.

        ``timezone`` gives trip dates (default: the system zone); ``unit`` and
        ``track_filter`` how recorded tracks are measured; ``synchronous`` and
        ``busy_timeout`` how SQLite commits and waits; ``clock`` the store's wall clock.

        A file that another process did not close cleanly, or that was just migrated, is
        checked in full first (``PRAGMA quick_check``): CorruptDatabaseError, and nothing
        written, when it is damaged. Otherwise opening reads nothing but the schema version
        and the open sessions.
        """
        path = Path(path)
        rules = _rules(timezone, unit, track_filter)
        prepare_file(path)
        engine = create_db_engine(
            path, DbOptions(synchronous=synchronous, busy_timeout=busy_timeout)
        )
        return cls._opened(
            engine,
            path,
            lambda: Database(path, engine) if clock is None else Database(path, engine, clock),
            rules,
        )

    @classmethod
    def _opened(
        cls, engine: Engine, where: Path | str, database: Callable[[], Database], rules: TripRules
    ) -> Tracker:
        """Migrate, wrap and enter a session of the store at ``engine``; nothing is left
        open when any of it fails."""
        try:
            migrated = ensure_schema(engine, where)
            db = database()
            store = cls(db, rules)
            store._session = store.sessions.enter(check=db.verify_integrity, must_check=migrated)
        except BaseException:
            engine.dispose()
            raise
        return store

    @classmethod
    def open_url(
        cls,
        url: str,
        *,
        timezone: str | ZoneInfo | None = None,
        track_filter: TrackFilter | None = None,
        unit: DistanceUnit | str = DistanceUnit.KM,
        busy_timeout: float = 5.0,
        clock: Clock | None = None,
    ) -> Tracker:
        """Open (creating or upgrading in place) the store at a database URL: PostgreSQL
        (``postgresql+psycopg://user:password@host/db``, fleet mode; psycopg 3, the
        ``[postgres]`` extra) or ``sqlite:///path`` (the same as :meth:`open` of that path).

        The same schema and migrations as the SQLite file; ``busy_timeout`` bounds the wait
        for a lock (seconds). Raises StorageUnavailableError when the server cannot be
        reached or the database holds tables that are not a trip-tracker store.
        """
        if url.startswith("sqlite:///"):
            return cls.open(
                url.removeprefix("sqlite:///"),
                timezone=timezone,
                track_filter=track_filter,
                unit=unit,
                busy_timeout=busy_timeout,
                clock=clock,
            )
        if not is_postgres_url(url):
            raise InvalidInputError(
                "database_url",
                f"{redact_url(url)} is not a postgresql:// or sqlite:/// URL; "
                "give e.g. postgresql+psycopg://user@host/dbname",
            )
        where = redact_url(url)
        engine = create_pg_engine(url, DbOptions(busy_timeout=busy_timeout))
        return cls._opened(
            engine,
            where,
            lambda: Database(None, engine, clock or utcnow, location=where),
            _rules(timezone, unit, track_filter),
        )

    def add_trips(
        self,
        rows: Iterable[ManualTripIn | Mapping[str, Any] | TripRow | RowError],
        *,
        chunk_size: int | None = None,
        on_progress: Progress | None = None,
        skip_invalid: bool = False,
        dry_run: bool = False,
        account: str | None = None,
    ) -> BulkReport:
        """Add many finished trips, ``chunk_size`` (1 to 10,000; None: 1,000) per transaction.

        Each row is validated exactly as :meth:`~tracker.trips.Trips.add` validates one
        trip and stored as it stores it, with its pending journal entry. A
        :class:`~tracker.bulkrows.TripRow` adds a row number for the report, an import key
        (a row whose key is already in the store is skipped) and waypoints; a
        :class:`~tracker.bulkrows.RowError` stands for a row its reader could not read.
        Each chunk is one transaction: a crash leaves whole chunks only.

        Invalid rows: with ``skip_invalid`` they are left out and reported, the others
        added; without it the first invalid row stops the import, and its chunk and every
        row after it are not written (earlier chunks are: give rows import keys to resume).
        ``dry_run`` checks every row and writes nothing. ``account``: whose trips they are
        (fleet mode; None: this store's, the implicit account unless a ``for_account``
        view). ``rows`` is read once, a chunk at a time (any length, constant memory);
        ``on_progress`` gets the counts after each chunk. Returns the counts and the
        rejected rows::

            report = store.add_trips(rows, skip_invalid=True)
            print(report.added, report.skipped, report.errors)
        """
        from tracker import bulk

        return bulk.add_trips(
            self.db,
            self.rules,
            rows,
            chunk_size=bulk.DEFAULT_CHUNK if chunk_size is None else chunk_size,
            on_progress=on_progress,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            account=self.account if account is None else account,
        )

    def export_trips(
        self,
        out: TextIO,
        fmt: ExportFormat | str = "csv",
        *,
        start: date | None = None,
        end: date | None = None,
        account: str | None = None,
    ) -> ExportReport:
        """Write the finished trips dated ``start``..``end`` (inclusive; None: open) to
        ``out`` as CSV (the columns ``tracker trip import`` reads; open ``out`` with
        ``newline=""``) or GPX 1.1 (a track per trip with fixes), oldest first, streamed
        from one consistent snapshot, on SQLite or PostgreSQL alike. ``account``: only that
        account's trips (fleet mode; ``default``: the implicit account's; NotFoundError for
        a name that is no account); None: every account's. Returns the counts
        (docs/recording.md, "Export")::

            with open("trips.csv", "w", encoding="utf-8", newline="") as out:
                store.export_trips(out, "csv", start=date(2026, 1, 1))
        """
        from tracker import tripexport
        from tracker.accounts import of_account

        kind = tripexport.ExportFormat(fmt)
        if start is not None and end is not None and end < start:
            raise InvalidInputError("to", f"{end} is before {start}: give --from before --to")
        scope = None if account is None else of_account(self.accounts.key_of(account))
        with self.db.read() as s:
            conn = s.connection()
            query = tripexport.trips_query(conn.dialect.name, start, end, scope)
            # yield_per streams: a server-side cursor on PostgreSQL (psycopg would otherwise
            # fetch every row first), rows stepped as fetched on SQLite. GPX reads each
            # trip's fixes on the same connection while the trips stream.
            streamed = {"yield_per": _EXPORT_ROWS}
            with conn.execute(query, execution_options=streamed) as rows:
                if kind is tripexport.ExportFormat.CSV:
                    return tripexport.write_csv(rows, out)

                def fixes_of(trip_id: str) -> Iterator[Sequence[Any]]:
                    fixes = tripexport.fixes_query(trip_id)
                    with conn.execute(fixes, execution_options=streamed) as points:
                        yield from points

                return tripexport.write_gpx(rows, fixes_of, out)

    def report(
        self,
        *,
        jurisdiction: str,
        year: int | None = None,
        car: str | None = None,
        customer: str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        schedules: Mapping[str, Schedule] | None = None,
        rate_file: Path | None = None,
        treatments: Mapping[int, str] | None = None,
    ) -> Report:
        """The mileage log of the tax year beginning in ``year`` under the schedule
        ``jurisdiction`` names (``us-irs``, ``uk-hmrc``, ``ca-cra`` or a schedule id of
        ``rate_file``), narrowed to a car, a customer, or ``start`` to ``end``. The object
        ``tracker report`` prints; rows stream from the store when it is iterated::

            report = store.report(jurisdiction="uk-hmrc", year=2025)
            data = report.collect()  # or report.stream(), or render(report, "csv", out)
            print(data.totals.deduction, data.totals.business_share)

        See :func:`tracker.report.build_report` for the errors."""
        from tracker.report.read import build_report

        return build_report(
            self,
            jurisdiction=jurisdiction,
            year=year,
            car=car,
            customer=customer,
            start=start,
            end=end,
            schedules=schedules,
            rate_file=rate_file,
            treatments=treatments,
        )

    @property
    def path(self) -> Path:
        """The database file (a PostgreSQL store has none: StorageError)."""
        if self.db.path is None:
            raise StorageError(
                f"{self.db.location} is a PostgreSQL database, not a file",
                path=self.db.location,
            )
        return self.db.path

    def now(self) -> datetime:
        """The store's clock (an aware UTC datetime)."""
        return self.db.now()

    def verify_history(self) -> VerifyResult:
        """Recompute every trip's history hash chain (docs/verify.md): the trips changed
        outside the tool, and the file's chain head (the digest a printed log carries).
        One read transaction; reads the whole history."""
        from tracker.verify import verify

        return verify(self.db)

    def check_integrity(self) -> None:
        """The guard before every sync, O(1): raise CorruptDatabaseError when SQLite has
        reported damage and a full check does not pass now (``Database.check_integrity``)."""
        self.db.check_integrity()

    def gc(self, retention: timedelta, *, dry_run: bool = False, vacuum: bool = False) -> GcReport:
        """Compact the journal: remove synced entries older than ``retention`` and their
        attempt-level history (the trip's audit events stay; see ``tracker.retention``).
        ``dry_run``: count what would go, change nothing. ``vacuum``: then shrink the file.

        Compaction is one short transaction, safe beside a running sync. VACUUM rewrites
        the whole file under the write lock: run it while no sync runs (``tracker gc`` and
        the daemon take the sync leases first, see ``sync.gc``)."""
        from tracker.gc import collect

        return collect(self.db, retention, dry_run=dry_run, shrink=vacuum)

    def verify_integrity(self) -> None:
        """The full check now (``PRAGMA quick_check``, reads the whole file): raise
        CorruptDatabaseError when the file is damaged (``tracker status --check``, and the
        daemon's periodic check)."""
        self.db.verify_integrity()

    def close(self) -> None:
        """Release every connection. The session is ended (a clean close) unless damage was
        seen: then it stays, as a crash's would, so the next open checks the file in full
        and nothing is written into a damaged file."""
        session, self._session = self._session, None
        try:
            if session is not None and not self.db.damage_seen:
                self.sessions.leave(session)
        except StorageError:
            pass  # left behind: the next open checks the file in full, nothing is lost
        finally:
            self.db.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rules(
    timezone: str | ZoneInfo | None, unit: DistanceUnit | str, track_filter: TrackFilter | None
) -> TripRules:
    return TripRules(
        timezone=_zone(timezone),
        unit=DistanceUnit(unit),
        track_filter=track_filter or TrackFilter(),
    )


def _zone(value: ZoneInfo | str | None) -> ZoneInfo:
    if value is None:
        return system_timezone()
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(value)
    except Exception as err:
        raise InvalidInputError("timezone", f"unknown time zone {value!r}") from err

"""Named leases in the database: who may do a job (e.g. push) right now, across processes.

A lease has an owner, an expiry and a fence that grows on every change of owner. The
holder renews it while working; a crashed holder's lease simply expires and the next
process takes over. Every step runs inside the caller's IMMEDIATE transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session

from tracker.coltypes import utc_text
from tracker.db import Database
from tracker.tables import Lease

__all__ = ["LeaseHold", "LeaseInfo", "Leases", "acquire", "info", "release", "renew"]


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds a lease and until when."""

    name: str
    owner: str | None
    fence: int
    expires_at: datetime | None

    def held(self, now: datetime) -> bool:
        """True while an owner holds it and it has not expired."""
        return self.owner is not None and self.expires_at is not None and self.expires_at > now


@dataclass(frozen=True)
class LeaseHold:
    """A lease we hold and must keep renewing while we work."""

    name: str
    owner: str
    fence: int
    ttl: timedelta


def acquire(session: Session, name: str, owner: str, ttl: timedelta, now: datetime) -> int | None:
    """Take (or extend) the lease for ``owner``; returns the fence, or None if another
    owner holds a live lease."""
    row = session.get(Lease, name)
    if row is None:
        row = Lease(name=name, owner=owner, fence=1, expires_at=now + ttl)
    elif row.owner == owner or row.owner is None or row.expires_at is None or row.expires_at <= now:
        if row.owner != owner:
            row.fence += 1
        row.owner = owner
        row.expires_at = now + ttl
    else:
        return None
    session.add(row)
    session.flush()
    return row.fence


_RENEW_SQL = "UPDATE lease SET expires_at = ? WHERE name = ? AND owner = ? AND fence = ?"


def renew(
    session: Session, name: str, owner: str, fence: int, ttl: timedelta, now: datetime
) -> bool:
    """Extend a lease still held by ``owner`` under ``fence``; False if it was lost.

    An expired lease that nobody took is still ours: a take-over changes the owner and the
    fence (a release clears the owner), all in write transactions like this one, so an
    unchanged owner and fence prove that no other process held it meanwhile. The holder was
    only slow (a pull page longer than the lease on a loaded machine), and giving up then
    would end every such run before its push, with nobody else pushing."""
    # One statement, not the ORM's read and flush: the pusher renews before every claim.
    result = session.connection().exec_driver_sql(
        _RENEW_SQL, (utc_text(now + ttl), name, owner, fence)
    )
    return int(result.rowcount or 0) == 1


def release(session: Session, name: str, owner: str, fence: int, *, forget: bool = False) -> None:
    """Give the lease up (no-op if it is no longer ours); ``forget``: remove its row (a
    lease named for one holder only, which nobody will take again)."""
    row = session.get(Lease, name)
    if row is not None and row.owner == owner and row.fence == fence:
        if forget:
            session.delete(row)
            return
        row.owner = None
        row.expires_at = None
        session.add(row)


def info(session: Session, name: str) -> LeaseInfo:
    """The lease's current state."""
    row = session.get(Lease, name)
    if row is None:
        return LeaseInfo(name, None, 0, None)
    return LeaseInfo(name, row.owner, row.fence, row.expires_at)


class Leases:
    """The named leases of one store (a part of :class:`~tracker.store.Tracker`).

    Each call is one write (or read) transaction. ``sync.lease`` builds the take-over of a
    dead holder and the renewal rhythm on top of these.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, name: str, owner: str, ttl: timedelta) -> int | None:
        """Take the named lease; returns its fence, or None while another owner holds it."""
        with self._db.write() as s:
            return acquire(s, name, owner, ttl, self._db.now())

    def renew(self, name: str, owner: str, fence: int, ttl: timedelta) -> bool:
        """Extend a lease we hold; False if it was lost (stop working then)."""
        with self._db.write() as s:
            return renew(s, name, owner, fence, ttl, self._db.now())

    def release(self, name: str, owner: str, fence: int, *, forget: bool = False) -> None:
        """Give a lease up (no-op if it is no longer ours); ``forget``: remove its row."""
        with self._db.write() as s:
            release(s, name, owner, fence, forget=forget)

    def info(self, name: str) -> LeaseInfo:
        """Who holds the named lease."""
        with self._db.read() as s:
            return info(s, name)

    def held_as(self, name: str) -> list[LeaseInfo]:
        """The live holders of the job ``name``: its lease, or in fleet mode the leases
        named ``name:<owner>`` each worker holds for itself (``push``, ``daemon``)."""
        now = self._db.now()
        leases: Any = Lease.__table__  # type: ignore[attr-defined]
        # A Core statement (rows, not ORM objects): status configures no ORM mapper.
        query = sa_select(leases).where(
            or_(leases.c.name == name, leases.c.name.startswith(f"{name}:"))
        )
        with self._db.read() as s:
            rows = s.connection().execute(query).all()
            found = [LeaseInfo(r.name, r.owner, r.fence, r.expires_at) for r in rows]
        return sorted((i for i in found if i.held(now)), key=lambda i: i.name)

"""Accounts (``store.accounts``): the Tight users one store syncs for, in fleet mode.

A trip belongs to one account for good; a trip with none belongs to the implicit account
(``default``), whose credentials are the settings'. A single-user store never has to know:
it is the implicit account's. An account keeps its credentials by reference (``env:NAME``,
``file:/path``), never the secrets themselves (``tracker.inputs.secret_ref``): the database
can be read by every worker and every backup, the secrets only by the process that syncs.

A disabled account keeps its trips; no new trip may be given to it and no run syncs it.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from tracker.db import Database
from tracker.enums import EntryState, Lifecycle
from tracker.errors import InvalidInputError, NotFoundError, StateError
from tracker.tables import Account, JournalEntry, Trip
from tracker.views import AccountView

if TYPE_CHECKING:
    from tracker.inputs import AccountIn

__all__ = [
    "IMPLICIT_ACCOUNT",
    "Accounts",
    "account_key",
    "account_name",
    "of_account",
    "require_active",
]

IMPLICIT_ACCOUNT = "default"
"""The name of the implicit account (trips with no account; the settings' credentials)."""


def account_key(name: str | None) -> str | None:
    """The stored value for an account name: None for the implicit account."""
    return None if name in (None, IMPLICIT_ACCOUNT) else name


def account_name(key: str | None) -> str:
    """The name of the account stored as ``key`` (None: the implicit account's name)."""
    return IMPLICIT_ACCOUNT if key is None else key


def of_account(
    key: str | None, column: ColumnElement[str | None] | None = None
) -> ColumnElement[bool]:
    """The condition "the row belongs to the account stored as ``key``" (None: implicit):
    a trip's by default, or the rows whose account is ``column`` (a cost's, ...)."""
    account = col(Trip.account) if column is None else column
    return account.is_(None) if key is None else account == key


def require_active(s: Session, name: str | None) -> str | None:
    """The stored key of ``name``, which must name an account that is not disabled (the
    implicit account always qualifies). Raises InvalidInputError otherwise."""
    key = account_key(name)
    if key is None:
        return None
    row = s.get(Account, key)
    if row is None:
        raise InvalidInputError(
            "account", f"no account named {key!r}; add it with `tracker account add`"
        )
    if row.disabled_at is not None:
        raise InvalidInputError(
            "account", f"account {key!r} is disabled; enable it with `tracker account enable`"
        )
    return key


_OPEN = (EntryState.PENDING, EntryState.IN_FLIGHT)
_ANY_SQL = "SELECT 1 FROM account LIMIT 1"


# Trips and open journal entries per account (None: the implicit one), of every account or
# of those ``where`` selects. Proportional to the trips counted: for `tracker account` and
# `tracker status` in fleet mode, never on a hot path.
def _trip_counts(s: Session, *where: ColumnElement[bool]) -> dict[str | None, int]:
    query = (
        select(col(Trip.account), func.count())
        .where(col(Trip.lifecycle) == Lifecycle.ACTIVE, *where)
        .group_by(col(Trip.account))
    )
    return {account: int(n) for account, n in s.exec(query)}


def _open_counts(s: Session, *where: ColumnElement[bool]) -> dict[str | None, int]:
    query = (
        select(col(Trip.account), func.count())
        .select_from(JournalEntry)
        .join(Trip, col(Trip.id) == col(JournalEntry.trip_id))
        .where(col(JournalEntry.state).in_(_OPEN), *where)
        .group_by(col(Trip.account))
    )
    return {account: int(n) for account, n in s.exec(query)}


def _implicit(trips: int, pending: int) -> AccountView:
    return AccountView(
        name=IMPLICIT_ACCOUNT,
        tight_client_id=None,
        tight_user_id=None,
        tight_secret_ref=None,
        tight_token_ref=None,
        costs_token_ref=None,
        created_at=None,
        disabled_at=None,
        trips=trips,
        pending=pending,
    )


class Accounts:
    """The accounts of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, data: AccountIn | Mapping[str, Any]) -> AccountView:
        """Add an account; its name must be new."""
        from tracker.inputs import AccountIn, parse  # validation: only when writing

        given = parse(AccountIn, data)
        with self._db.write() as s:
            if s.get(Account, given.name) is not None:
                raise InvalidInputError(
                    "name", f"an account named {given.name!r} exists; choose another name"
                )
            s.add(Account(**given.model_dump(), created_at=self._db.now()))
            s.flush()
        return self.get(given.name)

    def list(self) -> builtins.list[AccountView]:
        """The implicit account, then every account by name, with their counts."""
        with self._db.read() as s:
            trips, pending = _trip_counts(s), _open_counts(s)
            rows = s.exec(select(Account).order_by(col(Account.name))).all()
            implicit = _implicit(trips.get(None, 0), pending.get(None, 0))
            return [implicit] + [
                AccountView(
                    **row.model_dump(),
                    trips=trips.get(row.name, 0),
                    pending=pending.get(row.name, 0),
                )
                for row in rows
            ]

    def any(self) -> bool:
        """Whether the store has any account besides the implicit one (fleet mode)."""
        with self._db.read() as s:  # plain SQL: a list or status configures no ORM mapper
            return s.connection().exec_driver_sql(_ANY_SQL).first() is not None

    def active_names(self) -> builtins.list[str]:
        """The names of the accounts that may be synced, by name (not the implicit one)."""
        with self._db.read() as s:
            query = select(Account.name).where(col(Account.disabled_at).is_(None))
            return list(s.exec(query.order_by(col(Account.name))))

    def key_of(self, name: str) -> str | None:
        """The stored key of an account's name (None: the implicit account); NotFoundError
        for a name that is no account. One row read, no counting."""
        key = account_key(name)
        if key is not None:
            with self._db.read() as s:
                if s.get(Account, key) is None:
                    raise NotFoundError("account", name)
        return key

    def get(self, name: str) -> AccountView:
        """One account (``default``: the implicit one), with its counts."""
        key = account_key(name)
        with self._db.read() as s:
            row = None if key is None else s.get(Account, key)
            fields = None if row is None else row.model_dump()
            if key is not None and row is None:
                raise NotFoundError("account", name)
            mine = of_account(key)
            trips = _trip_counts(s, mine).get(key, 0)
            pending = _open_counts(s, mine).get(key, 0)
        if fields is None:
            return _implicit(trips, pending)
        return AccountView(**fields, trips=trips, pending=pending)

    def active(self, name: str) -> AccountView:
        """One account that may be synced (not disabled)."""
        found = self.get(name)
        if not found.active:
            raise StateError(
                f"account {name!r} is disabled; enable it with `tracker account enable`"
            )
        return found

    def disable(self, name: str) -> AccountView:
        """Stop syncing an account and giving it trips; its trips stay. Idempotent."""
        self._set_disabled(name, disabled=True)
        return self.get(name)

    def enable(self, name: str) -> AccountView:
        """Sync a disabled account again. Idempotent."""
        self._set_disabled(name, disabled=False)
        return self.get(name)

    def _set_disabled(self, name: str, *, disabled: bool) -> None:
        if account_key(name) is None:
            raise StateError("the implicit account cannot be disabled or enabled")
        with self._db.write() as s:
            row = s.get(Account, name)
            if row is None:
                raise NotFoundError("account", name)
            if disabled and row.disabled_at is None:
                row.disabled_at = self._db.now()
            elif not disabled:
                row.disabled_at = None
            s.add(row)

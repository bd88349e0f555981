"""The request budget's record in the database: one sliding window per budget key, shared by
every process that opens the file (the daemon, ``tracker sync``, an app).

Each call is one transaction. Taking a grant is a write (``BEGIN IMMEDIATE``), so two
processes never both take the last free slot: the check and the insert are one step under
the write lock. Times are the wall clock (seconds since the epoch), the only clock every
process on the host shares; the rule is in ``tracker.ratewindow``:

- a step back of the wall clock is recognised against the budget's ``horizon`` (the latest
  time any process read) and every stamp is moved back by it (conservative, see
  :func:`tracker.ratewindow.step_back`);
- a step forward lets grants leave the window early by the size of the step: a process also
  keeps its own window on its monotonic clock (``sync.budget``), so only another process's
  grants can be miscounted, and a 429 then pauses every process (:meth:`RequestGrants.pause`).

The table stays small: grants older than the window are deleted as new ones are taken, so it
holds at most ``limit`` rows per key (plus those of a key not used since).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from tracker.db import Database
from tracker.ratewindow import slot_wait, step_back

__all__ = ["Answered", "RequestGrants", "Window"]

WallSeconds = Callable[[], float]
"""The wall clock as seconds since the epoch; read inside the transaction."""
Answered = tuple[int, float]
"""A grant's id and the wall time its answer came back."""


@dataclass(frozen=True)
class Window:
    """A budget's shape: ``limit`` requests per ``window`` seconds, under ``key``."""

    key: str
    limit: int
    window: float


class RequestGrants:
    """The shared windows of one store (a part of :class:`~tracker.store.Tracker`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def take(self, w: Window, now: WallSeconds) -> float:
        """Take one grant if a request may go now (0.0 returned); otherwise take nothing and
        return the seconds to wait (see :meth:`take_grant`)."""
        return self.take_grant(w, now)[0]

    def take_grant(
        self, w: Window, now: WallSeconds, answered: Sequence[Answered] = ()
    ) -> tuple[float, int | None]:
        """Take one grant if a request may go now: (0.0, the grant's id); otherwise take
        nothing: (the seconds to wait, None). One write transaction, committed without
        waiting for the disk (a grant lost to a power cut costs at most a 429, which pauses
        every process); prunes grants out of the window. ``answered``: stamps to move first,
        in the same transaction (as :meth:`answered_at`), whatever the outcome."""
        with self._db.write(durable=False) as s:
            conn = s.connection()
            _move(conn, answered)  # before a step back is applied: it moves them too
            t = now()
            paused_until = _settle(conn, w.key, t)
            wait = slot_wait(_kth_latest(conn, w, t, 0.0), paused_until, t, w.window)
            if wait > 0:
                return wait, None
            grant = conn.exec_driver_sql(
                "INSERT INTO request_grant (key, at) VALUES (?, ?) RETURNING id", (w.key, t)
            ).scalar_one()
            conn.exec_driver_sql("DELETE FROM request_grant WHERE at <= ?", (t - w.window,))
            return 0.0, int(grant)

    def answered(self, grant: int, now: WallSeconds) -> None:
        """The request of ``grant`` has its answer (or failed): its stamp moves to now, so
        the window counts it from the time the server had surely seen it (``sync.budget``:
        latency). Never moves a stamp back; a grant already pruned is left alone."""
        with self._db.write(durable=False) as s:
            _move(s.connection(), [(grant, now())])

    def answered_at(self, answered: Sequence[Answered]) -> None:
        """:meth:`answered` of several grants, each at its answer's time as read then (one
        write transaction)."""
        if answered:
            with self._db.write(durable=False) as s:
                _move(s.connection(), answered)

    def wait(self, w: Window, now: WallSeconds) -> float:
        """Seconds until a request may go (0.0: now); reads only."""
        with self._db.read() as s:
            conn = s.connection()
            t = now()
            paused_until, horizon = _state(conn, w.key, t)
            back = step_back(horizon, t)
            kth = _kth_latest(conn, w, t, back)
            return slot_wait(None if kth is None else kth - back, paused_until - back, t, w.window)

    def pause(self, key: str, seconds: float, now: WallSeconds) -> None:
        """Pause the key's budget for ``seconds`` from now (pauses only extend)."""
        with self._db.write() as s:
            conn = s.connection()
            t = now()
            paused_until = _settle(conn, key, t)
            if t + seconds > paused_until:
                conn.exec_driver_sql(
                    "UPDATE request_budget SET paused_until = ? WHERE key = ?", (t + seconds, key)
                )

    def in_window(self, w: Window, now: WallSeconds) -> int:
        """How many grants of the key lie within the last window."""
        with self._db.read() as s:
            t = now()
            row = (
                s.connection()
                .exec_driver_sql(
                    "SELECT count(*) FROM request_grant WHERE key = ? AND at > ?",
                    (w.key, t - w.window),
                )
                .first()
            )
            return int(row[0]) if row else 0


_MOVE_SQL = "UPDATE request_grant SET at = ? WHERE id = ? AND at < ?"


def _move(conn: Connection, answered: Sequence[Answered]) -> None:
    """Move each grant's stamp to its answer's time (never back; a pruned grant is gone)."""
    if answered:
        conn.exec_driver_sql(_MOVE_SQL, [(at, grant, at) for grant, at in answered])


def _state(conn: Connection, key: str, now: float) -> tuple[float, float]:
    row = conn.exec_driver_sql(
        "SELECT paused_until, horizon FROM request_budget WHERE key = ?", (key,)
    ).first()
    return (0.0, now) if row is None else (float(row[0]), float(row[1]))


def _settle(conn: Connection, key: str, now: float) -> float:
    """Bring the key's stamps onto the current clock (moved back after a step back) and
    record ``now`` as its horizon; returns the pause's end. Inside a write transaction."""
    paused_until, horizon = _state(conn, key, now)
    back = step_back(horizon, now)
    if back > 0:
        conn.exec_driver_sql("UPDATE request_grant SET at = at - ? WHERE key = ?", (back, key))
        paused_until -= back
    conn.exec_driver_sql(
        "INSERT INTO request_budget (key, paused_until, horizon) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET paused_until = excluded.paused_until, "
        "horizon = excluded.horizon",
        (key, paused_until, max(horizon - back, now)),
    )
    return paused_until


def _kth_latest(conn: Connection, w: Window, now: float, back: float) -> float | None:
    """The send time (as stored) of the ``limit``-th latest grant inside the window, or None
    when fewer than ``limit`` are; ``back``: the not yet applied step back."""
    row = conn.exec_driver_sql(
        "SELECT at FROM request_grant WHERE key = ? AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?",
        (w.key, now + back - w.window, w.limit - 1),
    ).first()
    return None if row is None else float(row[0])

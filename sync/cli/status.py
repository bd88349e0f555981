"""``tracker status``: what is queued, what needs attention, where the data lives."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from sync.cli import output
from sync.cli.context import load_store_settings, open_store


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Also run the full integrity check (reads the whole file); exit 74 "
            "when it is damaged.",
        ),
    ] = False,
    account: Annotated[
        str | None,
        typer.Option("--account", help="Fleet mode: that account's trips and open changes."),
    ] = None,
) -> None:
    """Journal counts per state, oldest pending change, database facts; in fleet mode the
    trips and open changes of each account too."""
    from tracker.db import file_mode

    settings = load_store_settings()
    with open_store(settings) as store:
        checked = _check(store) if check else None
        counts = store.journal.counts()
        now = store.now()
        trips = store.trips.count()
        next_retry = store.journal.next_attempt_at()
        last = store.journal.last_error()
        # Fleet mode: one lease per daemon and per run (``daemon:<owner>``, ``push:<owner>``).
        daemons = store.leases.held_as("daemon")
        pushers = store.leases.held_as("push")
        costs = store.costs.counts().to_json()
        fleet = store.db.postgres
        where = store.db.location
        # Counted per account only when the store has accounts (fleet mode): a GROUP BY over
        # the trips, which a single-user store's status never pays for.
        accounts = store.accounts.list() if account or store.accounts.any() else []
        if account is not None:
            accounts = [store.accounts.get(account)]
    oldest = counts.oldest_pending_at
    doc: dict[str, Any] = {
        # PostgreSQL: the URL without its password; no file, so no file mode.
        "database": where if fleet else str(settings.db_path),
        "database_mode": None if fleet else oct(file_mode(settings.db_path)),
        "trips": trips,
        "conflicts": counts.conflicts,
        "journal": counts.to_dict(),
        "oldest_pending_age_seconds": (now - oldest).total_seconds() if oldest else None,
        "next_attempt_at": output.instant(next_retry),
        "last_error": {
            "mileage": (
                {
                    "type": last.error_type,
                    "message": last.error_message,
                    "at": output.instant(last.updated_at),
                }
                if last
                else None
            )
        },
        "daemon": {
            "running": bool(daemons),
            "owner": daemons[0].owner if daemons else None,
            "count": len(daemons),
        },
        "sync_running": bool(pushers),
        "costs": costs,
    }
    if accounts:
        doc["accounts"] = [
            {"name": a.name, "active": a.active, "trips": a.trips, "pending": a.pending}
            for a in accounts
        ]
    if checked is not None:
        doc["integrity"] = {"check": "quick_check", "result": "ok", "seconds": checked}
    if as_json:
        output.emit_json(doc)
        return
    age = doc["oldest_pending_age_seconds"]
    output.table(
        "status",
        ["what", "value"],
        [
            ("database", doc["database"]),
            ("file mode", doc["database_mode"] or "- (PostgreSQL)"),
            ("trips", trips),
            ("pending", counts.pending),
            ("in flight", counts.in_flight),
            ("in doubt", counts.in_doubt),
            ("parked (need you)", counts.parked),
            ("conflicts (need you)", counts.conflicts),
            ("synced", counts.synced),
            ("dropped", counts.dropped),
            ("oldest pending", f"{age:.0f} s ago" if age is not None else "-"),
            ("next retry", output.local_time(next_retry, store.rules.timezone)),
            (
                "last error (mileage)",
                f"{last.error_type}: {last.error_message}" if last else "-",
            ),
            *(
                (
                    f"account {a.name}",
                    f"{a.trips} trips, {a.pending} open" + ("" if a.active else " (disabled)"),
                )
                for a in accounts
            ),
            ("daemon", _daemons(daemons)),
            ("sync running now", "yes" if doc["sync_running"] else "no"),
            *(
                [("integrity", f"ok (PRAGMA quick_check, {checked * 1000:.0f} ms)")]
                if checked is not None
                else []
            ),
        ],
    )


def _daemons(daemons: list[Any]) -> str:
    if not daemons:
        return "not running"
    if len(daemons) == 1:
        return f"running ({daemons[0].owner})"
    return f"{len(daemons)} running ({', '.join(d.owner for d in daemons)})"


def _check(store: Any) -> float:
    """The full integrity check; its duration in seconds (CorruptDatabaseError: exit 74)."""
    started = time.perf_counter()
    store.verify_integrity()
    return round(time.perf_counter() - started, 3)

"""A1-ACCT, fleet mode with accounts: 4 `tracker daemon` workers (``TRACKER_SYNC_ACCOUNTS=all``)
drain 20 accounts' trips from one PostgreSQL store against the sandbox, which enforces each
token's request limit, while a worker is SIGKILLed every few seconds and replaced. One
account holds half the backlog; a quiet account gets a single new trip once the drain is
under way. Every trip must be stored exactly once, by its own account's user; no request may
meet a 429; the quiet trip must be synced within seconds, not after the backlog.

Half the accounts mint tokens (client credentials, a userId each: every worker mints its
own), half share one static token per account (file references): then the server's limit is
the account's, and the workers keep to it together through the budget kept in the database.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxServer
from tests.helpers.remote import KEY, fleet_env
from tests.helpers.wait import wait_for
from tests.reliability.figures import Row, Scorecard, ratio
from tests.reliability.harness import EXE, stored_twice
from tests.reliability.profile import SEED, size
from tracker.store import Tracker
from tracker.tables import Trip

pytestmark = pytest.mark.slow  # real processes, killed: the full run only

WORKERS = 4
ACCOUNTS = 20
TRIPS = size(4_000, 50_000)
RUN_SECONDS = size(20.0, 90.0)  # workers are killed for this long, then left to finish
# Per token, at the sandbox and in the clients' budget alike: binding for the big account,
# whose 20 or more saves need several windows (its four workers share its one token).
LIMIT, WINDOW = 5, 2.0
BIG = "acct-01"  # a static token: the server's limit is the account's
QUIET = f"acct-{ACCOUNTS - 1:02d}"
QUIET_WITHIN = 10.0  # seconds: "within a few seconds" while the backlog drains


def _accounts(store: Tracker, sandbox: Sandbox, folder: Path) -> dict[str, str]:
    """The accounts, each with its userId: even ones mint, odd ones share a static token."""
    secret = folder / "client-secret"
    secret.write_text(DEFAULT_CLIENT_SECRET)
    users = {}
    for i in range(ACCOUNTS):
        name, user = f"acct-{i:02d}", f"user-{i:02d}"
        if i % 2:
            token = folder / f"{name}.token"
            token.write_text(sandbox.issue_token(user_id=user))
            store.accounts.add({"name": name, "tight_token_ref": f"file:{token}"})
        else:
            store.accounts.add(
                {
                    "name": name,
                    "tight_client_id": DEFAULT_CLIENT_ID,
                    "tight_user_id": user,
                    "tight_secret_ref": f"file:{secret}",
                }
            )
        users[name] = user
    return users


def _seed(store: Tracker) -> None:
    """Half the trips to the big account, the rest spread over the others but the quiet one."""
    big = TRIPS // 2
    share = (TRIPS - big) // (ACCOUNTS - 2)
    others = [f"acct-{i:02d}" for i in range(ACCOUNTS - 1) if f"acct-{i:02d}" != BIG]
    counts = {BIG: big} | dict.fromkeys(others, share)
    for name, n in counts.items():
        rows = (
            {"date": f"2026-11-{1 + i % 28:02d}", "distance": f"{1 + i % 90}.5"} for i in range(n)
        )
        assert store.add_trips(rows, account=name, chunk_size=5_000).added == n


@pytest.mark.timeout(size(900, 7200))
def test_accounts_drain_fairly_without_429_while_workers_are_killed(
    pg_url: str, server: SandboxServer, sandbox: Sandbox, tmp_path: Path, scorecard: Scorecard
) -> None:
    sandbox.rate.limit, sandbox.rate.window = LIMIT, WINDOW
    rng = random.Random(SEED)

    def start(slot: int) -> subprocess.Popen[bytes]:
        env = fleet_env(
            pg_url,
            server.tight_url,
            tmp_path / f"worker{slot}",
            TRACKER_SYNC_ACCOUNTS="all",
            TRACKER_SCHEDULE_ACCOUNT_TURN="0.5",
            TRACKER_SCHEDULE_PUSH_INTERVAL="1",
            TRACKER_SCHEDULE_SOON_DELAY="0.1",
            TRACKER_SCHEDULE_JITTER="0",
            TRACKER_MILEAGE_TWO_WAY="false",
            TRACKER_MILEAGE_BATCH_SIZE="100",
            TRACKER_MILEAGE_LEASE_SECONDS="2",
            TRACKER_MILEAGE_RATE_LIMIT=str(LIMIT),
            TRACKER_MILEAGE_RATE_WINDOW=str(WINDOW),
            TRACKER_MILEAGE_BACKOFF_INITIAL="0.05",
            TRACKER_MILEAGE_BACKOFF_MAX="0.5",
            TRACKER_LOG_LEVEL="info",
        )
        with (tmp_path / f"worker{slot}.log").open("ab") as log:  # the child keeps its copy
            return subprocess.Popen([EXE, "daemon"], env=env, stdout=log, stderr=log)

    with Tracker.open_url(pg_url, timezone="UTC") as store:
        users = _accounts(store, sandbox, tmp_path)
        _seed(store)
        workers = {slot: start(slot) for slot in range(WORKERS)}
        kills = 0
        quiet_id = None
        started = time.monotonic()
        try:
            while time.monotonic() - started < RUN_SECONDS:
                time.sleep(rng.uniform(1.0, 3.0))  # a kill every few seconds
                if quiet_id is None:  # the drain is under way: the quiet account's one trip
                    trip = {"date": "2026-11-28", "distance": "7"}
                    quiet_id = store.trips.add(trip, account=QUIET).id
                slot = rng.randrange(WORKERS)
                workers[slot].kill()
                workers[slot].wait(timeout=30)
                kills += 1
                workers[slot] = start(slot)

            def drained() -> bool:
                counts = store.journal.counts()
                return counts.pending == 0 and counts.in_flight == 0

            healed = wait_for(drained, size(120, 3600))
            drain_seconds = time.monotonic() - started
            left = store.journal.counts()
            with store.db.read() as s:
                states = (
                    s.connection()
                    .exec_driver_sql(
                        "SELECT state, in_doubt, count(*) FROM journal GROUP BY state, in_doubt"
                    )
                    .all()
                )
        finally:
            for proc in workers.values():
                proc.send_signal(signal.SIGTERM)
            for proc in workers.values():
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=30)
        with store.db.read() as s:
            rows = s.connection().exec_driver_sql("SELECT id, account, remote_id FROM trip").all()
            assert quiet_id is not None
            quiet = s.get(Trip, quiet_id)
            assert quiet is not None
            # Measured by the store's own stamps: when it was added, when its answer came.
            added, synced = quiet.created_at, quiet.synced_at
    quiet_synced_after = None if synced is None else (synced - added).total_seconds()
    total = len(rows)  # the seeded trips and the quiet one
    twice = stored_twice(sandbox)
    unsynced = [trip_id for trip_id, _, remote in rows if remote is None]
    wrong_owner = [
        trip_id
        for trip_id, account, remote in rows
        if remote is not None and sandbox.owner_of(remote) != users[account]
    ]
    on_server: dict[str, list[str]] = {}
    for record_id, record in sandbox.records.items():  # one copy of them all, not one per trip
        on_server.setdefault((record.get("customData") or {}).get(KEY), []).append(record_id)
    wrong_record = [
        trip_id for trip_id, _, remote in rows if on_server.get(trip_id, []) != [remote]
    ]
    refused = sandbox.request_count(status=429)
    quiet_ok = quiet_synced_after is not None and quiet_synced_after <= QUIET_WITHIN
    quiet_text = "never" if quiet_synced_after is None else f"{quiet_synced_after:.1f} s"
    rows_out = [
        Row(
            "workers SIGKILLed while draining",
            f"{kills} ({WORKERS} `tracker daemon` workers, {ACCOUNTS} accounts, {total:,} trips)",
            ">= 5",
            kills >= 5,
        ),
        Row(
            "trips not synced after the drain",
            ratio(len(unsynced), total, "trips"),
            "0",
            healed and not unsynced,
        ),
        Row("trips stored twice at the sandbox", ratio(len(twice), total, "trips"), "0", not twice),
        Row(
            "trips stored by another account's user",
            ratio(len(wrong_owner), total, "trips"),
            "0",
            not wrong_owner,
        ),
        Row(
            "local remote id != the one record on the server",
            ratio(len(wrong_record), total, "trips"),
            "0",
            not wrong_record,
        ),
        Row(
            "429 answers (limit per token enforced by the sandbox)",
            f"{refused} of {len(sandbox.requests):,} requests",
            "0",
            refused == 0,
        ),
        Row(
            "the quiet account's new trip synced after",
            f"{quiet_text} (the whole drain: {drain_seconds:.0f} s)",
            f"<= {QUIET_WITHIN:g} s",
            quiet_ok,
        ),
    ]
    scorecard.record(
        "A1-ACCT",
        title="Fleet mode accounts: workers killed, every account's limit kept, turns",
        section=21,
        rows=rows_out,
        raw={
            "kills": kills,
            "workers": WORKERS,
            "accounts": ACCOUNTS,
            "trips": total,
            "unsynced": len(unsynced),
            "stored_twice": len(twice),
            "wrong_owner": len(wrong_owner),
            "wrong_record": len(wrong_record),
            "requests": len(sandbox.requests),
            "status_429": refused,
            "quiet_synced_after_s": quiet_synced_after,
            "drain_s": round(drain_seconds, 1),
            "seed": SEED,
        },
        notes=f"4 `tracker daemon` processes with TRACKER_SYNC_ACCOUNTS=all on one PostgreSQL "
        f"database, one SIGKILLed every 1-3 s and replaced for {RUN_SECONDS:g} s; {LIMIT} "
        f"requests per {WINDOW:g} s per token at the sandbox and in the clients' budget; "
        "turns of 0.5 s; claim lease 2 s; half the accounts share a static token",
    )
    assert healed, f"the backlog was not drained: {left} {states}"
    assert not unsynced, unsynced[:5]
    assert not twice, twice
    assert not wrong_owner, wrong_owner[:5]
    assert not wrong_record, wrong_record[:5]
    assert refused == 0
    assert quiet_ok, quiet_text

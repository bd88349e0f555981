"""The sandbox as tests use it: the token header, a valid Tight save item, settings that
point at it with quick backoff, and an in-process client."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from sync.costs.report import PullReport
from sync.engine import SyncEngine
from sync.sandbox import DEFAULT_TOKEN, Sandbox, SandboxTransport, create_app
from sync.settings import MileageSettings
from sync.tight.report import PushReport

KEY = "trackerLocalId"
"""The ``customData`` key carrying the local trip id."""
EngineFactory = Callable[..., SyncEngine]
"""The ``make_engine`` fixture's type: builds engines against the sandbox."""
AUTH = MappingProxyType({"Authorization": f"Bearer {DEFAULT_TOKEN}"})


def save_item(local_id: str = "t-1", **overrides: Any) -> dict[str, Any]:
    """A valid Tight save item carrying a local id in customData."""
    item: dict[str, Any] = {
        "date": "2024-05-02",
        "status": "ACTIVE",
        "mileageStatus": "BUSINESS",
        "description": "Client visit",
        "distance": {"type": "KILOMETER", "value": "42.7"},
        "start": {"time": "2024-05-02T07:15:00Z", "lat": "45.4642", "lng": "9.1900"},
        "end": {"time": "2024-05-02T08:01:30Z", "lat": "45.0703", "lng": "7.6869"},
        "duration": 2_790_000,
        "customData": {KEY: local_id},
    }
    item.update(overrides)
    return item


def in_process(sandbox: Sandbox) -> httpx.Client:
    """A client reaching ``sandbox`` in this process (no socket), with the token header."""
    return httpx.Client(
        transport=SandboxTransport(create_app(sandbox)),
        base_url="http://sandbox",
        headers=AUTH,
    )


def fast_mileage(url: str, **overrides: Any) -> MileageSettings:
    """Tight settings for tests: the sandbox token, quick backoff, short deadline."""
    values: dict[str, Any] = {
        "url": url,
        "token": DEFAULT_TOKEN,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
        "deadline": 5.0,
        "read_timeout": 5.0,
        "connect_timeout": 2.0,
    }
    values.update(overrides)
    return MileageSettings(**values)


def push(engine: SyncEngine, **options: Any) -> PushReport:
    """One run of the push step alone; its failure raised (as the CLI reports it)."""
    report = engine.run(push=True, pull=False, **options)
    report.raise_for_failure()
    assert report.push is not None
    return report.push


def pull(engine: SyncEngine, **options: Any) -> PullReport:
    """One run of the costs pull alone; its failure raised."""
    report = engine.run(push=False, pull=True, **options)
    report.raise_for_failure()
    assert report.costs is not None
    return report.costs


def fleet_env(database_url: str, tight_url: str, home: Path, **settings: str) -> dict[str, str]:
    """The environment of a `tracker` process on a PostgreSQL store (a fleet worker): this
    process's without any TRACKER_* variable, the database, its own home, the sandbox and
    its token, then ``settings`` (``TRACKER_...`` names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        TRACKER_DATABASE_URL=database_url,
        TRACKER_HOME=str(home),
        TRACKER_MILEAGE_URL=tight_url,
        TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
        **settings,
    )
    return env

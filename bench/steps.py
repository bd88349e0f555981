"""The engine's two steps as the benchmarks run them: one at a time, a failure raised."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sync.costs.report import PullReport
from sync.engine import SyncEngine
from sync.settings import CostsSettings, Settings
from sync.tight.report import PushReport
from tracker.store import Tracker


def push(engine: SyncEngine) -> PushReport:
    """``engine.run()`` of the push step alone."""
    report = engine.run(push=True, pull=False)
    report.raise_for_failure()
    assert report.push is not None
    return report.push


def pull(cfg: CostsSettings, store: Tracker, **options: Any) -> PullReport:
    """``engine.run()`` of the costs pull alone, with ``cfg`` (engine ``options`` as given)."""
    settings = Settings(home=Path(store.path).parent, costs=cfg)
    with SyncEngine(settings, store, **options) as engine:
        report = engine.run(push=False, pull=True)
    report.raise_for_failure()
    assert report.costs is not None
    return report.costs

"""``tracker status``'s cost figures read without the costs pull's models
(``tracker.costs.counts``): the pull's row as plain SQL gives what the table model gives."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers.store import BOTH_BACKENDS
from tracker.costs.counts import pull_state
from tracker.costs.inputs import QuarantineIn
from tracker.costs.views import PullStateView
from tracker.sidetables import PullState
from tracker.store import Tracker


def _both(store: Tracker) -> tuple[PullStateView | None, PullStateView | None]:
    with store.db.read() as s:
        row = s.get(PullState, "costs")
        by_model = None if row is None else PullStateView.from_row(row)
        return pull_state(s.connection(), "costs"), by_model


@BOTH_BACKENDS
def test_the_pull_row_reads_alike_through_every_state_of_a_run(store: Tracker) -> None:
    assert _both(store) == (None, None)
    run = store.costs.begin_run()
    seen = [_both(store)]
    reject = QuarantineIn(cost_id="7", raw='{"Id": 7}', reason="bad amount")
    for page in (1, 2):
        store.costs.store_page(
            [],
            [reject] if page == 1 else [],
            run_id=run.run_id,
            checkpoint={"page": page + 1},
            pages=page,
            items=page * 10,
            link_tolerance=timedelta(minutes=5),
        )
        store.costs.save_progress(run_id=run.run_id)
        seen.append(_both(store))
    assert store.costs.counts().quarantined == 1
    store.costs.finish_run(run_id=run.run_id, complete=False, stop_reason="max_pages")
    seen.append(_both(store))
    again = store.costs.begin_run()
    seen.append(_both(store))
    store.costs.finish_run(run_id=again.run_id, complete=True, stop_reason="empty_page")
    seen.append(_both(store))
    for small, model in seen:
        assert small == model
        assert small is not None and small.to_json() == model.to_json()  # type: ignore[union-attr]
    in_progress = [small.in_progress for small, _ in seen if small is not None]
    assert in_progress == [False, True, True, False, False, False]  # a checkpoint waits
    final = seen[-1][0]
    assert final is not None and final.complete and final.last_complete_at is not None
    assert store.costs.counts().pull == final

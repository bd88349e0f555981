"""Additional costs pulled from the mobility platform (tolls, parking, fines), in the store.

The sync side validates what it reads into :class:`CostIn` / :class:`QuarantineIn` values and
writes them through :class:`CostStore` (``store.costs``). The rules are in docs/costs.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.exports import lazy_exports

# Names are imported on first use (PEP 562): the store's ``costs`` part needs the reads only,
# and ``tracker status`` must not pay for the pull's input models (issue 15, start-up).
if TYPE_CHECKING:
    from tracker.costs.inputs import CostIn, QuarantineIn
    from tracker.costs.links import AmbiguousLink, link_tolerance
    from tracker.costs.queries import CostNotFoundError
    from tracker.costs.store import CostStore
    from tracker.costs.treatment import (
        CostTally,
        CostTreatment,
        TaxCost,
        tally_costs,
        treatment_from_labels,
    )
    from tracker.costs.unseen import PULL_NAME, FinishedPull
    from tracker.costs.upsert import StoredCounts, StoredPage
    from tracker.costs.views import CostCounts, CostView, PullStateView, QuarantineView
    from tracker.pullruns import PullStart

_EXPORTS = {
    "AmbiguousLink": "tracker.costs.links",
    "CostCounts": "tracker.costs.views",
    "CostIn": "tracker.costs.inputs",
    "CostNotFoundError": "tracker.costs.queries",
    "CostStore": "tracker.costs.store",
    "CostTally": "tracker.costs.treatment",
    "CostTreatment": "tracker.costs.treatment",
    "CostView": "tracker.costs.views",
    "FinishedPull": "tracker.costs.unseen",
    "PULL_NAME": "tracker.costs.unseen",
    "PullStart": "tracker.pullruns",
    "PullStateView": "tracker.costs.views",
    "QuarantineIn": "tracker.costs.inputs",
    "QuarantineView": "tracker.costs.views",
    "StoredCounts": "tracker.costs.upsert",
    "StoredPage": "tracker.costs.upsert",
    "TaxCost": "tracker.costs.treatment",
    "link_tolerance": "tracker.costs.links",
    "tally_costs": "tracker.costs.treatment",
    "treatment_from_labels": "tracker.costs.treatment",
}

__all__ = [
    "PULL_NAME",
    "AmbiguousLink",
    "CostCounts",
    "CostIn",
    "CostNotFoundError",
    "CostStore",
    "CostTally",
    "CostTreatment",
    "CostView",
    "FinishedPull",
    "PullStart",
    "PullStateView",
    "QuarantineIn",
    "QuarantineView",
    "StoredCounts",
    "StoredPage",
    "TaxCost",
    "link_tolerance",
    "tally_costs",
    "treatment_from_labels",
]


__getattr__, __dir__ = lazy_exports("tracker.costs", _EXPORTS, globals())

"""Additional costs pulled from the mobility platform (tolls, parking, fines), in the store.

The sync side validates what it reads into :class:`CostIn` / :class:`QuarantineIn` values and
writes them through :class:`CostStore` (``store.costs``). The rules are in docs/costs.md.
"""

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

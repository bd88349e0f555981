"""How a pulled cost counts for tax: its treatment, from its type's labels or by configuration.

Pure functions, no I/O. The platform documents no enumeration of cost types (docs/costs.md),
so the default treatment of a cost is read from its type's localized ``Labels`` ("Speed Fine",
"Parkgebühr", "Pedaggio"...); a configured mapping by ``TypeID`` overrides it. The rules:

* ``deductible``: tolls and parking, claimed on top of a standard mileage rate;
* ``in_rate``: fuel and charging, already inside the mileage rate, never added to it;
* ``never``: fines and penalties, never deductible (US: IRC §162(f));
* ``unclassified``: anything else, listed as "not classified" and not counted.

Only costs linked to a business trip count (:func:`tally_costs`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "CostTally",
    "CostTreatment",
    "CountedCost",
    "TaxCost",
    "UncountedCost",
    "cost_treatment",
    "tally_costs",
    "treatment_from_labels",
    "why_not_counted",
]


class CostTreatment(StrEnum):
    """How a cost counts for tax (see the module docstring)."""

    DEDUCTIBLE = "deductible"
    IN_RATE = "in_rate"
    NEVER = "never"
    UNCLASSIFIED = "unclassified"


# Word stems in English, German, French, Italian, Spanish and Dutch: ``Labels`` maps language
# codes to names, and the one documented sample is English ("Speed Fine"). Labels are compared
# accent-free and case-folded ("Bußgeld" -> "bussgeld", "Péage" -> "peage"). A stem matches at
# the start of a word, so plurals and compounds that start with it match ("Parkgebühren",
# "Mautstelle"); German stems that end compounds ("Autobahnmaut", "Tagesparken") match anywhere.
_NEVER = re.compile(
    r"\b(fines?\b|penal|speeding|parking ticket|penalty charge|traffic violation"
    r"|multa|multe\b|sanzion|contravvenzion"
    r"|amende|contravention|proces.verbal"
    r"|sancion|infraccion"
    r"|boete|bekeuring"
    r"|strafe|strafzettel|verwarn|ordnungswidrig)"
    r"|bussgeld"
)
_IN_RATE = re.compile(
    r"\b(fuel|petrol|gas\b|gasoline|diesel|refuel|charging|ev charge|electricity"
    r"|carburant|essence|gazole|recharge"
    r"|carburante|benzin|gasolio|rifornimento|ricarica"
    r"|combustible|gasolina|gasoleo|repostaje|recarga"
    r"|brandstof|tank|kraftstoff|treibstoff|ladestrom|ladestation)"
    r"|tankstelle|sprit"
)
_DEDUCTIBLE = re.compile(
    r"\b(tolls?\b|toll road|park|car park"
    r"|peage|stationnement"
    r"|pedaggi|parcheggi|sosta"
    r"|peaje|aparcamiento|estacionamiento"
    r"|tol\b|tolweg|parkeer)"
    r"|maut|parkgebuhr|parkhaus|parkplatz|parken\b"
)


def _plain(text: str) -> str:
    """Case-folded, without accents: the form labels are compared in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def treatment_from_labels(labels: Mapping[str, str] | Iterable[str]) -> CostTreatment:
    """The default treatment of a cost type, from its labels (any languages).

    Every label is read; when they point different ways the least deductible wins (never,
    then in_rate, then deductible), so a "parking fine" is a fine and a cost type whose
    names disagree is never counted by mistake. No label that names a known kind:
    ``unclassified``.
    """
    names = labels.values() if isinstance(labels, Mapping) else labels
    text = " | ".join(_plain(str(name)) for name in names)
    for pattern, treatment in (
        (_NEVER, CostTreatment.NEVER),
        (_IN_RATE, CostTreatment.IN_RATE),
        (_DEDUCTIBLE, CostTreatment.DEDUCTIBLE),
    ):
        if pattern.search(text):
            return treatment
    return CostTreatment.UNCLASSIFIED


def cost_treatment(
    type_id: int | None,
    labels: Mapping[str, str],
    configured: Mapping[int, str] | None = None,
) -> tuple[CostTreatment, str]:
    """The treatment of one cost and where it came from: ``"setting"`` or ``"labels"``.

    ``configured`` maps a cost type id (``TypeID``) to a treatment name; it wins over the
    labels (the sync side reads it from ``TRACKER_COSTS_TREATMENTS``).
    """
    if configured and type_id is not None and type_id in configured:
        return CostTreatment(configured[type_id]), "setting"
    return treatment_from_labels(labels), "labels"


@dataclass(frozen=True, slots=True)
class TaxCost:
    """What :func:`tally_costs` needs of a cost: its amount, treatment and linked trip."""

    id: int
    amount: Decimal
    currency: str
    treatment: CostTreatment
    trip_id: str | None
    trip_classification: str | None
    """The linked trip's classification (business, personal, unclassified, or ``deleted`` for
    a deleted trip); None: no trip."""


@dataclass(frozen=True, slots=True)
class CountedCost:
    """A cost counted in the deductible total."""

    cost: TaxCost


@dataclass(frozen=True, slots=True)
class UncountedCost:
    """A cost left out of the total, and why (one sentence)."""

    cost: TaxCost
    reason: str


@dataclass(frozen=True, slots=True)
class CostTally:
    """Deductible totals by currency, the costs counted and those not counted with why."""

    totals: dict[str, Decimal] = field(default_factory=dict)
    counted: list[CountedCost] = field(default_factory=list)
    not_counted: list[UncountedCost] = field(default_factory=list)


_REASONS = {
    CostTreatment.IN_RATE: "fuel or charging: already inside the mileage rate",
    CostTreatment.NEVER: "a fine or penalty: never deductible",
    CostTreatment.UNCLASSIFIED: (
        "not classified: set its type in TRACKER_COSTS_TREATMENTS to count it"
    ),
}


def why_not_counted(cost: TaxCost) -> str | None:
    """Why ``cost`` is left out of the deductible total, or None when it counts."""
    if cost.treatment is not CostTreatment.DEDUCTIBLE:
        return _REASONS[cost.treatment]
    if cost.trip_id is None:
        return "not linked to a trip"
    if cost.trip_classification != "business":
        return f"its trip is not a business trip ({cost.trip_classification or 'unknown'})"
    return None


def tally_costs(costs: Iterable[TaxCost]) -> CostTally:
    """Add up the deductible costs: only ``deductible`` ones linked to a business trip.

    Totals are exact decimals, one per currency (costs in different currencies are never
    added together). Refunds (negative amounts) of a counted kind count too.
    """
    tally = CostTally()
    for cost in costs:
        reason = why_not_counted(cost)
        if reason is None:
            tally.counted.append(CountedCost(cost))
            tally.totals[cost.currency] = tally.totals.get(cost.currency, Decimal(0)) + cost.amount
        else:
            tally.not_counted.append(UncountedCost(cost, reason))
    return tally

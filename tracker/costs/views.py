"""Read models of pulled costs, the quarantine and the pull's state (snake_case JSON).

``CostType`` and ``PaymentStatus`` are integers whose enumerations the platform documents
nowhere we could read (docs/costs.md), so the raw integer is always kept and shown; the
``*_name`` fields say ``"unknown"`` for any value not in the tables below. When the
enumerations page turns up, fill the tables in: nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tracker.accounts import account_name
from tracker.costs.counts import CostCounts as CostCounts
from tracker.costs.counts import PullStateView as PullStateView
from tracker.costs.counts import _View
from tracker.costs.treatment import CostTreatment, TaxCost, cost_treatment, why_not_counted

if TYPE_CHECKING:
    from tracker.sidetables import Cost, CostQuarantine

UNKNOWN = "unknown"

COST_TYPE_NAMES: Mapping[int, str] = MappingProxyType({})
"""Known ``CostType`` (macro-type) values. None are documented yet."""

PAYMENT_STATUS_NAMES: Mapping[int, str] = MappingProxyType({})
"""Known ``PaymentStatus`` values. None are documented yet."""


def enum_name(value: int | None, names: Mapping[int, str]) -> str | None:
    """The name of a platform enum value: None for no value, ``"unknown"`` when not listed."""
    if value is None:
        return None
    return names.get(value, UNKNOWN)


class CostView(_View):
    """A pulled cost as stored.

    ``link`` says how ``trip_id`` was found: ``trip_guid`` (the cost's TripGuid is a local
    trip's id), ``time`` (its times overlap exactly one trip), ``ambiguous`` (several trips
    overlap: left unlinked) or ``none``. ``seen_in_last_pull`` is False once a complete pull
    no longer found the cost in the list. ``raw`` is the item as received (decimals written
    as their exact text), so the original date strings are kept.

    ``treatment`` is how the cost counts for tax (deductible, in_rate, never, unclassified;
    :mod:`tracker.costs.treatment`), ``treatment_source`` whether it came from the cost type's
    ``labels`` or a configured ``setting``. ``counted`` says whether it is in the deductible
    total (a deductible cost linked to a business trip); ``not_counted_reason`` says why not.
    """

    id: int
    amount: Decimal
    currency: str
    label: str | None
    labels: dict[str, str]
    type_id: int | None
    cost_type: int | None
    cost_type_name: str | None
    notes: str | None
    trip_guid: str | None
    trip_id: str | None
    link: str
    start_location: str | None
    end_location: str | None
    start_time: datetime | None
    end_time: datetime | None
    last_updated: datetime | None
    ext_user_guid: str | None
    payment_id: int | None
    payment_status: int | None
    payment_status_name: str | None
    payment_attempt: datetime | None
    payment_user: str | None
    payment_notes: str | None
    seen_in_last_pull: bool
    first_seen_at: datetime
    updated_at: datetime
    account: str
    """Whose pull read it (fleet mode): the account's name, ``default`` for the implicit
    account, as trips name theirs."""
    treatment: CostTreatment
    treatment_source: str
    trip_classification: str | None
    counted: bool
    not_counted_reason: str | None
    raw: dict[str, Any]

    @classmethod
    def from_row(
        cls,
        cost: Cost,
        *,
        trip_classification: str | None = None,
        treatments: Mapping[int, str] | None = None,
    ) -> CostView:
        """Build from a table row (validated on the way in).

        ``trip_classification``: the linked trip's (``deleted`` for a deleted trip);
        ``treatments``: configured treatments by cost type id (they win over the labels).
        """
        labels = dict(cost.labels or {})
        treatment, source = cost_treatment(cost.type_id, labels, treatments)
        if cost.trip_id is None:
            trip_classification = None
        reason = why_not_counted(
            TaxCost(
                id=cost.id,
                amount=cost.amount,
                currency=cost.currency,
                treatment=treatment,
                trip_id=cost.trip_id,
                trip_classification=trip_classification,
            )
        )
        return cls(
            id=cost.id,
            amount=cost.amount,
            currency=cost.currency,
            label=cost.label,
            labels=labels,
            type_id=cost.type_id,
            cost_type=cost.cost_type,
            cost_type_name=enum_name(cost.cost_type, COST_TYPE_NAMES),
            notes=cost.notes,
            trip_guid=cost.trip_guid,
            trip_id=cost.trip_id,
            link=cost.link,
            start_location=cost.start_location,
            end_location=cost.end_location,
            start_time=cost.start_time,
            end_time=cost.end_time,
            last_updated=cost.last_updated,
            ext_user_guid=cost.ext_user_guid,
            payment_id=cost.payment_id,
            payment_status=cost.payment_status,
            payment_status_name=enum_name(cost.payment_status, PAYMENT_STATUS_NAMES),
            payment_attempt=cost.payment_attempt,
            payment_user=cost.payment_user,
            payment_notes=cost.payment_notes,
            seen_in_last_pull=cost.seen_in_last_pull,
            first_seen_at=cost.first_seen_at,
            updated_at=cost.updated_at,
            account=account_name(cost.account),
            treatment=treatment,
            treatment_source=source,
            trip_classification=trip_classification,
            counted=reason is None,
            not_counted_reason=reason,
            raw=dict(cost.raw),
        )

    def tax_cost(self) -> TaxCost:
        """The values :func:`tracker.costs.treatment.tally_costs` adds up."""
        return TaxCost(
            id=self.id,
            amount=self.amount,
            currency=self.currency,
            treatment=self.treatment,
            trip_id=self.trip_id,
            trip_classification=self.trip_classification,
        )


class QuarantineView(_View):
    """A pulled item that did not validate: its raw JSON text and why. Retried every pull."""

    id: int
    cost_id: str | None
    reason: str
    raw: str
    first_seen_at: datetime
    last_seen_at: datetime

    @classmethod
    def from_row(cls, row: CostQuarantine) -> QuarantineView:
        """Build from a table row."""
        assert row.id is not None
        return cls(
            id=row.id,
            cost_id=row.cost_id,
            reason=row.reason,
            raw=row.raw,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
        )

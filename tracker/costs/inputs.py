"""Pulled costs as the store takes them: validated values, and the items that did not validate.

The sync side reads the platform's items into these (``sync.costs.mapping``); the store only
ever builds rows from them. The rules are in docs/costs.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from tracker.inputs import clean_text

__all__ = ["CURRENCY", "NO_NUL", "CostIn", "QuarantineIn"]

INT64 = 2**63
MAX_TEXT = 10_000
MAX_RAW = 64 * 1024


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


# pydantic refuses unpaired surrogates itself (sqlite3 could not store them); the pattern,
# checked in pydantic's core, refuses NUL bytes. No Python call per field: CostIn is built
# for every pulled cost.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=NO_NUL)]
Int64 = Annotated[int, Field(ge=-INT64, lt=INT64)]
CURRENCY = r"^[A-Z]{3}$"
"""An ISO 4217 code, as the configuration gives it."""


class CostIn(BaseModel):
    """One cost to store, already validated from the wire (plain values, aware datetimes).

    ``raw`` is the item as received (JSON values; Decimal numbers are stored as their exact
    text); it keeps the original date strings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Int64
    last_updated: AwareDatetime
    amount: Annotated[Decimal, AfterValidator(_finite)]
    currency: str = Field(pattern=CURRENCY)
    notes: Text | None = None
    trip_guid: Text | None = None
    start_location: Text | None = None
    end_location: Text | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    type_id: Int64 | None = None
    cost_type: Int64 | None = None
    label: Text | None = None
    labels: dict[Text, Text] = Field(default_factory=dict)
    ext_user_guid: Text | None = None
    payment_id: Int64 | None = None
    payment_status: Int64 | None = None
    payment_attempt: AwareDatetime | None = None
    payment_user: Text | None = None
    payment_notes: Text | None = None
    raw: dict[str, Any]

    @classmethod
    def checked(cls, values: dict[str, Any]) -> CostIn:
        """Build from ``values`` (every field, by name) without validating them again.

        Only for values already held to every rule above: ``sync.costs.mapping`` reads the
        platform's items into exactly these, and validating each pulled cost twice cost a
        fifth of reading a page (bench/pull.py). This is ``model_construct`` without its
        per-field search for aliases and defaults, which cost as much as validating.
        """
        if values.keys() != _COST_FIELDS:
            missing = sorted(_COST_FIELDS - values.keys())
            extra = sorted(values.keys() - _COST_FIELDS)
            raise TypeError(f"CostIn.checked needs every field: missing {missing}, extra {extra}")
        cost = cls.__new__(cls)
        object.__setattr__(cost, "__dict__", values)
        object.__setattr__(cost, "__pydantic_fields_set__", set(values))
        object.__setattr__(cost, "__pydantic_extra__", None)
        object.__setattr__(cost, "__pydantic_private__", None)
        return cost


_COST_FIELDS = frozenset(CostIn.model_fields)


class QuarantineIn(BaseModel):
    """An item that did not validate: its ID when one could be read, raw JSON text, reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cost_id: Annotated[str, Field(max_length=100), AfterValidator(clean_text)] | None
    raw: Annotated[str, Field(max_length=MAX_RAW), AfterValidator(clean_text)]
    reason: Annotated[str, Field(max_length=2000), AfterValidator(clean_text)]

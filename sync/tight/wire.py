"""Tight v6 mileage API shapes (camelCase), from the public docs (gaps: docs/decisions.md).

Requests are built from our own validated data; responses are parsed leniently (unknown
fields kept, optional fields optional) because the docs show samples, not schemas.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# The paths are in sync.tight.paths (a dry run names them without loading these models).


class _Wire(BaseModel):
    # ser_json_inf_nan="constants": a NaN must stay NaN (and then fail to encode, parking the
    # record), never silently become null on the wire.
    model_config = ConfigDict(populate_by_name=True, extra="allow", ser_json_inf_nan="constants")


class WireError(_Wire):
    """``{type, message, param}``: the error object of every v6 operation."""

    type: str = "UNKNOWN_ERROR"
    message: str = ""
    param: str | None = None


class Distance(_Wire):
    """``distance``: the value is a decimal carried as a string."""

    type: str
    value: str


class Address(_Wire):
    """Postal address of a trip end (input shape: no countryCode)."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    phone_work: str | None = Field(None, alias="phoneWork")


class Endpoint(_Wire):
    """``start`` / ``end``: time in ISO-8601 UTC, lat/lng as strings."""

    time: str | None = None
    lat: str | None = None
    lng: str | None = None
    address: Address | None = None


class Deduction(_Wire):
    """``deduction``: an integer amount (units undocumented; only sent when configured)."""

    amount: int


class MileageSave(_Wire):
    """One item of ``POST /v6/mileage`` ``data[]``. Creates have no ``id``."""

    id: str | None = None
    date: str
    status: str = "ACTIVE"
    mileage_status: str = Field(alias="mileageStatus")
    description: str | None = None
    notes: str | None = None
    customer_id: str | None = Field(None, alias="customerId")
    class_segment_ids: list[str] | None = Field(None, alias="classSegmentIds")
    distance: Distance
    start: Endpoint | None = None
    end: Endpoint | None = None
    duration: int | None = None
    deduction: Deduction | None = None
    car_id: str | None = Field(None, alias="carId")
    custom_data: dict[str, Any] = Field(alias="customData")

    def body(self) -> dict[str, Any]:
        """The JSON object sent on the wire (aliases, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ItemResult(_Wire):
    """One element of the save response ``data[]``."""

    result: str
    status_code: int | None = Field(None, alias="statusCode")
    data: dict[str, Any] | None = None
    error: list[WireError] | None = None


class SaveResponse(_Wire):
    """``POST /v6/mileage`` response envelope."""

    result: str
    data: list[ItemResult] | None = None
    error: list[WireError] | None = None


class ErrorResponse(_Wire):
    """A failure envelope (400/401/403/404/429/5xx)."""

    result: str | None = None
    error: list[WireError] | None = None


class Cursor(_Wire):
    """Query paging cursor: ``after`` is null on the last page."""

    after: str | None = None
    before: str | None = None


class QueryResponse(_Wire):
    """``POST /v6/mileage/query`` response. ``result`` is documented but not needed: a
    page is its ``data`` and its ``cursor``."""

    result: str | None = None
    data: list[dict[str, Any]]
    cursor: Cursor | None = None


class TokenResponse(_Wire):
    """``POST /v6/auth/token`` response."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int | None = None
    scope: str | None = None

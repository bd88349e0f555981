"""Pure conversions between local read models and wire models. No I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol

from sync.settings import MileageSettings

METRES_PER_MILE = Decimal("1609.344")
_THOUSANDTH = Decimal("0.001")


def mileage_status(classification: str, cfg: MileageSettings) -> str:
    """Local classification -> Tight ``mileageStatus`` (configurable: the v6 set is not
    fully documented)."""
    return {
        "business": cfg.status_business,
        "personal": cfg.status_personal,
    }.get(classification, cfg.status_unclassified)


def wire_distance(value: Decimal, unit: str, cfg: MileageSettings) -> dict[str, str]:
    """``distance`` on the wire (:class:`sync.tight.wire.Distance`): Tight documents
    ``MILE`` only; km are converted (3 decimals) unless configured."""
    if unit == "mile":
        return {"type": "MILE", "value": _plain(value)}
    if cfg.kilometres_as == "KILOMETER":
        return {"type": "KILOMETER", "value": _plain(value)}
    return {"type": "MILE", "value": _plain(miles(value, "km"))}


def miles(value: Decimal, unit: str) -> Decimal:
    """``value`` (in ``unit``: ``km`` or ``mile``) in miles, to the thousandth, as a km trip
    is sent (half to even)."""
    if unit == "km":
        value = value * 1000 / METRES_PER_MILE
    return value.quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN)


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    # ISO-8601 UTC with milliseconds and a Z; isoformat is several times faster than strftime.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class SendablePlace(Protocol):
    """A trip end as stored (``tracker.outbox.OutboxPlace``)."""

    @property
    def lat(self) -> Decimal: ...
    @property
    def lng(self) -> Decimal: ...
    @property
    def address(self) -> dict[str, Any] | None: ...


class SendableTrip(Protocol):
    """A trip as the pusher reads it (``tracker.outbox.OutboxTrip``)."""

    @property
    def id(self) -> str: ...
    @property
    def remote_id(self) -> str | None: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def start_time(self) -> datetime | None: ...
    @property
    def end_time(self) -> datetime | None: ...
    @property
    def start(self) -> SendablePlace | None: ...
    @property
    def end(self) -> SendablePlace | None: ...
    @property
    def distance(self) -> Decimal: ...
    @property
    def unit(self) -> str: ...
    @property
    def duration_ms(self) -> int | None: ...
    @property
    def classification(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def class_segment_ids(self) -> list[str]: ...
    @property
    def custom_data(self) -> dict[str, Any]: ...
    @property
    def car_remote_id(self) -> str | None: ...
    @property
    def deduction(self) -> int | None: ...
    @property
    def deduction_error(self) -> str | None: ...


def _address(address: dict[str, Any]) -> dict[str, Any]:
    # The stored address is the validated input's dump (snake_case phone_work).
    return {
        ("phoneWork" if k == "phone_work" else k): v for k, v in address.items() if v is not None
    }


def _endpoint(place: SendablePlace | None, time: datetime | None) -> dict[str, Any] | None:
    if place is None and time is None:
        return None
    out: dict[str, Any] = {}
    if time is not None:
        out["time"] = _instant(time)
    if place is not None:
        out["lat"] = _plain(place.lat)
        out["lng"] = _plain(place.lng)
        if place.address:
            out["address"] = _address(place.address)
    return out


def save_body(
    trip: SendableTrip,
    cfg: MileageSettings,
    *,
    remote_id: str | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``POST /v6/mileage`` item for a trip's latest state, as sent on the wire: the
    JSON of :class:`sync.tight.wire.MileageSave` (aliases, no nulls), built directly, since
    the pusher builds one per record (a test holds it to the model).

    Creates carry no ``id`` (Tight assigns ``mlg_...``); updates carry the stored one, or
    ``remote_id`` when reconciliation found the record. The local id always travels in
    ``customData[cfg.local_id_key]`` for reconciliation. ``carId`` is sent only when the
    trip's car has a Tight id. ``deduction`` is the amount the store worked out for the trip
    (``tracker.deductions``), sent only when a deduction schedule or rate is configured.
    ``base``: the last server copy seen; what of it a local trip
    cannot hold is sent back as it was (:func:`keep_unheld`). Raises ValueError for a trip
    with no date, or whose deduction no rate covers (the pusher parks it, saying which).
    """
    if trip.date is None:
        raise ValueError(f"trip {trip.id} has no date")
    body: dict[str, Any] = {}
    if (remote := remote_id or trip.remote_id) is not None:
        body["id"] = remote
    body["date"] = trip.date.isoformat()
    body["status"] = "ACTIVE"
    body["mileageStatus"] = mileage_status(trip.classification, cfg)
    optional = (
        ("description", trip.description),
        ("notes", trip.notes),
        ("customerId", trip.customer_id),
        ("classSegmentIds", list(trip.class_segment_ids) or None),
    )
    body.update((key, value) for key, value in optional if value is not None)
    body["distance"] = wire_distance(trip.distance, trip.unit, cfg)
    for key, place, time in (
        ("start", trip.start, trip.start_time),
        ("end", trip.end, trip.end_time),
    ):
        if (endpoint := _endpoint(place, time)) is not None:
            body[key] = endpoint
    if trip.duration_ms is not None:
        body["duration"] = trip.duration_ms
    if trip.deduction_error is not None:
        raise ValueError(trip.deduction_error)
    if trip.deduction is not None:
        body["deduction"] = {"amount": trip.deduction}
    if trip.car_remote_id is not None:
        body["carId"] = trip.car_remote_id
    body["customData"] = {**trip.custom_data, cfg.local_id_key: trip.id}
    if base is not None and "id" in body:
        keep_unheld(body, base)
    return body


def keep_unheld(body: dict[str, Any], base: Mapping[str, Any]) -> None:
    """Put back into an update's ``body`` what the server's copy (``base``) has of a trip's
    start and end that a local trip cannot hold: a place with one coordinate or none (an
    address typed in Tight's app), and the named location (``locationId``) of a place whose
    coordinates did not change here. A save replaces the record: leaving them out would
    erase someone else's data. Output-only parts (``countryCode``, the location's name) are
    not sent."""
    for key in ("start", "end"):
        was = base.get(key)
        if not isinstance(was, Mapping):
            continue
        ours = dict(body.get(key) or {})
        held = was.get("lat") is not None and was.get("lng") is not None
        if not held and "lat" not in ours:
            for part in ("lat", "lng"):
                if was.get(part) is not None:
                    ours[part] = str(was[part])
            address = was.get("address")
            if isinstance(address, Mapping) and "address" not in ours:
                kept = {k: v for k, v in address.items() if k != "countryCode" and v}
                if kept:
                    ours["address"] = kept
        location = was.get("location")
        location_id = location.get("id") if isinstance(location, Mapping) else None
        location_id = location_id or was.get("locationId")
        same_place = not held or (
            _same(ours.get("lat"), was.get("lat")) and _same(ours.get("lng"), was.get("lng"))
        )
        if isinstance(location_id, str) and same_place and "locationId" not in ours:
            ours["locationId"] = location_id
        if ours:
            body[key] = ours


def _same(ours: Any, theirs: Any) -> bool:
    try:
        return ours is not None and Decimal(str(ours)) == Decimal(str(theirs))
    except ArithmeticError:
        return False

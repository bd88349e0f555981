"""Pure conversions between local read models and wire models. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from sync.settings import MileageSettings
from sync.wire.tight import Address, Deduction, Distance, Endpoint, MileageSave
from tracker.views import PlaceView, TripView

METRES_PER_MILE = Decimal("1609.344")
_THOUSANDTH = Decimal("0.001")


def mileage_status(classification: str, cfg: MileageSettings) -> str:
    """Local classification -> Tight ``mileageStatus`` (configurable: the v6 set is not
    fully documented)."""
    return {
        "business": cfg.status_business,
        "personal": cfg.status_personal,
    }.get(classification, cfg.status_unclassified)


def wire_distance(value: Decimal, unit: str, cfg: MileageSettings) -> Distance:
    """Tight documents ``MILE`` only; km are converted (3 decimals) unless configured."""
    if unit == "mile":
        return Distance(type="MILE", value=_plain(value))
    if cfg.kilometres_as == "KILOMETER":
        return Distance(type="KILOMETER", value=_plain(value))
    miles = (value * 1000 / METRES_PER_MILE).quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN)
    return Distance(type="MILE", value=_plain(miles))


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _endpoint(place: PlaceView | None, time: datetime | None) -> Endpoint | None:
    if place is None and time is None:
        return None
    address = None
    if place is not None and place.address:
        address = Address.model_validate(
            {("phoneWork" if k == "phone_work" else k): v for k, v in place.address.items()}
        )
    return Endpoint(
        time=_instant(time),
        lat=_plain(place.lat) if place else None,
        lng=_plain(place.lng) if place else None,
        address=address,
    )


def trip_to_save(
    trip: TripView, cfg: MileageSettings, car_remote_id: str | None = None
) -> MileageSave:
    """The ``POST /v6/mileage`` item for a trip's latest state.

    Creates carry no ``id`` (Tight assigns ``mlg_...``); updates carry the stored one.
    The local id always travels in ``customData[cfg.local_id_key]`` for reconciliation.
    ``carId`` is sent only when the trip's car has a Tight id (``car_remote_id``).
    """
    if trip.date is None:
        raise ValueError(f"trip {trip.id} has no date")
    distance = wire_distance(trip.distance, trip.unit, cfg)
    deduction = None
    if cfg.deduction_rate is not None:
        amount = (trip.distance * cfg.deduction_rate).to_integral_value(ROUND_HALF_EVEN)
        deduction = Deduction(amount=int(amount))
    return MileageSave(
        id=trip.remote_id,
        date=trip.date.isoformat(),
        status="ACTIVE",
        mileage_status=mileage_status(trip.classification, cfg),
        description=trip.description,
        notes=trip.notes,
        customer_id=trip.customer_id,
        class_segment_ids=trip.class_segment_ids or None,
        distance=distance,
        start=_endpoint(trip.start, trip.start_time),
        end=_endpoint(trip.end, trip.end_time),
        duration=trip.duration_ms,
        deduction=deduction,
        car_id=car_remote_id,
        custom_data={**trip.custom_data, cfg.local_id_key: trip.id},
    )

"""What the pusher reads about the trips it claimed: plain records from one static statement.

The pusher reads a batch of trips per request. Pydantic read models (``TripView``) and
SQLAlchemy's per-column result processing cost more than the statement itself (measured with
``bench/push.py``: ~3.5 ms of a ~20 ms batch of 100), so these are slotted dataclasses
decoded here, with the same codecs as ``tracker.coltypes``. Field names follow ``TripView``
so the wire mapping (``sync.mapping``) takes either.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tracker.coltypes import from_utc_text

__all__ = ["OutboxPlace", "OutboxTrip", "read_outbox_trips"]


@dataclass(frozen=True, slots=True)
class OutboxPlace:
    """Where a trip started or ended."""

    lat: Decimal
    lng: Decimal
    address: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OutboxTrip:
    """A trip's latest state, as the pusher sends it."""

    id: str
    remote_id: str | None
    date: dt.date | None
    start_time: datetime | None
    end_time: datetime | None
    start: OutboxPlace | None
    end: OutboxPlace | None
    distance: Decimal
    unit: str
    duration_ms: int | None
    classification: str
    description: str | None
    notes: str | None
    car_id: str | None
    customer_id: str | None
    class_segment_ids: list[str]
    custom_data: dict[str, Any]


# Column order is the unpacking order in ``_trip`` below.
_SQL = (
    "SELECT id, remote_id, date, start_time, end_time, start_lat, start_lng, start_address, "
    "end_lat, end_lng, end_address, distance, distance_unit, duration_ms, classification, "
    "description, notes, car_id, customer_id, class_segment_ids, custom_data "
    "FROM trip WHERE id IN (SELECT value FROM json_each(?))"
)


def read_outbox_trips(conn: Any, trip_ids: Sequence[str]) -> dict[str, OutboxTrip]:
    """The trips ``trip_ids`` by id, read on ``conn`` (a SQLAlchemy Connection, inside the
    caller's transaction). Ids with no trip are absent from the result."""
    if not trip_ids:
        return {}
    rows = conn.exec_driver_sql(_SQL, (json.dumps(list(trip_ids)),)).all()
    return {row[0]: _trip(row) for row in rows}


def _trip(row: Sequence[Any]) -> OutboxTrip:
    (
        trip_id,
        remote_id,
        day,
        start_time,
        end_time,
        start_lat,
        start_lng,
        start_address,
        end_lat,
        end_lng,
        end_address,
        distance,
        unit,
        duration_ms,
        classification,
        description,
        notes,
        car_id,
        customer_id,
        segments,
        custom,
    ) = row
    return OutboxTrip(
        id=trip_id,
        remote_id=remote_id,
        date=None if day is None else dt.date.fromisoformat(day),
        start_time=from_utc_text(start_time),
        end_time=from_utc_text(end_time),
        start=_place(start_lat, start_lng, start_address),
        end=_place(end_lat, end_lng, end_address),
        distance=Decimal(distance),
        unit=unit,
        duration_ms=duration_ms,
        classification=classification,
        description=description,
        notes=notes,
        car_id=car_id,
        customer_id=customer_id,
        class_segment_ids=_json(segments) or [],
        custom_data=_json(custom) or {},
    )


def _place(lat: str | None, lng: str | None, address: str | None) -> OutboxPlace | None:
    if lat is None or lng is None:
        return None
    return OutboxPlace(Decimal(lat), Decimal(lng), _json(address))


def _json(text: str | None) -> Any:
    # SQLAlchemy's JSON type stores None as the text 'null'; a SQL NULL is possible too.
    if text is None or text == "null":
        return None
    return json.loads(text)

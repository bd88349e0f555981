"""How the sandbox stores a saved mileage item: the read shape Tight's samples show.

Every read field is present (``null`` when unset), in the documented order; instants are
kept in UTC with a ``Z``. Written from docs/sandbox.md's reading of the API, never from the
client's wire models.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sync.sandbox.mileage import ADDRESS_FIELDS, Rules, parse_instant, utc_text

__all__ = ["apply_item", "blank_record"]


def blank_record(record_id: str, rules: Rules) -> dict[str, Any]:
    """A record with every read field, in the documented order, before the item is applied."""
    return {
        "id": record_id,
        "date": None,
        "status": rules.default_status,
        "mileageStatus": rules.default_mileage_status,
        "description": None,
        "notes": None,
        "customer": None,
        "classSegments": [],
        "distance": None,
        "start": None,
        "end": None,
        "duration": None,
        "deduction": None,
        "route": None,
        "car": None,
        "customData": None,
    }


def _read_endpoint(value: Mapping[str, Any]) -> dict[str, Any]:
    time = value.get("time")
    moment = parse_instant(time) if isinstance(time, str) else None
    location = value.get("locationId")
    address = value.get("address")
    return {
        "time": utc_text(moment) if moment is not None else None,
        "lat": value.get("lat"),
        "lng": value.get("lng"),
        "location": {"id": location, "name": None} if location is not None else None,
        "address": (
            {"countryCode": None, **{key: address.get(key) for key in ADDRESS_FIELDS}}
            if isinstance(address, dict)
            else None
        ),
    }


def apply_item(record: dict[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """Write the fields present in a *validated* item onto ``record`` (read shape) and return it.

    Ids sent on save come back expanded into nested objects, as the docs show for reads; the
    sandbox knows no names for them, so ``name``/``email``/``make``... are null.
    """
    for key, value in item.items():
        if key == "id":
            continue
        if key == "customerId":
            record["customer"] = (
                None if value is None else {"id": value, "name": None, "email": None}
            )
        elif key == "carId":
            record["car"] = (
                None if value is None else {"id": value, "name": None, "make": None, "model": None}
            )
        elif key == "classSegmentIds":
            record["classSegments"] = [
                {"id": ident, "label": None, "name": None, "child": None} for ident in value or []
            ]
        elif key in ("start", "end"):
            record[key] = None if value is None else _read_endpoint(value)
        elif key == "distance":
            record[key] = {"type": value["type"], "value": value["value"]}
        elif key == "deduction":
            record[key] = None if value is None else {"amount": value["amount"]}
        else:
            record[key] = copy.deepcopy(value)
    return record

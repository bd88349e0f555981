"""Who owns a Tight id: one id is one record is one local trip.

A server that answers with an id another local trip already has (or gives one id to
several trips in one answer) would make two trips one record, and a delete of one would
delete the other's: such an answer is not trusted (``tracker.claims`` parks it as
``SERVER_ID_TAKEN``). Runs in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["ids_taken"]

_OWNERS_SQL = "SELECT remote_id, id FROM trip WHERE remote_id IN (SELECT value FROM json_each(?))"


def ids_taken(conn: Any, wanted: Mapping[str, str]) -> dict[str, set[str]]:
    """For each trip in ``wanted`` (trip id -> the id an answer gives it), that id when
    another trip has it already or is given it by the same answer."""
    if not wanted:
        return {}
    owners: dict[str, set[str]] = {}
    for trip_id, remote_id in wanted.items():
        owners.setdefault(remote_id, set()).add(trip_id)
    for remote_id, trip_id in conn.exec_driver_sql(
        _OWNERS_SQL, (json.dumps(sorted(set(wanted.values()))),)
    ):
        owners.setdefault(remote_id, set()).add(trip_id)
    return {
        trip_id: {remote_id}
        for trip_id, remote_id in wanted.items()
        if owners.get(remote_id, set()) - {trip_id}
    }

"""The sandbox's Tight mileage records: saves item by item, queries, deletes, the delivery log.

A part of :class:`~sync.sandbox.state.Sandbox` (a mixin: its state lives on the Sandbox,
guarded by the Sandbox's lock).
"""

from __future__ import annotations

import copy
import random
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sync.sandbox.faults import FaultBook, ItemRule
from sync.sandbox.logs import Delivery, Outcome
from sync.sandbox.mileage import ItemError, Rules, validate_item
from sync.sandbox.query import parse_query, run_query
from sync.sandbox.records import apply_item, blank_record

__all__ = ["MileageBook", "Reply", "failure"]

Reply = tuple[int, dict[str, Any]]
"""HTTP status and JSON body of a Tight answer."""


def failure(errors: Sequence[ItemError]) -> dict[str, Any]:
    """The documented error envelope ``{result: FAILURE, data: null, error: [...]}``."""
    return {"result": "FAILURE", "data": None, "error": [error.to_json() for error in errors]}


class MileageBook:
    """Mileage records and what was delivered (see the module docstring)."""

    _lock: threading.RLock
    _rng: random.Random
    _faults: FaultBook
    rules: Rules
    max_batch: int | None
    dedupe_key: str | None
    update_mode: Literal["merge", "replace"]
    query_max_limit: int
    query_date_filter: bool
    _records: dict[str, dict[str, Any]]
    _order: dict[str, int]
    _owners: dict[str, str | None]
    _locked: set[str]
    _deliveries: list[Delivery]
    _sequence: int

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """Stored mileage records by id (copies, in creation order)."""
        with self._lock:
            return copy.deepcopy(self._records)

    def record(self, record_id: str, *, viewer: str | None = None) -> dict[str, Any] | None:
        """One stored record (a copy), or ``None`` (also when ``viewer`` may not see it)."""
        with self._lock:
            found = self._records.get(record_id) if self._visible(record_id, viewer) else None
            return copy.deepcopy(found) if found is not None else None

    def _visible(self, record_id: str, viewer: str | None) -> bool:
        # Tight: a token minted for a userId sees that user's records only; a token without
        # one (partner level, the static tokens here) sees every record (api-facts 1.6).
        return viewer is None or self._owners.get(record_id) == viewer

    def owner_of(self, record_id: str) -> str | None:
        """The userId of the token that created ``record_id`` (None: a partner token)."""
        with self._lock:
            return self._owners.get(record_id)

    def add_record(self, item: Mapping[str, Any], *, owner: str | None = None) -> str:
        """Store a save-shaped item directly (validated like a create); returns its new id.
        ``owner``: the userId it belongs to (None: no user's, as a partner token's create)."""
        with self._lock:
            errors = validate_item(item, creating=True, rules=self.rules)
            if errors:
                raise ValueError("; ".join(f"{e.param}: {e.type} {e.message}" for e in errors))
            return self._store(None, item, owner)

    def edit_record(self, record_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Another client (Tight's app, an accountant) edits a stored record: ``changes`` is
        save-shaped (``mileageStatus``, ``notes``, ``customerId``...), validated like an
        update. Returns the record as stored. KeyError if there is none."""
        with self._lock:
            if record_id not in self._records:
                raise KeyError(record_id)
            errors = validate_item(changes, creating=False, rules=self.rules)
            if errors:
                raise ValueError("; ".join(f"{e.param}: {e.type} {e.message}" for e in errors))
            self._records[record_id] = apply_item(self._records[record_id], changes)
            return copy.deepcopy(self._records[record_id])

    def remove_record(self, record_id: str) -> bool:
        """Another client deletes a stored record; False if there was none."""
        return self.delete(record_id) is not None

    def lock(self, record_id: str) -> None:
        """Updates of ``record_id`` now fail with NOT_MODIFIABLE (statusCode 409)."""
        with self._lock:
            self._locked.add(record_id)

    def unlock(self, record_id: str) -> None:
        """Undo :meth:`lock`."""
        with self._lock:
            self._locked.discard(record_id)

    def save_batch(self, body: Any, *, request: int = 0, viewer: str | None = None) -> Reply:
        """``POST /v6/mileage`` on a parsed body: 200 all stored, 207 some failed, 400 unusable.
        ``viewer``: the userId of the token (None: partner level): it owns what it creates and
        updates only what it may see."""
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            message = "the body must be a JSON object with a 'data' list"
            return 400, failure([ItemError("BAD_REQUEST", message, "data")])
        items: list[Any] = body["data"]
        if not items:
            return 400, failure([ItemError("BAD_REQUEST", "data must not be empty", "data")])
        if self.max_batch is not None and len(items) > self.max_batch:
            message = f"batch too large: {len(items)} items, at most {self.max_batch} per request"
            return 400, failure([ItemError("BAD_REQUEST", message, "data")])
        with self._lock:
            results = [
                self._save_one(item, request, index, viewer) for index, item in enumerate(items)
            ]
        failed = any(result["result"] == "FAILURE" for result in results)
        return (207 if failed else 200), {
            "result": "FAILURE" if failed else "SUCCESS",
            "data": results,
            "error": [],
        }

    def _save_one(
        self, item: Any, request: int, position: int, viewer: str | None
    ) -> dict[str, Any]:
        def refuse(
            status: int, errors: list[ItemError], outcome: Outcome = "rejected", data: Any = None
        ) -> dict[str, Any]:
            self._deliveries.append(
                Delivery(
                    request,
                    position,
                    copy.deepcopy(item),
                    outcome,
                    data["id"] if isinstance(data, dict) else None,
                    status,
                    tuple(error.type for error in errors),
                )
            )
            return {
                "result": "FAILURE",
                "statusCode": status,
                "data": data,
                "error": [error.to_json() for error in errors],
            }

        if not isinstance(item, dict):
            return refuse(400, [ItemError("BAD_REQUEST", "each element of data must be an object")])
        record_id = item.get("id")
        if record_id is not None:
            if not isinstance(record_id, str):
                return refuse(400, [ItemError("INVALID_FORMAT", "id must be a string", "id")])
            if record_id not in self._records or not self._visible(record_id, viewer):
                message = f"no mileage with id {record_id!r} (creates must omit id)"
                return refuse(404, [ItemError("INVALID_VALUE", message, "id")])
            if record_id in self._locked:
                message = f"mileage {record_id} is locked and cannot be modified"
                return refuse(409, [ItemError("NOT_MODIFIABLE", message, "id")])
        errors = validate_item(item, creating=record_id is None, rules=self.rules)
        if errors:
            return refuse(400, errors)
        rule = self._faults.take(
            (ItemRule,),
            "POST",
            "/v6/mileage",
            accept=lambda fault: isinstance(fault, ItemRule) and fault.predicate(item),
        )
        if isinstance(rule, ItemRule):
            return refuse(rule.status_code, [ItemError(rule.error_type, rule.message, rule.param)])
        if record_id is None and self.dedupe_key is not None:
            twin = self._twin(item, viewer)
            if twin is not None:
                message = f"customData.{self.dedupe_key} already saved as {twin['id']}"
                error = ItemError("DUPLICATE", message, f"customData.{self.dedupe_key}")
                return refuse(409, [error], "duplicate", copy.deepcopy(twin))
        stored_id = self._store(record_id, item, viewer)
        self._deliveries.append(
            Delivery(
                request,
                position,
                copy.deepcopy(item),
                "created" if record_id is None else "updated",
                stored_id,
                200,
            )
        )
        return {
            "result": "SUCCESS",
            "statusCode": 200,
            "data": copy.deepcopy(self._records[stored_id]),
            "error": [],
        }

    def _twin(self, item: Mapping[str, Any], viewer: str | None) -> dict[str, Any] | None:
        key = self.dedupe_key
        data = item.get("customData")
        if key is None or not isinstance(data, dict) or data.get(key) is None:
            return None
        for ident, record in self._records.items():
            if not self._visible(ident, viewer):
                continue
            existing = record.get("customData")
            if isinstance(existing, dict) and existing.get(key) == data[key]:
                return record
        return None

    def _store(self, record_id: str | None, item: Mapping[str, Any], owner: str | None) -> str:
        if record_id is None:
            record_id = self._new_id()
            self._sequence += 1
            self._order[record_id] = self._sequence
            self._owners[record_id] = owner
            base = blank_record(record_id, self.rules)
        elif self.update_mode == "replace":
            base = blank_record(record_id, self.rules)
        else:
            base = self._records[record_id]
        self._records[record_id] = apply_item(base, item)
        return record_id

    def _new_id(self) -> str:
        while True:
            candidate = f"mlg_{self._rng.getrandbits(64):016x}"
            if candidate not in self._records:
                return candidate

    def query(self, body: Any, *, viewer: str | None = None) -> Reply:
        """``POST /v6/mileage/query`` on a parsed body: the records ``viewer`` may see."""
        parsed = parse_query(
            body, max_limit=self.query_max_limit, date_filter=self.query_date_filter
        )
        if isinstance(parsed, list):
            return 400, failure(parsed)
        with self._lock:
            rows = [
                ((record.get("date") or "", self._order[ident]), record)
                for ident, record in self._records.items()
                if self._visible(ident, viewer)
            ]
            page = run_query(rows, parsed)
            data = copy.deepcopy(page.records)
        return 200, {
            "result": "SUCCESS",
            "data": data,
            "cursor": {"after": page.after, "before": page.before},
        }

    def delete(self, record_id: str, *, viewer: str | None = None) -> dict[str, Any] | None:
        """``DELETE /v6/mileage/{id}``: the removed record, or ``None`` if unknown (or not
        ``viewer``'s to see)."""
        with self._lock:
            if not self._visible(record_id, viewer):
                return None
            self._owners.pop(record_id, None)
            self._order.pop(record_id, None)
            self._locked.discard(record_id)
            return self._records.pop(record_id, None)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every mileage item received, in order (rejected and duplicate ones too)."""
        with self._lock:
            return list(self._deliveries)

    def records_with_custom(self, key: str, value: Any) -> list[dict[str, Any]]:
        """Stored records whose ``customData[key] == value`` (copies)."""
        with self._lock:
            return [
                copy.deepcopy(record)
                for record in self._records.values()
                if isinstance(record.get("customData"), dict)
                and record["customData"].get(key) == value
            ]

    def stored_count_by_custom(self, key: str, value: Any) -> int:
        """How many stored records carry ``customData[key] == value`` (1 = stored exactly once)."""
        return len(self.records_with_custom(key, value))

    def stored_counts_by_custom(self, key: str) -> Counter[Any]:
        """``customData[key]`` value → number of stored records carrying it."""
        with self._lock:
            return Counter(
                record["customData"][key]
                for record in self._records.values()
                if isinstance(record.get("customData"), dict) and key in record["customData"]
            )

    def duplicates_by_custom(self, key: str) -> dict[Any, list[str]]:
        """Values of ``customData[key]`` stored more than once → their record ids."""
        with self._lock:
            ids: dict[Any, list[str]] = {}
            for ident, record in self._records.items():
                data = record.get("customData")
                if isinstance(data, dict) and key in data:
                    ids.setdefault(data[key], []).append(ident)
            return {value: found for value, found in ids.items() if len(found) > 1}

    def delivery_counts_by_custom(self, key: str) -> Counter[Any]:
        """``customData[key]`` value → times an item carrying it was received (redeliveries)."""
        with self._lock:
            return Counter(
                delivery.custom(key)
                for delivery in self._deliveries
                if delivery.custom(key) is not None
            )

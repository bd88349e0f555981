"""What a pulled Tight record means for the local store: pure decisions, no I/O.

For each record of a page, :class:`Decider` compares the server's copy with the local trip and
the base (the last server copy seen) in canonical form (``sync.tight.canonical``), merges
field by field (``sync.tight.merge``) and returns what the store should do
(``tracker.inbox``): nothing, take the server's values, adopt, create, or hold a conflict
(the ``TRACKER_SYNC_CONFLICTS`` policy decides whether conflicts are held or settled). The
server's values are mapped to local terms (:func:`local_values`) and validated like any input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from sync.settings import MileageSettings
from sync.tight.canonical import (
    FIELDS,
    Canon,
    UnreadableRecordError,
    canonical,
    plain,
    read_decimal,
)
from sync.tight.mapping import save_body
from sync.tight.merge import Merge, merge
from sync.tight.verdicts import REMOTE_ID
from tracker.decisions import (
    Adopt,
    CreateLocal,
    Decide,
    Decision,
    DeleteLocal,
    Hold,
    Keep,
    LocalTrip,
    Recreate,
    TakeServer,
)
from tracker.enums import Lifecycle
from tracker.errors import InvalidInputError
from tracker.inputs import RemoteTripIn, parse

__all__ = ["REMOTE_ID", "Decider", "Unreadable", "local_values", "remote_id_of"]

Policy = Literal["ask", "local", "remote"]


_THOUSANDTH = Decimal("0.001")
_UNITS = {"MILE": "mile", "KILOMETER": "km", "KILOMETRE": "km", "KM": "km"}
_ADDRESS = {
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "phoneWork": "phone_work",
}
_WORDS = {
    "date": "date",
    "description": "description",
    "notes": "notes",
    "customerId": "customer",
    "carId": "car",
    "classSegmentIds": "class segments",
    "distance": "distance",
    "start": "start",
    "end": "end",
    "duration": "duration",
}


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be read (it is not merged; a walk with one proves nothing)."""

    remote_id: str | None
    reason: str


def remote_id_of(record: Any) -> str | None:
    """The record's Tight id when it has a plausible one, else None."""
    ident = record.get("id") if isinstance(record, Mapping) else None
    return ident if isinstance(ident, str) and REMOTE_ID.fullmatch(ident) else None


def local_values(
    record: Mapping[str, Any], names: Iterable[str], cfg: MileageSettings
) -> dict[str, Any]:
    """The server's values of the wire fields ``names`` in local terms (a partial
    :class:`~tracker.inputs.RemoteTripIn` as a dict; validated by the caller)."""
    out: dict[str, Any] = {}
    for name in names:
        if name == "date":
            out["date"] = record.get("date")
        elif name == "mileageStatus":
            status = record.get("mileageStatus")
            reverse = {
                cfg.status_business: "business",
                cfg.status_personal: "personal",
                cfg.status_unclassified: "unclassified",
            }
            if status not in reverse:
                raise UnreadableRecordError(f"mileageStatus {str(status)[:30]!r} is not known")
            out["classification"] = reverse[status]
        elif name in ("description", "notes"):
            out[name] = record.get(name) or None
        elif name == "customerId":
            out["customer_id"] = _ref(record, "customerId", "customer")
        elif name == "carId":
            car = _ref(record, "carId", "car")
            if car is not None and not (isinstance(car, str) and REMOTE_ID.fullmatch(car)):
                # Stored, then sent back as carId: only an id shaped like Tight's.
                raise UnreadableRecordError(f"carId {str(car)[:30]!r} is not a Tight id")
            out["car_remote_id"] = car
        elif name == "classSegmentIds":
            out["class_segment_ids"] = list(canonical(record)["classSegmentIds"])
        elif name == "distance":
            out.update(_distance(record.get("distance")))
        elif name in ("start", "end"):
            out.update(_endpoint(record.get(name), name))
        elif name == "duration":
            out["duration_ms"] = record.get("duration")
    return out


def _ref(record: Mapping[str, Any], flat: str, nested: str) -> Any:
    if flat in record:
        return record.get(flat)
    value = record.get(nested)
    return value.get("id") if isinstance(value, Mapping) else None


def _distance(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise UnreadableRecordError("distance is not an object")
    unit = _UNITS.get(str(value.get("type")).upper())
    if unit is None:
        raise UnreadableRecordError(f"distance type {str(value.get('type'))[:20]!r} is not known")
    canonical({"distance": value})  # the same checks as a comparison makes
    amount = read_decimal(value.get("value"), "distance.value")
    assert amount is not None  # canonical() refuses a distance without a value
    if amount.adjusted() >= 7:  # 1E+30 overflowed quantize; no trip is this long anyway
        raise UnreadableRecordError(f"distance {str(amount)[:20]} is out of range")
    return {"distance": amount.quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN), "unit": unit}


def _endpoint(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {f"{name}_time": None, name: None}
    if not isinstance(value, Mapping):
        raise UnreadableRecordError(f"{name} is not an object")
    time = value.get("time")
    out: dict[str, Any] = {
        f"{name}_time": (
            None if not time else datetime.fromisoformat(str(time).replace("Z", "+00:00"))
        )
    }
    lat, lng = value.get("lat"), value.get("lng")
    if lat is None or lng is None:
        out[name] = None
        return out
    address = value.get("address")
    parts = (
        {_ADDRESS[k]: v for k, v in address.items() if k in _ADDRESS and v}
        if isinstance(address, Mapping)
        else {}
    )
    out[name] = {"lat": str(lat), "lng": str(lng), "address": parts or None}
    return out


def _words(names: Iterable[str], values: RemoteTripIn) -> tuple[str, ...]:
    said = []
    for name in names:
        if name == "mileageStatus" and values.classification is not None:
            said.append(f"classified as {values.classification} on the server")
        else:
            said.append(f"{_WORDS.get(name, name)} changed on the server")
    return tuple(said)


@dataclass
class Decider:
    """Decides a page's records against the local trips (see the module docstring).

    ``seen``: Tight ids read so far in this run (``read``: since the last read before a
    push batch, see :meth:`sync.tight.pull.MileagePull.refresh`); ``unreadable``: records
    not merged;
    ``duplicates``: extra server copies of a local trip (never merged, reported), unless the
    trip's own id turns out unknown to the server: it is then re-pointed to that copy.
    """

    cfg: MileageSettings
    policy: Policy
    seen: set[str] = field(default_factory=set)
    read: set[str] = field(default_factory=set)
    unreadable: list[Unreadable] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    other_copies: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    """Trip id -> another record carrying its local id (its own id may be wrong)."""
    logged: int = 0
    """How many of ``unreadable`` were logged already."""

    def page(self, records: list[Any]) -> tuple[list[str], list[str], Decide]:
        """The Tight ids and local ids a page names, and its ``decide`` function for
        :meth:`tracker.inbox.Inbox.apply`."""
        readable: list[tuple[str, dict[str, Any]]] = []
        for record in records:
            remote_id = remote_id_of(record)
            if remote_id is None:
                self.unreadable.append(Unreadable(None, "a record without a usable id"))
                continue
            readable.append((remote_id, record))
        key = self.cfg.local_id_key
        local_ids = [
            local
            for _, record in readable
            if isinstance(custom := record.get("customData"), Mapping)
            and isinstance(local := custom.get(key), str)
        ]

        def decide(
            by_remote: Mapping[str, LocalTrip], by_local: Mapping[str, LocalTrip]
        ) -> list[Decision]:
            decisions: list[Decision] = []
            for remote_id, record in readable:
                try:
                    decisions += self.record(remote_id, record, by_remote, by_local)
                except (UnreadableRecordError, InvalidInputError, ValueError) as err:
                    self.unreadable.append(Unreadable(remote_id, str(err)[:300]))
            return decisions

        return [r for r, _ in readable], local_ids, decide

    def record(
        self,
        remote_id: str,
        record: dict[str, Any],
        by_remote: Mapping[str, LocalTrip],
        by_local: Mapping[str, LocalTrip],
    ) -> list[Decision]:
        """What to do with one record (raises for an unreadable one)."""
        server = canonical(record)
        self.seen.add(remote_id)
        self.read.add(remote_id)
        local = by_remote.get(remote_id)
        if local is None:
            return self._unknown(remote_id, record, server, by_local)
        if local.lifecycle != Lifecycle.ACTIVE:
            return [Keep(local.trip.id)]  # deleted here: the delete is (or was) pushed
        return self._known(local, record, server)

    def _unknown(
        self,
        remote_id: str,
        record: dict[str, Any],
        server: Canon,
        by_local: Mapping[str, LocalTrip],
    ) -> list[Decision]:
        custom = record.get("customData")
        local_id = custom.get(self.cfg.local_id_key) if isinstance(custom, Mapping) else None
        mine = by_local.get(local_id) if isinstance(local_id, str) else None
        if mine is not None and mine.trip.remote_id is None:
            # Our create whose answer was lost: it is this record. Someone may have edited it
            # on Tight before we learned its id, and the trip may have changed here since: the
            # base is what the create sent, when the server still holds exactly that; with no
            # such base each difference is merged as a conflict (a campaign saw such edits
            # overwritten when the record itself was taken as the base).
            adopt = Adopt(mine.trip.id, remote_id, record)
            if mine.lifecycle != Lifecycle.ACTIVE:
                return [adopt]  # deleted here: the delete goes to this record
            mine_now = canonical(save_body(mine.trip, self.cfg))
            base = _own_write(mine, server, None)
            return [adopt, *self._settle(mine, record, merge(base, mine_now, server))]
        if mine is not None:
            # Another record carries this trip's local id: a second copy on the server, or
            # the trip's own record under an id the server never gave it (a garbled answer).
            self.duplicates.append(remote_id)
            self.other_copies[mine.trip.id] = (remote_id, record)
            return []
        values = local_values(record, FIELDS, self.cfg)
        values["custom_data"] = _custom_data(custom, self.cfg.local_id_key)
        return [
            CreateLocal(
                remote_id,
                parse(RemoteTripIn, values),
                record,
                local_id if isinstance(local_id, str) else None,
            )
        ]

    def _known(self, local: LocalTrip, record: dict[str, Any], server: Canon) -> list[Decision]:
        mine = canonical(save_body(local.trip, self.cfg, base=local.base))
        if not local.changed_here:
            differ = [name for name in FIELDS if mine[name] != server[name]]
            if not differ:
                return [Keep(local.trip.id)]
            return [self._take(local, record, differ)]
        # The base is read only for a merge (a walk of unchanged trips never needs it).
        base = _own_write(local, server, _base(local.base))
        return self._settle(local, record, merge(base, mine, server))

    def _settle(self, local: LocalTrip, record: dict[str, Any], result: Merge) -> list[Decision]:
        """What a merge of a changed trip decides: the server's one-sided changes are taken,
        conflicts held or settled by the policy."""
        decisions: list[Decision] = []
        taken = list(result.from_server)
        if result.conflicts and self.policy == "remote":
            taken += [c.name for c in result.conflicts]
        if taken:
            decisions.append(self._take(local, record, taken))
        if result.conflicts and self.policy == "ask":
            decisions.append(self._hold(local, record, result))
        return decisions

    def _take(self, local: LocalTrip, record: dict[str, Any], names: list[str]) -> TakeServer:
        values = parse(RemoteTripIn, local_values(record, names, self.cfg))
        return TakeServer(local.trip.id, values, record, _words(names, values))

    def _hold(self, local: LocalTrip, record: dict[str, Any], result: Merge) -> Hold:
        fields = []
        for conflict in result.conflicts:
            values = local_values(record, [conflict.name], self.cfg)
            parse(RemoteTripIn, values)  # the server's side must be takeable
            fields.append(
                {
                    "name": conflict.name,
                    "base": plain(conflict.base),
                    "local": plain(conflict.local),
                    "server": plain(conflict.server),
                    "values": _json_values(values),
                }
            )
        return Hold(local.trip.id, "edit", fields, record)

    def gone(self, local: LocalTrip) -> list[Decision]:
        """A trip of ours the server no longer has (confirmed): deleted here too, or, when
        it changed here, a conflict (or the policy's choice)."""
        if not local.changed_here:
            return [DeleteLocal(local.trip.id)]
        if self.policy == "remote":
            return [DeleteLocal(local.trip.id, drop_change=True)]
        if self.policy == "local":
            return [Recreate(local.trip.id)]
        return [Hold(local.trip.id, "deleted", [], None)]


def _own_write(local: LocalTrip, server: Canon, base: Canon | None) -> Canon | None:
    """The merge base: the server's copy when it holds exactly what one of our saves sent
    since the last recorded answer (a create or an update whose answer never came back: the
    process died first), since that is our own write, not someone else's edit; ``base``
    otherwise."""
    if any(_base(body) == server for body in local.sent):
        return server
    return base


def _base(record: dict[str, Any] | None) -> Canon | None:
    if record is None:
        return None
    try:
        return canonical(record)
    except UnreadableRecordError:
        return None


def _custom_data(custom: Any, key: str) -> dict[str, Any]:
    if not isinstance(custom, Mapping):
        return {}
    return {k: v for k, v in custom.items() if isinstance(k, str) and k != key}


def _json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = format(value, "f")
        elif isinstance(value, datetime | date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out

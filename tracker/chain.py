"""The trip history's hash chain, the pure half: what is hashed and how (no I/O).

Each trip has its own chain. A *link* is a history event (``journal_event``) that records a
change of the trip's record: it was recorded, edited, stopped, deleted, changed on the
server, resolved. Its hash covers the hash of the link before it and the *state*: a digest
of the trip's covered fields (:data:`COVERED`) as they were right after that change. The
trip row keeps the hash of its latest link (``trip.chain_head``), so an edit of the row,
of a link, a removed link or a link added out of order all break a hash that ``tracker
verify`` recomputes. docs/verify.md states what this proves and what it does not.

Canonical form (version ``tracker-chain/1``): a JSON array, UTF-8, no whitespace
(``separators=(",", ":")``), non-ASCII characters as themselves, holding values exactly as
SQLite stores them (text, integer or NULL; a BLOB as ``"x'<hex>'"``): the bytes that are
hashed never depend on how Python types read them back, nor on the backend. PostgreSQL
returns some covered columns typed (``date`` a ``datetime.date``; its JSON columns are read
as their stored text, ``tracker.links.covered_sql``): :func:`stored_form` turns each such
value into the text SQLite holds for it, so a trip hashes to the same bytes on both.

- state  = SHA-256 of ``["tracker-chain/1/state", [[column, value], ...]]`` in
  :data:`COVERED` order;
- link   = SHA-256 of ``["tracker-chain/1/link", prev, trip_id, at, event, detail, changes,
  state]``: ``prev`` the previous link's hash ("" for the first), ``at`` the stored instant
  text, ``changes`` the stored JSON text of what changed (or null);
- head   = SHA-256 over every trip in id order of ``["tracker-chain/1/head", trip_id,
  chain_head]`` each followed by a newline: the one digest a printed log carries.

Digests are lower-case hex. Changing any of this is a new version (and a migration).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tracker.coltypes import decimal_text, utc_text

__all__ = [
    "BOOKKEEPING",
    "COVERED",
    "VERSION",
    "HeadDigest",
    "canonical",
    "changes_text",
    "diff",
    "file_head",
    "link_hash",
    "recorded_how",
    "state_digest",
    "stored_form",
]

VERSION = "tracker-chain/1"

#: The trip columns the chain covers, in the order the state digest lists them: everything
#: a log row or a tax office reads. A new trip column goes here or in :data:`BOOKKEEPING`
#: (a test fails until it is in one of them).
COVERED: tuple[str, ...] = (
    "id",
    "status",
    "lifecycle",
    "source",
    "origin",
    "date",
    "timezone",
    "start_time",
    "end_time",
    "start_lat",
    "start_lng",
    "end_lat",
    "end_lng",
    "start_address",
    "end_address",
    "distance",
    "distance_unit",
    "duration_ms",
    "classification",
    "description",
    "notes",
    "car_id",
    "customer_id",
    "class_segment_ids",
    "custom_data",
    "created_at",
    "deleted_at",
    "deleted_by",
)

#: Trip columns outside the chain: the sync's own bookkeeping, written by the pusher and the
#: pull on every exchange (hashing them would put a hash on the push's hot path and say
#: nothing about the trip), and the chain's head itself. ``account`` (0021) is set when the
#: trip is made and never changed; hashing it would change every digest chained before it.
BOOKKEEPING: frozenset[str] = frozenset(
    {
        "account",
        "remote_id",
        "remote_record",
        "sent_record",
        "synced_at",
        "version",
        "updated_at",
        "chain_head",
    }
)

Stored = str | int | float | bytes | None
"""A value as SQLite stores it."""


_BINARY = (bytes, bytearray, memoryview)
#: Types hashed as they are (bool is an int subclass, but not one of these: it is turned
#: into SQLite's 0/1).
_AS_IS = frozenset({str, int, float, type(None)})


def stored_form(value: Any) -> str | int | float | None:
    """``value`` in the form SQLite stores it, whichever backend or driver read it. Pure.

    Text, integers, floats and NULL are themselves; a BLOB is ``"x'<hex>'"``; the typed
    values a PostgreSQL driver returns become SQLite's text for them: a date its ISO text
    (SQLAlchemy's Date on SQLite), an instant ``tracker.coltypes.utc_text``, a Decimal its
    fixed-point text, a bool 0/1, parsed JSON the text SQLAlchemy's JSON type writes.
    """
    kind = type(value)
    if kind in _AS_IS:
        return value  # type: ignore[no-any-return]
    if isinstance(value, _BINARY):
        return f"x'{bytes(value).hex()}'"
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):  # before date: a datetime is a date
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dict | list):
        return json.dumps(value)  # SQLAlchemy JSON's default serializer: SQLite's text
    raise TypeError(f"no stored form for a {kind.__name__} value")


# One encoder, built once (json.dumps with options builds one per call: a bulk import
# hashes two documents per trip).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_STATE = f"{VERSION}/state"


def canonical(items: Sequence[Any]) -> bytes:
    """The bytes hashed for ``items`` (a JSON array in the canonical form above)."""
    return _ENCODER.encode(list(items)).encode("utf-8")


def state_digest(values: Sequence[Stored]) -> str:
    """The digest of a trip's covered fields, ``values`` in :data:`COVERED` order."""
    if len(values) != len(COVERED):
        raise ValueError(f"{len(values)} values for {len(COVERED)} covered columns")
    if any(type(v) not in _AS_IS for v in values):
        values = [stored_form(v) for v in values]
    # Pairs as tuples: JSON arrays, the same bytes as lists.
    pairs = list(zip(COVERED, values, strict=True))
    return hashlib.sha256(canonical([_STATE, pairs])).hexdigest()


def link_hash(
    prev: str | None,
    trip_id: str,
    at: str,
    event: str,
    detail: str | None,
    changes: str | None,
    state: str,
) -> str:
    """The hash of one link (``prev``: the previous link's hash, None for the first)."""
    items = [f"{VERSION}/link", prev or "", trip_id, at, event, detail, changes, state]
    return hashlib.sha256(canonical(items)).hexdigest()


class HeadDigest:
    """The chain head of a whole file, fed one trip at a time in trip id order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.trips = 0

    def add(self, trip_id: str, head: str | None) -> None:
        """Fold in one trip's latest link hash."""
        self._hash.update(canonical([f"{VERSION}/head", trip_id, head]) + b"\n")
        self.trips += 1

    def hexdigest(self) -> str:
        """The digest so far."""
        return self._hash.copy().hexdigest()


def file_head(heads: Iterable[Sequence[Any]]) -> str:
    """The chain head of a file from its trips' ``(id, chain_head)`` in id order: what
    ``tracker verify`` prints when every trip matches its history."""
    digest = HeadDigest()
    for trip_id, head in heads:
        digest.add(trip_id, head)
    return digest.hexdigest()


def diff(before: Sequence[Stored], after: Sequence[Stored]) -> dict[str, list[Any]]:
    """What changed between two covered rows: ``{column: [old, new]}`` (stored forms,
    compared as stored: a value read typed equals its stored text)."""
    changes: dict[str, list[Any]] = {}
    for name, old, new in zip(COVERED, before, after, strict=True):
        if old != new:
            was, now = stored_form(old), stored_form(new)
            if was != now:
                changes[name] = [was, now]
    return changes


def changes_text(changes: Mapping[str, Any] | None) -> str | None:
    """The stored (and hashed) text of a link's changes; None when nothing changed."""
    if not changes:
        return None
    return json.dumps(dict(changes), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def recorded_how(
    source: str, origin: str | None, import_key: str | None, *, bulk: bool = False
) -> str:
    """How a trip was first recorded, in words: from its source, where it came from, the key
    it was imported under (``tracker.importkeys``) and whether it came in bulk
    (``Tracker.add_trips``)."""
    if origin == "server":
        return "pulled from the server"
    if source == "live":
        return "live GPS"
    if source == "gpx":
        return "GPX import"
    if import_key is not None and import_key.startswith("csv:"):
        return "CSV import"
    if import_key is not None or bulk:
        return "bulk import"
    return "entered by hand"

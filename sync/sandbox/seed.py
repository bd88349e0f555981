"""Reproducible additional costs for the business-mobile sandbox.

``generate_costs(n, seed)`` returns the same list for the same arguments on every machine:
realistic cost types (fines, tolls, parking, fuel, charging, cleaning, damage, fees) tied to trips
and their times, ``Labels`` as a JSON *string* in a few languages, amounts as exact ``Decimal``
(two places), both date formats the docs show (``YYYY-MM-DD HH:MM:SS`` on cost fields, ISO-8601
``Z`` on ``PaymentExecutionAttemt``) and null payment fields for unpaid costs.

The ``CostType`` and ``PaymentStatus`` numbers are invented: the enumerations page could not be
found. Only ``CostType 0`` = "Speed Fine" comes from the docs' sample. Naive times are platform
wall time; the generator treats them as UTC when it writes the ISO ``Z`` field.
"""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

SPACE_FORMAT = "%Y-%m-%d %H:%M:%S"
ISO_Z_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_START = datetime(2024, 3, 4, 7, 30)  # noqa: DTZ001 - platform times carry no zone
LATEST_TRIP_END = datetime(2026, 6, 1)  # noqa: DTZ001 - platform times carry no zone
"""Made-up trips end by then (shifted back as a whole when there are many), so that no
generated cost is dated in the future: the client quarantines a ``LastUpdated`` ahead of
its clock (docs/costs.md)."""


@dataclass(frozen=True)
class CostKind:
    """One additional-cost type: ids, localized labels and a plausible amount range (cents)."""

    type_id: int
    cost_type: int
    labels: dict[str, str]
    cents: tuple[int, int]
    weight: int
    during_trip: bool = True
    """Fines and damage are booked days later; tolls and fuel happen during the trip."""


KINDS: tuple[CostKind, ...] = (
    CostKind(
        type_id=101,
        cost_type=0,
        labels={
            "en": "Speed Fine",
            "it": "Multa per eccesso di velocità",
            "de": "Geschwindigkeitsbußgeld",
        },
        cents=(4200, 17300),
        weight=2,
        during_trip=False,
    ),
    CostKind(
        type_id=102,
        cost_type=0,
        labels={"en": "Restricted Traffic Zone Fine", "it": "Multa ZTL"},
        cents=(8300, 12000),
        weight=1,
        during_trip=False,
    ),
    CostKind(
        type_id=201,
        cost_type=1,
        labels={
            "en": "Motorway Toll",
            "it": "Pedaggio autostradale",
            "fr": "Péage autoroutier",
            "de": "Autobahnmaut",
        },
        cents=(180, 4650),
        weight=6,
    ),
    CostKind(
        type_id=202,
        cost_type=1,
        labels={"en": "Tunnel Toll", "it": "Pedaggio traforo", "fr": "Péage du tunnel"},
        cents=(2950, 5800),
        weight=1,
    ),
    CostKind(
        type_id=301,
        cost_type=2,
        labels={"en": "Parking", "it": "Parcheggio", "es": "Aparcamiento"},
        cents=(150, 2400),
        weight=5,
    ),
    CostKind(
        type_id=302,
        cost_type=2,
        labels={"en": "Airport Parking", "it": "Parcheggio aeroporto"},
        cents=(1800, 9500),
        weight=1,
    ),
    CostKind(
        type_id=401,
        cost_type=3,
        labels={"en": "Fuel", "it": "Carburante", "de": "Kraftstoff"},
        cents=(2500, 9800),
        weight=4,
    ),
    CostKind(
        type_id=402,
        cost_type=3,
        labels={"en": "EV Charging", "it": "Ricarica elettrica", "fr": "Recharge électrique"},
        cents=(600, 3900),
        weight=2,
    ),
    CostKind(
        type_id=501,
        cost_type=4,
        labels={"en": "Cleaning", "it": "Pulizia"},
        cents=(1500, 6000),
        weight=2,
        during_trip=False,
    ),
    CostKind(
        type_id=502,
        cost_type=4,
        labels={"en": "Extra Cleaning (pets)", "it": "Pulizia straordinaria (animali)"},
        cents=(3000, 8000),
        weight=1,
        during_trip=False,
    ),
    CostKind(
        type_id=601,
        cost_type=5,
        labels={"en": "Minor Damage", "it": "Danno lieve", "de": "Kleinschaden"},
        cents=(5000, 45000),
        weight=1,
        during_trip=False,
    ),
    CostKind(
        type_id=701,
        cost_type=6,
        labels={"en": "Fine Handling Fee", "it": "Spese di gestione multa"},
        cents=(1000, 2500),
        weight=1,
        during_trip=False,
    ),
)

PLACES = (
    "Milano Centrale", "Torino Porta Nuova", "Bologna Fiera", "Roma Termini",
    "Malpensa Terminal 1", "Linate", "Bergamo Orio al Serio", "Verona Porta Nuova",
    "Genova Brignole", "Firenze S.M.N.", "Zürich HB", "Düsseldorf Hbf", "Lyon Part-Dieu",
    "Sede cliente — Via dell'Artigianato 12",
)  # fmt: skip

NOTES = (
    "Receipt attached",
    "Pagato con carta aziendale",
    "Customer visit; see booking #4711",
    "Autogrill A1 — sosta",
    "Ticket lost, amount from statement",
)

PAYERS = ("administrator", "billing-bot", "m.rossi")


@dataclass(frozen=True)
class SeedTrip:
    """A trip the generated costs belong to (platform wall times, no zone)."""

    guid: str
    start: datetime
    end: datetime
    start_name: str
    end_name: str


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _plain(moment: datetime) -> datetime:
    """Aware times are converted to UTC; the platform format carries no zone."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def generate_trips(
    guids: Sequence[str], *, seed: int = 0, start: datetime = DEFAULT_START
) -> list[SeedTrip]:
    """One trip per GUID, a few hours apart, 20 minutes to 3 hours long."""
    rng = random.Random(f"trips:{seed}")  # noqa: S311  # nosec B311 - reproducible on purpose
    moment = _plain(start)
    trips = []
    for guid in guids:
        moment += timedelta(minutes=rng.randint(90, 26 * 60))
        length = timedelta(minutes=rng.randint(20, 180))
        origin, destination = rng.sample(PLACES, 2)
        trips.append(SeedTrip(guid, moment, moment + length, origin, destination))
        moment += length
    return trips


def generate_costs(
    n: int,
    seed: int = 0,
    *,
    trip_guids: Sequence[str] | None = None,
    trips: Sequence[SeedTrip] | None = None,
    start: datetime = DEFAULT_START,
    first_id: int = 1,
) -> list[dict[str, Any]]:
    """``n`` cost items in the documented PascalCase shape, IDs ``first_id..first_id+n-1``.

    Costs attach to ``trips`` if given, else to trips made up for ``trip_guids`` (times start
    at ``start``), else to about ``n / 3`` trips with fresh GUIDs. Same arguments, same list.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    rng = random.Random(seed)  # noqa: S311  # nosec B311 - reproducible on purpose
    if trips is None:
        guids = (
            list(trip_guids) if trip_guids else [_guid(rng) for _ in range(max(1, (n + 2) // 3))]
        )
        trips = _in_the_past(generate_trips(guids, seed=seed, start=start))
    if not trips:
        raise ValueError("costs need at least one trip")
    users = [_guid(rng) for _ in range(2)]
    weights = [kind.weight for kind in KINDS]
    costs = []
    for offset in range(n):
        trip = trips[offset % len(trips)] if offset < len(trips) else rng.choice(trips)
        kind = rng.choices(KINDS, weights)[0]
        costs.append(_cost(rng, first_id + offset, trip, kind, rng.choice(users)))
    return costs


def _in_the_past(trips: list[SeedTrip]) -> list[SeedTrip]:
    """``trips`` moved back as a whole when the last would end after LATEST_TRIP_END
    (thousands of trips a few hours apart reach past today): same spacing, same lengths."""
    if not trips or trips[-1].end <= LATEST_TRIP_END:
        return trips
    back = trips[-1].end - LATEST_TRIP_END
    return [dataclasses.replace(t, start=t.start - back, end=t.end - back) for t in trips]


def _cost(
    rng: random.Random, ident: int, trip: SeedTrip, kind: CostKind, user: str
) -> dict[str, Any]:
    span = max(1, int((trip.end - trip.start).total_seconds()))
    begin = trip.start + timedelta(seconds=rng.randrange(span))
    finish = begin + timedelta(minutes=rng.randint(1, 90) if kind.cost_type == 2 else 0)
    finish = min(finish, trip.end)
    if kind.during_trip:
        created = trip.end + timedelta(minutes=rng.randint(2, 240))
    else:
        created = trip.end + timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 600))
    updated = created + timedelta(minutes=rng.choice((0, 0, 5, 90, 3000)))
    language_order = list(kind.labels)
    rng.shuffle(language_order)
    labels = json.dumps({lang: kind.labels[lang] for lang in language_order}, ensure_ascii=False)
    paid = rng.random() < 0.6
    attempt = updated + timedelta(minutes=rng.randint(1, 120))
    return {
        "ID": ident,
        "CreatedDate": created.strftime(SPACE_FORMAT),
        "LastUpdated": updated.strftime(SPACE_FORMAT),
        "Amount": Decimal(rng.randint(*kind.cents)).scaleb(-2),
        "Notes": rng.choice(NOTES) if rng.random() < 0.4 else None,
        "TripGuid": trip.guid,
        "StartLocationName": trip.start_name,
        "EndLocationName": trip.end_name,
        "StartTimestamp": begin.strftime(SPACE_FORMAT),
        "EndTimestamp": finish.strftime(SPACE_FORMAT),
        "TypeID": kind.type_id,
        "CostType": kind.cost_type,
        "Labels": labels,
        "ExtUserGuid": user,
        "PaymentID": rng.randint(10_000, 99_999) if paid else None,
        "PaymentStatus": rng.choice((0, 1, 2)) if paid else None,
        "PaymentExecutionAttemt": attempt.strftime(ISO_Z_FORMAT) if paid else None,
        "PaymentExecutionUser": rng.choice(PAYERS) if paid else None,
        "PaymentNotes": ("Charged to company card" if rng.random() < 0.5 else None)
        if paid
        else None,
    }

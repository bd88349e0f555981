"""Cars trips can be attached to (``store.cars``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select

from tracker.db import Database
from tracker.inputs import CarIn, parse
from tracker.lookup import find_car
from tracker.tables import Car
from tracker.views import CarView

__all__ = ["Cars"]


class Cars:
    """The cars of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, data: CarIn | Mapping[str, Any]) -> CarView:
        """Add a car."""
        given = parse(CarIn, data)
        now = self._db.now()
        with self._db.write() as s:
            car = Car(id=str(uuid.uuid4()), created_at=now, updated_at=now, **given.model_dump())
            s.add(car)
            s.flush()
            return CarView.from_row(car)

    def list(self) -> list[CarView]:
        """Every car, by name."""
        with self._db.read() as s:
            return [CarView.from_row(c) for c in s.exec(select(Car).order_by(col(Car.name)))]

    def get(self, car_id: str) -> CarView:
        """One car."""
        with self._db.read() as s:
            return CarView.from_row(find_car(s, car_id))

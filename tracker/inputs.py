"""Validated input models: everything a caller gives the store passes through here first.

SQLModel table models do not validate on construction (lat=999, lng=inf and a 10 MB note
were stored unchecked in a probe), so the store only ever builds table rows from these.
A rejected input raises :class:`tracker.errors.InvalidInputError` naming the field.

Documented limits (also in docs/recording.md):

- text: no NUL bytes, no unpaired surrogates; description <= 500, notes <= 10,000,
  address parts <= 200, ids <= 100 characters;
- instants: timezone-aware, between 1970-01-01 and 2100-01-01; a trip ends after it starts;
- coordinates: finite, lat in [-90, 90], lng in [-180, 180];
- distance: finite, 0 <= d <= 1,000,000, at most 3 decimal places;
- custom data: a JSON object, <= 49 keys, <= 1,900 characters serialised, no key starting
  with ``tracker`` (reserved for the sync engine's own keys).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from tracker.accounts import IMPLICIT_ACCOUNT
from tracker.enums import Classification, DistanceUnit
from tracker.errors import InvalidInputError
from tracker.fixcodec import ACC_SCALE, DEG_SCALE, SPEED_SCALE

MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2100, 1, 1, tzinfo=UTC)
MAX_DISTANCE = Decimal(1_000_000)
MAX_DURATION_MS = 366 * 24 * 3600 * 1000
CUSTOM_DATA_MAX_KEYS = 49
CUSTOM_DATA_MAX_CHARS = 1900
RESERVED_CUSTOM_PREFIX = "tracker"


def clean_text(value: str) -> str:
    """Refuse text SQLite or JSON cannot keep intact: NUL bytes, unpaired surrogates."""
    if "\x00" in value:
        raise ValueError("contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains an unpaired surrogate (not valid Unicode text)") from None
    return value


def _in_time_range(value: datetime) -> datetime:
    if not MIN_TIME <= value < MAX_TIME:
        raise ValueError("must be between 1970-01-01 and 2100-01-01")
    return value.astimezone(UTC)


def _decimal_places(limit: int) -> AfterValidator:
    def check(value: Decimal) -> Decimal:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > limit:
            raise ValueError(f"has more than {limit} decimal places")
        return value

    return AfterValidator(check)


def _custom_data(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > CUSTOM_DATA_MAX_KEYS:
        raise ValueError(f"has more than {CUSTOM_DATA_MAX_KEYS} keys")
    for key in value:
        clean_text(key)
        if key.lower().startswith(RESERVED_CUSTOM_PREFIX):
            raise ValueError(f"key {key!r} is reserved (keys starting with 'tracker')")
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (ValueError, TypeError) as err:
        raise ValueError(f"is not plain JSON ({err})") from None
    clean_text(encoded)
    if len(encoded) > CUSTOM_DATA_MAX_CHARS:
        raise ValueError(f"is longer than {CUSTOM_DATA_MAX_CHARS} characters as JSON")
    return value


Text = Annotated[str, AfterValidator(clean_text)]
ShortText = Annotated[str, Field(max_length=200), AfterValidator(clean_text)]
Ident = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(clean_text)]
Description = Annotated[str, Field(max_length=500), AfterValidator(clean_text)]
Notes = Annotated[str, Field(max_length=10_000), AfterValidator(clean_text)]
Instant = Annotated[AwareDatetime, AfterValidator(_in_time_range)]
Lat = Annotated[Decimal, Field(ge=-90, le=90, allow_inf_nan=False)]
Lng = Annotated[Decimal, Field(ge=-180, le=180, allow_inf_nan=False)]
Distance = Annotated[Decimal, Field(ge=0, le=MAX_DISTANCE, allow_inf_nan=False), _decimal_places(3)]
CustomData = Annotated[dict[str, Any], AfterValidator(_custom_data)]
SegmentIds = Annotated[list[Ident], Field(max_length=50)]


class _Input(BaseModel):
    # defer_build: a model's validator is built when it first validates, so `trip add`
    # builds one, not the ten of this module (start-up, issue 15).
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, defer_build=True
    )


class Address(_Input):
    """A postal address (the fields Tight accepts on a trip's start and end)."""

    address1: ShortText | None = None
    address2: ShortText | None = None
    city: ShortText | None = None
    state: ShortText | None = None
    zip: ShortText | None = None
    phone_work: ShortText | None = None


class Place(_Input):
    """A point on the map with an optional address."""

    lat: Lat
    lng: Lng
    address: Address | None = None


class TripDetails(_Input):
    """Descriptive fields shared by every way of recording a trip."""

    classification: Classification = Classification.UNCLASSIFIED
    description: Description | None = None
    notes: Notes | None = None
    car_id: Ident | None = None
    customer_id: Ident | None = None
    class_segment_ids: SegmentIds = Field(default_factory=list)
    custom_data: CustomData = Field(default_factory=dict)


class TripStart(TripDetails):
    """Start a live recording. ``start_time`` defaults to now."""

    start_time: Instant | None = None
    start: Place | None = None


class WaypointIn(_Input):
    """One GPS fix. accuracy in metres, speed in m/s."""

    time: Instant
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    accuracy: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None
    speed: Annotated[float, Field(ge=0, le=1_000, allow_inf_nan=False)] | None = None


class ManualTripIn(TripDetails):
    """A trip entered by hand: a date and a distance at least, as mileage apps allow."""

    date: dt.date | None = None
    distance: Distance
    unit: DistanceUnit = DistanceUnit.KM
    start_time: Instant | None = None
    end_time: Instant | None = None
    start: Place | None = None
    end: Place | None = None

    @model_validator(mode="after")
    def _times(self) -> ManualTripIn:
        if self.date is None and self.start_time is None:
            raise ValueError("give a date or a start_time")
        if self.end_time is not None and self.start_time is None:
            raise ValueError("end_time needs a start_time")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.date is not None and not date(1970, 1, 1) <= self.date < date(2100, 1, 1):
            raise ValueError("date must be between 1970-01-01 and 2100-01-01")
        return self


class TripEdit(_Input):
    """Changes to a trip: only the fields given are changed; ``None`` clears a field."""

    classification: Classification | None = None
    description: Description | None = None
    notes: Notes | None = None
    car_id: Ident | None = None
    customer_id: Ident | None = None
    class_segment_ids: SegmentIds | None = None
    custom_data: CustomData | None = None
    date: dt.date | None = None
    distance: Distance | None = None
    unit: DistanceUnit | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> TripEdit:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        for name in ("classification", "date", "distance", "unit", "class_segment_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


class RemoteTripIn(_Input):
    """A trip's fields as the server has them, in local terms: what a pull writes.

    Validated like any input (a server is not trusted either). Only the fields given are
    written; ``None`` clears a field. ``car_remote_id`` names the car by its Tight id.
    """

    date: dt.date | None = None
    classification: Classification | None = None
    description: Description | None = None
    notes: Notes | None = None
    customer_id: Ident | None = None
    class_segment_ids: SegmentIds | None = None
    custom_data: CustomData | None = None
    distance: Distance | None = None
    unit: DistanceUnit | None = None
    start_time: Instant | None = None
    end_time: Instant | None = None
    start: Place | None = None
    end: Place | None = None
    duration_ms: Annotated[int, Field(ge=0, le=MAX_DURATION_MS)] | None = None
    car_remote_id: Ident | None = None

    @model_validator(mode="after")
    def _whole(self) -> RemoteTripIn:
        for name in ("classification", "date", "distance", "unit", "class_segment_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        if self.date is not None and not date(1970, 1, 1) <= self.date < date(2100, 1, 1):
            raise ValueError("date must be between 1970-01-01 and 2100-01-01")
        return self


class CarIn(_Input):
    """A car to attach trips to."""

    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(clean_text)]
    make: ShortText | None = None
    model: ShortText | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    odometer: Distance | None = None
    odometer_unit: DistanceUnit | None = None
    remote_id: Ident | None = None


_ACCOUNT_NAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"
AccountName = Annotated[str, Field(pattern=_ACCOUNT_NAME)]
_REF_ENV = re.compile(r"env:[A-Za-z_][A-Za-z0-9_]*")


def secret_ref(value: str) -> str:
    """A reference to a secret: ``env:NAME`` (an environment variable of the process that
    syncs) or ``file:/absolute/path`` (a file holding only the secret). The secret itself is
    refused: the database never holds one."""
    if _REF_ENV.fullmatch(value) or (value.startswith("file:/") and len(value) > len("file:/")):
        return value
    raise ValueError(
        "give where the secret is read, not the secret: env:NAME or file:/absolute/path"
    )


SecretRef = Annotated[str, AfterValidator(secret_ref)]


class AccountIn(_Input):
    """A Tight user to sync for (fleet mode): a client id, its user id and a reference to
    the client secret (client-credential tokens are minted per user), or a reference to a
    static token; optionally a reference to its token for the costs API."""

    name: AccountName
    tight_client_id: Ident | None = None
    tight_user_id: Ident | None = None
    tight_secret_ref: SecretRef | None = None
    tight_token_ref: SecretRef | None = None
    costs_token_ref: SecretRef | None = None
    """The account's token for the costs API (its own costs pull); none: it pulls no costs."""

    @model_validator(mode="after")
    def _one_way_in(self) -> AccountIn:
        if self.name == IMPLICIT_ACCOUNT:
            raise ValueError(f"{IMPLICIT_ACCOUNT!r} is the implicit account: choose another name")
        minted = (self.tight_client_id, self.tight_user_id, self.tight_secret_ref)
        if self.tight_token_ref is not None:
            if any(v is not None for v in minted):
                raise ValueError("give a token reference or client credentials, not both")
        elif any(v is None for v in minted):
            raise ValueError(
                "give --tight-token-ref, or --tight-client-id, --tight-user-id and "
                "--tight-secret-ref together"
            )
        return self


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: M | Mapping[str, Any]) -> M:
    """Validate ``data`` as ``model``; raise InvalidInputError naming the first bad field."""
    if isinstance(data, model):
        # Re-validate: an instance may come from model_construct(), which skips validation.
        data = data.model_dump(exclude_unset=True)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _as_input_error(err) from None
    except (UnicodeError, ValueError) as err:  # e.g. surrogates pydantic-core cannot take
        raise InvalidInputError("input", str(err)) from None


def _as_input_error(err: ValidationError) -> InvalidInputError:
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "input"
    message = first["msg"].removeprefix("Value error, ")
    more = err.error_count() - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InvalidInputError(field, message)


# ----------------------------------------------------------------------------- waypoints
# Bulk appends skip pydantic on purpose: per-row model validation would cost more than the
# insert itself (the target is >= 0.5x raw sqlite3 executemany). The checks are WaypointIn's,
# done with plain comparisons on a fast path (NaN fails every comparison, so it is rejected);
# anything unusual goes through the slow path, which names the offending field.

#: ``(trip_key, seq, dt_us, lat_e7, lng_e7, acc_cm, speed_cms)``: the waypoint table's
#: column order, in ``tracker.fixcodec``'s fixed-point units.
WaypointRow = tuple[int, int, int, int, int, int | None, int | None]
MIN_US = 0  # MIN_TIME is the epoch
MAX_US = int((MAX_TIME - MIN_TIME).total_seconds()) * 1_000_000


def waypoint_rows(
    trip_key: int,
    first_seq: int,
    points: Iterable[WaypointIn | Mapping[str, Any] | Sequence[Any]],
    after_us: int | None,
    t0_us: int | None,
) -> tuple[list[WaypointRow], int | None]:
    """Check fixes and turn them into waypoint rows, numbered from ``first_seq``.

    Each point is a WaypointIn, a mapping, or a tuple (time, lat, lng[, accuracy[, speed]]).
    Times must strictly increase, also relative to ``after_us`` (the trip's last stored fix).
    Row times are offsets from ``t0_us`` (the track's time base; None: the first point's
    time). Returns the rows and that time base (None when there are no rows).
    Raises InvalidInputError naming ``waypoints[i].<field>``; nothing is returned then.
    """
    rows: list[WaypointRow] = []
    append = rows.append
    last = -1 if after_us is None else after_us
    epoch = MIN_TIME
    seq = first_seq
    base = t0_us
    floor = math.floor
    t: Any
    lat: Any
    lng: Any
    acc: Any
    spd: Any
    for index, point in enumerate(points):
        if type(point) is tuple and len(point) == 5:
            t, lat, lng, acc, spd = point
        else:
            t, lat, lng, acc, spd = _normalise(point, index)
        try:
            delta = t - epoch
            t_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        except (TypeError, AttributeError):
            raise InvalidInputError(
                f"waypoints[{index}].time", "must be a timezone-aware datetime"
            ) from None
        if not (
            type(lat) is float
            and type(lng) is float
            and -90.0 <= lat <= 90.0
            and -180.0 <= lng <= 180.0
            and (acc is None or (type(acc) is float and 0.0 <= acc <= 100_000.0))
            and (spd is None or (type(spd) is float and 0.0 <= spd <= 1_000.0))
        ):
            lat, lng, acc, spd = _check_numbers(index, lat, lng, acc, spd)
        if not last < t_us < MAX_US:
            _check_time(index, t_us, last)
        last = t_us
        if base is None:
            base = t_us
        # fixcodec.encode, inlined: this loop is the ingest rate (bench/ingest.py).
        append(
            (
                trip_key,
                seq,
                t_us - base,
                floor(lat * DEG_SCALE + 0.5),
                floor(lng * DEG_SCALE + 0.5),
                None if acc is None else floor(acc * ACC_SCALE + 0.5),
                None if spd is None else floor(spd * SPEED_SCALE + 0.5),
            )
        )
        seq += 1
    return rows, base


def _normalise(point: Any, index: int) -> tuple[Any, Any, Any, Any, Any]:
    if isinstance(point, WaypointIn):
        return point.time, point.lat, point.lng, point.accuracy, point.speed
    if isinstance(point, Mapping):
        return (
            point.get("time"),
            point.get("lat"),
            point.get("lng"),
            point.get("accuracy"),
            point.get("speed"),
        )
    if (
        isinstance(point, str | bytes)
        or not isinstance(point, Sequence)
        or not 3 <= len(point) <= 5
    ):
        raise InvalidInputError(
            f"waypoints[{index}]", "must be (time, lat, lng[, accuracy[, speed]])"
        )
    padded = (*point, None, None)
    return padded[0], padded[1], padded[2], padded[3], padded[4]


def _real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_numbers(
    index: int, lat: Any, lng: Any, acc: Any, spd: Any
) -> tuple[float, float, float | None, float | None]:
    if not _real(lat) or not -90.0 <= lat <= 90.0:
        raise InvalidInputError(f"waypoints[{index}].lat", "must be a number in [-90, 90]")
    if not _real(lng) or not -180.0 <= lng <= 180.0:
        raise InvalidInputError(f"waypoints[{index}].lng", "must be a number in [-180, 180]")
    if acc is not None and (not _real(acc) or not 0.0 <= acc <= 100_000.0):
        raise InvalidInputError(f"waypoints[{index}].accuracy", "must be in [0, 100000] m")
    if spd is not None and (not _real(spd) or not 0.0 <= spd <= 1_000.0):
        raise InvalidInputError(f"waypoints[{index}].speed", "must be in [0, 1000] m/s")
    return (
        float(lat),
        float(lng),
        None if acc is None else float(acc),
        None if spd is None else float(spd),
    )


def _check_time(index: int, t_us: int, last: int) -> None:
    if not MIN_US <= t_us < MAX_US:
        raise InvalidInputError(
            f"waypoints[{index}].time", "must be between 1970-01-01 and 2100-01-01"
        )
    if t_us <= last:
        raise InvalidInputError(
            f"waypoints[{index}].time", "must be later than the previous fix (time order)"
        )

"""The one settings object.

Read from, in order of precedence: keyword arguments, environment variables (prefix
``TRACKER_``; a group's fields join with one underscore, e.g. ``TRACKER_MILEAGE_URL`` sets
``mileage.url``), a TOML config file (``TRACKER_CONFIG``, else ``config.toml`` in the data
folder), then defaults. Apps that embed the library build ``Settings(...)`` directly.

Every field is listed in docs/configuration.md (a test keeps them in step).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Shared with the store's own small path (``tracker trip ...``, ``tracker status``), which
# reads its fields without pydantic-settings; kept importable from here.
from sync.storesettings import APP_NAME as APP_NAME
from sync.storesettings import StoreSettings, read_config_file
from sync.storesettings import config_file as config_file
from sync.storesettings import config_file_refusal as config_file_refusal
from sync.storesettings import default_home as default_home


class HttpSettings(BaseModel):
    """Transport discipline shared by both remote APIs."""

    connect_timeout: float = Field(5.0, gt=0, description="seconds to open a connection")
    read_timeout: float = Field(30.0, gt=0, description="seconds between two received bytes")
    deadline: float = Field(
        60.0, gt=0, description="total seconds one request may take, whatever the server does"
    )
    retries: int = Field(4, ge=0, le=20, description="in-run retries of a temporary failure")
    backoff_initial: float = Field(1.0, gt=0, description="first backoff delay, seconds")
    backoff_max: float = Field(60.0, gt=0, description="cap of one backoff delay, seconds")
    verify: bool | str = Field(
        True, description="TLS verification: true, or a CA bundle path; false is refused"
    )

    @field_validator("verify", mode="before")
    @classmethod
    def _tls_stays_on(cls, value: object) -> object:
        # From env or TOML "false" arrives as text: it must not become a CA path named "false".
        text = value.strip().lower() if isinstance(value, str) else value
        if text in (False, "false", "0", "no", "off", ""):
            raise ValueError("TLS verification cannot be turned off; pass a CA bundle path instead")
        if text in (True, "true", "1", "yes", "on"):
            return True
        return value


class MileageSettings(HttpSettings):
    """Tight v6 mileage API (push)."""

    url: str = Field("", description="Tight base URL, e.g. https://sandbox.tight.com")
    token: SecretStr | None = Field(None, description="a bearer access token")
    client_id: str | None = Field(None, description="OAuth client id (mints tokens)")
    client_secret: SecretStr | None = Field(None, description="OAuth client secret")
    user_id: str | None = Field(None, description="userId for client-credential tokens")
    batch_size: int = Field(100, ge=1, le=1000, description="items per POST /v6/mileage")
    rate_limit: int = Field(1000, ge=1, description="requests allowed per window per token")
    rate_window: float = Field(300.0, gt=0, description="rate-limit window, seconds")
    local_id_key: str = Field(
        "trackerLocalId", min_length=1, description="customData key carrying the local trip id"
    )
    status_business: str = Field("BUSINESS", description="mileageStatus for business trips")
    status_personal: str = Field("NOT_BUSINESS", description="mileageStatus for personal trips")
    status_unclassified: str = Field("PENDING", description="mileageStatus for unclassified")
    deduction_schedule: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="id of the rate schedule whose business rates make each trip's deduction "
        "(us-irs, uk-hmrc, ca-cra or one of TRACKER_RATE_SCHEDULES); unset = deduction not sent",
    )
    deduction_rate: Decimal | None = Field(
        None,
        ge=0,
        description="a flat rate in minor units per deduction_rate_unit, overriding "
        "deduction_schedule; unset = the schedule's rates",
    )
    deduction_rate_unit: Literal["mile", "km"] = Field(
        "mile", description="the distance unit deduction_rate is per"
    )
    kilometres_as: Literal["MILE", "KILOMETER"] = Field(
        "MILE", description="km trips are sent converted to MILE (documented) or as KILOMETER"
    )
    query_page_size: int = Field(
        100, ge=1, le=1000, description="limit of mileage queries (pull and reconcile)"
    )
    two_way: bool = Field(
        True, description="pull what changed on Tight and merge it before pushing"
    )
    pull_since: str = Field(
        "previous-year",
        pattern=r"^(previous-year|this-year|all|\d{4}-\d{2}-\d{2})$",
        description="oldest trip date the mileage pull walks: previous-year, this-year, all "
        "or a date",
    )
    reconcile_date_filter: bool = Field(
        True, description="narrow reconcile queries with a date filter (undocumented for mileage)"
    )
    max_attempts: int = Field(
        10, ge=1, description="a change failing this often with retryable errors is parked"
    )
    lease_seconds: float = Field(300.0, gt=0, description="how long claimed entries stay owned")


# The names of tracker.costs.treatment.CostTreatment (a test keeps them equal): importing
# tracker.costs here would load the store for every command that reads its settings.
CostTreatmentName = Literal["deductible", "in_rate", "never", "unclassified"]


class CostsSettings(HttpSettings):
    """Mobility platform business-mobile API (pull of additional costs)."""

    url: str = Field("", description="base URL ending in /api/business-mobile")
    token: SecretStr | None = Field(None, description="token sent in the auth header")
    auth_header: str = Field("Authorization", description="header that carries the token")
    auth_scheme: str = Field("Bearer", description="prefix before the token; empty for none")
    paging: Literal["page", "offset"] = Field("page", description="paging convention")
    page_param: str = Field("page", description="page-number query parameter")
    first_page: int = Field(1, ge=0, le=1, description="number of the first page (0 or 1)")
    size_param: str = Field("pageSize", description="page-size query parameter")
    offset_param: str = Field("offset", description="offset query parameter (offset paging)")
    limit_param: str = Field("limit", description="limit query parameter (offset paging)")
    page_size: int = Field(100, ge=1, le=10_000, description="items requested per page")
    items_key: str = Field("Items", description="envelope key of the items (bare arrays too)")
    total_key: str | None = Field("Total", description="envelope key of the total count")
    has_next_key: str | None = Field(None, description="envelope key of a has-next flag")
    total_header: str | None = Field(None, description="response header with the total count")
    max_pages: int = Field(10_000, ge=1, description="a pull stops with a warning past this")
    platform_timezone: str = Field("UTC", description="zone of 'YYYY-MM-DD HH:MM:SS' dates")
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="currency of Amount")
    language: str = Field("en", description="preferred language of cost labels")
    link_tolerance: float = Field(
        300.0, ge=0, description="seconds of slack when linking costs to trips by time"
    )
    treatments: dict[int, CostTreatmentName] = Field(
        default_factory=dict,
        description="tax treatment by cost type id (TypeID), as JSON: "
        '{"12": "deductible"}; deductible, in_rate, never or unclassified; wins over the '
        "treatment read from the type's labels",
    )


class ScheduleSettings(BaseModel):
    """Background sync (embedded scheduler and daemon)."""

    push_interval: float = Field(60.0, gt=0, description="seconds between push runs")
    pull_interval: float = Field(900.0, gt=0, description="seconds between pull runs")
    jitter: float = Field(5.0, ge=0, description="random seconds added to each run")
    soon_delay: float = Field(3.0, ge=0, description="debounce of the sync-soon trigger")
    lease_seconds: float = Field(120.0, gt=0, description="sync lease lifetime, renewed")
    integrity_interval: float = Field(
        86400.0,
        ge=0,
        description="seconds between full integrity checks of the file by the daemon (or an "
        "app's service), at low priority; 0: never",
    )
    gc_interval: float = Field(
        86400.0, gt=0, description="seconds between the daemon's journal gc runs (daily)"
    )
    account_turn: float = Field(
        2.0,
        gt=0,
        description="fleet mode (TRACKER_SYNC_ACCOUNTS=all): seconds one account pushes "
        "before the next account with work has its turn",
    )


class JournalSettings(BaseModel):
    """How long the change journal keeps what is done (``tracker gc``, the daemon's gc)."""

    retention_days: float = Field(
        30.0,
        ge=0,
        description="days a synced journal entry is kept before gc compacts it (the trip's "
        "history stays)",
    )


class Settings(BaseSettings, StoreSettings):
    """Everything trip-tracker can be told. See docs/configuration.md for each env var."""

    model_config = SettingsConfigDict(
        env_prefix="TRACKER_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    # home, timezone, distance_unit, max_accuracy, max_speed, synchronous, busy_timeout:
    # defined once, in StoreSettings (what the store commands read without this class).
    config: Path | None = Field(None, description="TOML config file")
    log_level: str = Field("WARNING", description="DEBUG, INFO, WARNING or ERROR")
    log_format: Literal["logfmt", "json"] = Field(
        "logfmt", description="log lines as logfmt key=value pairs or as JSON objects"
    )
    manual_budget: float = Field(
        30.0,
        gt=0,
        description="seconds a sync asked for by hand (tracker sync) may take in total; "
        "what is left stays queued (the daemon keeps its own schedule)",
    )
    manual_connect_tries: int = Field(
        2,
        ge=1,
        le=21,
        description="tries of a request whose server cannot be connected to, in a sync asked "
        "for by hand: offline is said in seconds (the daemon keeps its retries)",
    )
    sync_accounts: Literal["implicit", "all"] = Field(
        "implicit",
        description="whose trips the daemon and a plain tracker sync sync: the implicit "
        "account's, or (fleet mode) every active account's, in turns",
    )
    sync_conflicts: Literal["ask", "local", "remote"] = Field(
        "ask",
        description="a trip changed here and on Tight differently: ask (hold it), or keep "
        "the local or the remote value",
    )

    rate_schedules: Path | None = Field(
        None,
        description="TOML file of your own mileage rate schedules, in the shape of the "
        "shipped ones (docs/tax-rates.md); read by tracker.rates.load_schedules",
    )

    mileage: MileageSettings = Field(default_factory=MileageSettings)
    costs: CostsSettings = Field(default_factory=CostsSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)

    @property
    def config_path(self) -> Path | None:
        """The config file these settings read (``config``, else ``config.toml`` in the
        data folder when it exists), or None."""
        if self.config is not None:
            return self.config
        candidate = self.home / "config.toml"
        return candidate if candidate.is_file() else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        given = getattr(init_settings, "init_kwargs", {})
        return (
            init_settings,
            env_settings,
            TrustedTomlSource(settings_cls, toml_file=config_file(given)),
        )


class TrustedTomlSource(TomlConfigSettingsSource):
    """The TOML source, but a file someone else could have written is refused, not read.

    The checks run on the opened file (``fstat``), so the file judged is the file parsed.
    """

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return read_config_file(file_path)


def unreadable_env(field: str, environ: Mapping[str, str]) -> list[str]:
    """The environment variables of settings section ``field`` that hold a JSON value (a
    mapping or a list) which does not parse: what pydantic-settings' "error parsing value for
    field" is about, named as a person typed them. Empty when none can be named."""
    info = Settings.model_fields.get(field)
    if info is None:
        return []
    model = info.annotation
    prefix = f"TRACKER_{field}".upper()
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        candidates = {prefix: info.annotation}
    else:
        candidates = {
            f"{prefix}_{name}".upper(): sub.annotation for name, sub in model.model_fields.items()
        }
    upper = {key.upper(): value for key, value in environ.items()}
    found = []
    for name, annotation in candidates.items():
        if get_origin(annotation) not in (dict, list) or name not in upper:
            continue
        try:
            json.loads(upper[name])
        except ValueError:
            found.append(name)
    return found

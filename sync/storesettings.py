"""The settings a command that only opens the store reads, without building ``Settings``.

``tracker trip ...`` and ``tracker status`` need the data folder, the time zone and the
store's options, nothing of the network groups. :class:`~sync.settings.Settings` goes through
pydantic-settings (which imports asyncio) and validates every group: ~30 ms of each such
command's start-up (issue 15). :func:`read_store_settings` reads the same fields from the same
places in the same order (environment variables ``TRACKER_*``, names in any case, then the
config file, then the defaults), refuses the same config files with the same words, and
validates with the same field definitions (a test compares it with ``Settings`` for every
field, over environment and config-file inputs).

A bad setting of a group these commands do not read (``TRACKER_MILEAGE_*`` ...) is reported
by the commands that use it (docs/configuration.md).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from sync.errors import ConfigError

__all__ = [
    "APP_NAME",
    "STORE_FIELDS",
    "StoreSettings",
    "config_file",
    "config_file_refusal",
    "default_home",
    "invalid_setting",
    "read_config_file",
    "read_store_settings",
    "store_values",
]

APP_NAME = "trip-tracker"


def default_home() -> Path:
    """The platform's per-user data folder (platformdirs), used when TRACKER_HOME is unset."""
    import platformdirs

    return Path(platformdirs.user_data_path(APP_NAME))


class StoreSettings(BaseModel):
    """The fields of :class:`~sync.settings.Settings` that opening the store reads. They are
    defined here only: ``Settings`` inherits them."""

    home: Path = Field(default_factory=default_home, description="data folder (DB, logs)")
    timezone: str | None = Field(None, description="IANA zone for trip dates; default: system")
    distance_unit: Literal["km", "mile"] = Field("km", description="unit of computed distances")
    max_accuracy: float = Field(50.0, gt=0, description="drop GPS fixes less accurate (m)")
    max_speed: float = Field(250.0, gt=0, description="drop fixes implying a faster jump (km/h)")
    synchronous: Literal["FULL", "NORMAL"] = Field("FULL", description="SQLite synchronous")
    busy_timeout: float = Field(5.0, ge=0, description="seconds to wait for the write lock")
    database_url: SecretStr | None = Field(
        None, description="postgresql+psycopg://... : the store on PostgreSQL (fleet mode)"
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        # Unset (or empty): the SQLite file in the data folder, as always.
        if value is None or not value.get_secret_value():
            return None
        scheme = value.get_secret_value().split("://", 1)[0].lower()
        if scheme != "postgresql" and not scheme.startswith("postgresql+"):
            raise ValueError("must be a postgresql+psycopg://user@host/dbname URL (or unset)")
        return value

    @property
    def db_path(self) -> Path:
        """The SQLite file inside the data folder."""
        return self.home / "tracker.db"


STORE_FIELDS: tuple[str, ...] = tuple(StoreSettings.model_fields)
"""The fields read, in the order ``Settings`` declares them (the first invalid one is named)."""


def config_file_refusal(mode: int, owner: int, me: int) -> str | None:
    """Why a config file with this ``st_mode`` and owner uid must not be read, or None.

    A config file names the servers the tokens go to, so, as ssh does with its own files, it
    must be a regular file that only its owner can write, owned by the current user (or by
    root, who could change anything anyway). ``me`` is the current effective uid.
    """
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    if owner not in (me, 0):
        return f"is owned by another user (uid {owner})"
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by others (mode {stat.S_IMODE(mode):04o})"
    return None


def read_config_file(file_path: Any) -> dict[str, Any]:
    """The TOML config file's values; a file someone else could have written is refused, not
    read (the checks run on the opened file, so the file judged is the file parsed)."""
    import tomllib

    try:
        with open(file_path, "rb") as handle:
            info = os.fstat(handle.fileno())
            why = config_file_refusal(info.st_mode, info.st_uid, os.geteuid())
            if why is not None:
                raise ConfigError(
                    f"config file {file_path} {why}: refused, nothing read; make it "
                    f"yours and writable only by you (chmod 600 {file_path})"
                )
            data = handle.read()
    except OSError as err:
        raise ConfigError(f"cannot read config file {file_path}: {err.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"config file {file_path} is not valid TOML: {err}") from None


def config_file(given: Mapping[str, Any] | None = None) -> Path | None:
    """The config file the settings read: ``config`` as given (keyword, else
    ``TRACKER_CONFIG``), else ``config.toml`` in the data folder (``home`` as given, else
    ``TRACKER_HOME``, else the platform's) when it exists."""
    given = given or {}
    explicit = given.get("config") or os.environ.get("TRACKER_CONFIG")
    if explicit:
        return Path(explicit)
    home = given.get("home") or os.environ.get("TRACKER_HOME")
    candidate = (Path(home) if home else default_home()) / "config.toml"
    return candidate if candidate.is_file() else None


def invalid_setting(err: ValidationError) -> ConfigError:
    """The first validation error as the command line says it: the variable to fix."""
    first = err.errors()[0]
    name = "TRACKER_" + "_".join(str(p) for p in first["loc"]).upper()
    return ConfigError(
        f"invalid setting {name}: {first['msg']}; fix the environment or config file"
    )


def store_values(environ: Mapping[str, str], file_values: Mapping[str, Any]) -> dict[str, Any]:
    """The raw value of each store field by precedence: the environment (``TRACKER_`` and
    the field's name, in any case), then the config file (the field's name, in any case);
    a field in neither is left to its default. Pure: no I/O."""
    env = {key.lower(): value for key, value in environ.items()}
    from_file = {str(key).lower(): value for key, value in file_values.items()}
    values: dict[str, Any] = {}
    for name in STORE_FIELDS:
        if f"tracker_{name}" in env:
            values[name] = env[f"tracker_{name}"]
        elif name in from_file:
            values[name] = from_file[name]
    return values


def read_store_settings() -> StoreSettings:
    """The store's settings from the environment and the config file, as ``Settings()``
    reads them; an invalid one, or a config file refused or unreadable, is a ConfigError."""
    path = config_file()
    file_values: dict[str, Any] = {}
    if path is not None and path.expanduser().is_file():  # as pydantic-settings reads it
        file_values = read_config_file(path.expanduser())
    try:
        return StoreSettings(**store_values(os.environ, file_values))
    except ValidationError as err:
        raise invalid_setting(err) from None

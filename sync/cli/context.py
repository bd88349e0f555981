"""Settings and the store, built once per command (imports kept lazy for a fast --help)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.errors import ConfigError

if TYPE_CHECKING:
    from sync.settings import Settings
    from sync.storesettings import StoreSettings
    from tracker.store import Tracker


def load_settings() -> Settings:
    """Read settings (env, config file); a bad value becomes a ConfigError naming it."""
    import os

    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from sync.settings import Settings, unreadable_env
    from sync.storesettings import invalid_setting

    try:
        return Settings()
    except SettingsError as err:
        # A JSON-valued setting (a mapping such as TRACKER_COSTS_TREATMENTS) that does not
        # parse; pydantic-settings names only its section.
        section = str(err).split('"')[1] if str(err).count('"') >= 2 else ""
        names = unreadable_env(section, os.environ) or [f"TRACKER_{section.upper()}_*"]
        raise ConfigError(
            f"invalid setting {', '.join(names)}: not valid JSON ({err.__cause__}); "
            "fix the environment or config file"
        ) from None
    except ValidationError as err:
        raise invalid_setting(err) from None


def load_store_settings() -> StoreSettings:
    """Only the settings opening the store reads (data folder, zone, store options), for the
    commands that need nothing else: read without building ``Settings`` (issue 15,
    start-up; :mod:`sync.storesettings`)."""
    from sync.storesettings import read_store_settings

    return read_store_settings()


def open_store(settings: Settings | StoreSettings) -> Tracker:
    """Open the database named by the settings (as ``sync.open_app`` does)."""
    from sync.app import open_store as open_settings_store

    return open_settings_store(settings)

"""The store's small settings path (``sync.storesettings``, issue 15 start-up) reads every
field it has exactly as ``Settings`` does: same definitions, same precedence (environment,
then config file, then defaults), same refusals and the same words for an invalid value."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sync.cli.context import load_settings, load_store_settings
from sync.errors import ConfigError
from sync.settings import Settings
from sync.storesettings import STORE_FIELDS, StoreSettings, store_values
from tests.helpers.cli import modules_loaded, run


def test_every_field_is_defined_as_settings_defines_it() -> None:
    full = Settings.model_fields
    for name in STORE_FIELDS:
        mine, theirs = StoreSettings.model_fields[name], full[name]
        assert mine.annotation == theirs.annotation, name
        assert mine.default == theirs.default, name
        assert mine.default_factory is theirs.default_factory, name
        assert mine.metadata == theirs.metadata, name
        assert mine.description == theirs.description, name
    # Same order, so that the first invalid field named is the same.
    assert list(STORE_FIELDS) == [name for name in full if name in STORE_FIELDS]


def test_the_environment_wins_over_the_file_in_any_case_and_nothing_else_is_taken() -> None:
    environ = {"TRACKER_TIMEZONE": "Europe/Berlin", "tracker_max_speed": "90", "HOME": "/x"}
    file_values: dict[str, Any] = {"timezone": "UTC", "Busy_Timeout": 2, "mileage": {"url": "u"}}
    assert store_values(environ, file_values) == {
        "timezone": "Europe/Berlin",
        "max_speed": "90",
        "busy_timeout": 2,
    }
    assert store_values({}, {}) == {}


def _config(home: Path, text: str, mode: int = 0o600) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def _both() -> tuple[object, object]:
    """What each path gives: its values for the store's fields, or its ConfigError's words."""
    results: list[object] = []
    for load in (load_settings, load_store_settings):
        try:
            got = load()
        except ConfigError as err:
            results.append(("error", str(err)))
        else:
            results.append({name: getattr(got, name) for name in STORE_FIELDS})
    return results[0], results[1]


CASES: list[tuple[dict[str, str], str]] = [
    ({}, ""),  # defaults (home from the environment)
    ({"TRACKER_TIMEZONE": "Asia/Tokyo", "TRACKER_DISTANCE_UNIT": "mile"}, ""),
    ({}, 'timezone = "Europe/Berlin"\nmax_accuracy = 20\nsynchronous = "NORMAL"\n'),
    ({"TRACKER_MAX_ACCURACY": "35.5"}, "max_accuracy = 20\nbusy_timeout = 1\n"),
    ({"tracker_busy_timeout": "0"}, 'distance_unit = "mile"\n'),
    ({}, "MAX_SPEED = 120\n"),
    ({"TRACKER_DISTANCE_UNIT": "miles"}, ""),
    ({"TRACKER_MAX_SPEED": "0"}, ""),
    ({"TRACKER_BUSY_TIMEOUT": "soon"}, ""),
    ({}, 'synchronous = "OFF"\n'),
    ({"TRACKER_MAX_SPEED": "-1"}, "max_accuracy = -5\n"),  # two invalid: the first is named
    ({"TRACKER_SYNCHRONOUS": "NORMAL"}, 'synchronous = "OFF"\n'),  # the environment wins
    ({}, "timezone = [1, 2]\n"),
    ({}, "this is not toml"),
]


@pytest.mark.parametrize(("env", "toml"), CASES)
def test_the_small_path_reads_what_settings_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], toml: str
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TRACKER_HOME", str(home))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if toml:
        _config(home, toml)
    full, small = _both()
    assert small == full


def test_an_explicit_config_file_and_a_home_from_it_are_read_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    path = _config(tmp_path / "conf", f'home = "{elsewhere}"\ntimezone = "America/Denver"\n')
    monkeypatch.setenv("TRACKER_CONFIG", str(path))
    monkeypatch.delenv("TRACKER_HOME", raising=False)  # the file's home, then
    full, small = _both()
    assert small == full
    assert isinstance(small, dict) and small["home"] == elsewhere
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "missing.toml"))  # not there: defaults
    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "h"))
    assert _both()[1] == _both()[0]


def test_a_config_file_others_can_write_is_refused_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TRACKER_HOME", str(home))
    _config(home, 'timezone = "UTC"\n', mode=0o666)
    full, small = _both()
    assert small == full
    assert isinstance(small, tuple) and "writable by others" in str(small[1])


def test_store_commands_exit_78_for_their_own_settings_and_not_for_the_network_s(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRACKER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRACKER_MAX_SPEED", "0")
    code, out, err = run(capsys, "trip", "list")
    assert (code, out) == (78, "")
    assert err.startswith("error: invalid setting TRACKER_MAX_SPEED: Input should be greater")
    assert run(capsys, "status")[0] == 78
    monkeypatch.delenv("TRACKER_MAX_SPEED")
    # A network setting is checked by the commands that use it, not by a local read.
    monkeypatch.setenv("TRACKER_MILEAGE_BATCH_SIZE", "0")
    assert run(capsys, "trip", "add", "--date", "2026-03-01", "--distance", "3")[0] == 0
    assert run(capsys, "status")[0] == 0
    code, _, err = run(capsys, "sync", "--push", "--dry-run")
    assert code == 78 and "TRACKER_MILEAGE_BATCH_SIZE" in err


def test_store_commands_do_not_load_pydantic_settings(tmp_path: Path) -> None:
    env = {**os.environ, "TRACKER_HOME": str(tmp_path / "home")}
    argvs = [
        ["status"],
        ["trip", "add", "--date", "2026-03-01", "--distance", "3"],
        ["trip", "list"],
    ]
    codes, loaded, out = modules_loaded(argvs, ("pydantic_settings", "sync.settings"), env)
    assert codes == [0, 0, 0], out
    assert loaded == [], out

"""Rate schedules read from TOML: the ones shipped in the package (``tracker/rates/data``,
read through ``importlib.resources`` so an installed wheel finds them) and the user's own
file. Every problem is a :class:`RateScheduleError` naming the file and the entry."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tracker.errors import RateScheduleError
from tracker.rates.schedule import Rate, Schedule, ScheduleFile, Tier

__all__ = ["load_schedules", "parse_schedules", "shipped_schedules"]

_FIELDS = sorted({*Schedule.model_fields, *Rate.model_fields, *Tier.model_fields, "schedules"})


def parse_schedules(text: str, where: str, *, among_settings: bool = False) -> tuple[Schedule, ...]:
    """The schedules of one file's ``text``; ``where`` names the file in errors.
    ``among_settings``: the file is the config file, whose other keys are settings (only its
    ``[[schedules]]`` are read here)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RateScheduleError(where, "", f"is not valid TOML ({err})") from None
    if among_settings:
        raw = {"schedules": raw.get("schedules", [])}
    try:
        return ScheduleFile.model_validate(raw).schedules
    except ValidationError as err:
        problems = _problems(err)
        entry, reason = _describe(raw, problems[0])
        more = len(problems) - 1
        if more:
            reason += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
        raise RateScheduleError(where, entry, reason) from None


def _problems(err: ValidationError) -> list[Any]:
    """The errors, a misspelt field first. The "missing" error of the field it was meant to
    be is the same mistake, and so is a list's "too short" when its entry failed: dropped."""
    errors = err.errors()
    meant = {
        (*e["loc"][:-1], close[0])
        for e in errors
        if e["type"] == "extra_forbidden"
        for close in [difflib.get_close_matches(str(e["loc"][-1]), _FIELDS, n=1)]
        if close
    }
    kept = [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in meant)]
    # A list left empty because its only entry failed is a consequence, not a problem.
    locs = [tuple(e["loc"]) for e in kept]
    kept = [
        e
        for e in kept
        if not any(
            len(other) > len(e["loc"]) and other[: len(e["loc"])] == tuple(e["loc"])
            for other in locs
        )
    ]
    return sorted(kept, key=lambda e: e["type"] != "extra_forbidden")


def _describe(raw: dict[str, Any], error: Any) -> tuple[str, str]:
    """Where an error is (``schedules[0] (acme).rates[2].valid_form``) and what it is."""
    loc = list(error["loc"])
    parts: list[str] = []
    node: Any = raw
    for step in loc:
        if isinstance(step, int):
            parts[-1] += f"[{step}]"
        else:
            parts.append(str(step))
        node = node[step] if isinstance(node, dict | list) and _has(node, step) else None
        if parts[-1].startswith("schedules[") and isinstance(node, dict) and "id" in node:
            parts[-1] += f" ({node['id']})"
    entry = ".".join(parts)
    if error["type"] == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, _FIELDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return entry, f"unknown field {name!r}{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is missing"
    return entry, message


def _has(node: dict[str, Any] | list[Any], step: str | int) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(step, int) and 0 <= step < len(node)


def shipped_schedules() -> tuple[Schedule, ...]:
    """Every schedule shipped with the package, in file-name order."""
    data = files("tracker.rates").joinpath("data")
    found = sorted((item for item in data.iterdir() if item.name.endswith(".toml")), key=str)
    return tuple(
        schedule
        for item in found
        for schedule in parse_schedules(item.read_text(encoding="utf-8"), f"(shipped) {item.name}")
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise RateScheduleError(str(path), "", f"cannot be read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise RateScheduleError(str(path), "", "is not UTF-8 text") from None


def load_schedules(extra: Path | None = None, *, config: Path | None = None) -> dict[str, Schedule]:
    """The shipped schedules, those of the user's file ``extra`` (the same shape) and the
    ``[[schedules]]`` of the config file ``config``, by id. An id used twice is refused: a
    custom schedule takes a new id."""
    found: dict[str, Schedule] = {}
    origin: dict[str, str] = {}

    def add(schedules: Iterable[Schedule], where: str) -> None:
        for index, schedule in enumerate(schedules):
            if schedule.id in found:
                raise RateScheduleError(
                    where,
                    f"schedules[{index}] ({schedule.id})",
                    f"id {schedule.id!r} is already used by {origin[schedule.id]}; "
                    "give this schedule another id",
                )
            found[schedule.id] = schedule
            origin[schedule.id] = where

    add(shipped_schedules(), "a shipped schedule")
    if extra is not None:
        add(parse_schedules(_read(extra), str(extra)), str(extra))
    if config is not None and config != extra:
        where = f"{config} (the config file)"
        add(parse_schedules(_read(config), where, among_settings=True), where)
    return found

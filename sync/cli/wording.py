"""Errors in the words of the command line: the flag a person typed, not the model's field.

The library names fields as its input models do (``start_time``, ``car_id``, ``start.lat``);
the CLI says ``--start-time``, ``--car``, ``--lat``. Pure: tested directly.
"""

from __future__ import annotations

import re

from tracker.errors import InvalidInputError

__all__ = ["FLAGS", "in_flags"]

FLAGS = {
    "date": "--date",
    "start_time": "--start-time",
    "end_time": "--end-time",
    "distance": "--distance",
    "unit": "--unit",
    "classification": "-c/--classification",
    "description": "-d/--description",
    "notes": "--notes",
    "car_id": "--car",
    "customer_id": "--customer",
    "class_segment_ids": "--segment",
    "start.lat": "--lat",
    "start.lng": "--lng",
    "year": "--year",  # tracker report
    "jurisdiction": "--jurisdiction",
}
"""Input-model field -> the option that sets it (``trip add``, ``start``, ``edit``)."""

# Field names with an underscore never read as words: safe to replace in any reason. The
# others (date, unit...) are replaced only in our own whole-input reasons ("give a date or a
# start_time"), never in a validator's ("Input should be a valid date").
_NAMES = re.compile(r"\b(" + "|".join(re.escape(k) for k in FLAGS if "_" in k) + r")\b")
_ALL_NAMES = re.compile(r"(?<![\w.-])(" + "|".join(re.escape(k) for k in FLAGS) + r")\b")


def in_flags(err: InvalidInputError) -> str:
    """The error's one line with fields named as flags (``invalid --start-time: ...``)."""
    if err.field == "input":  # the input as a whole: the reason names what to give
        return "invalid input: " + _ALL_NAMES.sub(lambda m: FLAGS[m.group(1)], err.reason)
    reason = _NAMES.sub(lambda m: FLAGS[m.group(1)], err.reason)
    return f"invalid {FLAGS.get(err.field, err.field)}: {reason}"

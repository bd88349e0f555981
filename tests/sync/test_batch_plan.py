"""The save request is joined from its items' texts (each body encoded once, the trip keeps
the same text): the bytes are those of encoding the whole request at once."""

from __future__ import annotations

import json
from typing import Any

from sync.tight.batch import Item, encode
from tracker.claims import Claimed


def _item(body: dict[str, Any]) -> Item:
    claim = Claimed(1, "t-1", "save", 1, False, None, None)  # type: ignore[arg-type]
    return Item(claim, None, body, None, json.dumps(body, allow_nan=False, ensure_ascii=False))


def test_joined_texts_are_the_bytes_of_one_encoding() -> None:
    bodies = [{"notes": "Köln, 5 €", "distance": 1.5, "classSegmentIds": []}, {"x": None}]
    whole = json.dumps({"data": bodies}, allow_nan=False, ensure_ascii=False).encode("utf-8")
    assert encode([_item(b) for b in bodies]) == whole
    assert encode([_item(bodies[0])]) == json.dumps(
        {"data": bodies[:1]}, ensure_ascii=False
    ).encode("utf-8")

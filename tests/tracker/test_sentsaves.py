"""The bodies a trip keeps of its saves sent since their last recorded answer."""

from __future__ import annotations

import json

from tracker.sentsaves import KEEP, sent_bodies, with_sent


def test_nothing_kept_reads_as_no_bodies() -> None:
    assert sent_bodies(None) == []
    assert sent_bodies("garbage") == []


def test_a_single_object_from_before_the_list_reads_as_one_body() -> None:
    assert sent_bodies({"notes": "a"}) == [{"notes": "a"}]


def test_bodies_are_kept_oldest_first_and_each_once() -> None:
    stored = json.loads(with_sent(None, json.dumps({"notes": "a"})))
    stored = json.loads(with_sent(stored, json.dumps({"notes": "b"})))
    stored = json.loads(with_sent(stored, json.dumps({"notes": "a"})))  # sent again
    assert sent_bodies(stored) == [{"notes": "b"}, {"notes": "a"}]


def test_the_oldest_bodies_drop_out_past_the_bound() -> None:
    stored = None
    for i in range(KEEP + 3):
        stored = json.loads(with_sent(stored, json.dumps({"notes": str(i)})))
    kept = sent_bodies(stored)
    assert len(kept) == KEEP
    assert kept[0] == {"notes": "3"} and kept[-1] == {"notes": str(KEEP + 2)}


def test_an_object_kept_before_the_list_is_carried_into_it() -> None:
    stored = json.loads(with_sent({"notes": "old"}, json.dumps({"notes": "new"})))
    assert sent_bodies(stored) == [{"notes": "old"}, {"notes": "new"}]

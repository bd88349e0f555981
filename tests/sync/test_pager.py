"""Pager contract: every strategy, every envelope, every end signal, the guards, checkpoints.

Pages come from a fake server over a plain Python list, serialised through real
``httpx.Response`` objects and decoded by ``decode_page`` (no network here).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.costs.pager import (
    CheckpointMismatchError,
    Paginator,
    Params,
    StopReason,
    aligned_size,
    walk,
)
from sync.costs.pages import PageResult, decode_page, page_fingerprint
from sync.costs.strategies import (
    OffsetPaginator,
    PageNumberPaginator,
    after_short_page,
    paginator_from_settings,
)
from sync.errors import ProtocolError, TransientRemoteError
from sync.settings import CostsSettings

Convention = Literal["page0", "page1", "offset"]
Shape = Literal["bare", "total", "has_next", "header_total"]
CONVENTIONS: list[Convention] = ["page0", "page1", "offset"]
SHAPES: list[Shape] = ["bare", "total", "has_next", "header_total"]

# How each shape is configured on the client side (CostsSettings field names).
DECODE_KEYS: dict[Shape, dict[str, Any]] = {
    "bare": {"items_key": "Items", "total_key": "Total"},
    "total": {"items_key": "Items", "total_key": "Total"},
    # Lower-case keys on the wire, PascalCase in the settings: matched case-insensitively.
    "has_next": {"items_key": "Items", "total_key": "Total", "has_next_key": "HasMore"},
    "header_total": {"items_key": "Items", "total_header": "X-Total-Count"},
}


def costs(n: int) -> list[dict[str, Any]]:
    return [{"ID": i, "Amount": f"{i}.50", "Labels": '{"en": "Toll"}'} for i in range(1, n + 1)]


def make_pager(convention: Convention, page_size: int = 100, max_pages: int = 10_000) -> Paginator:
    if convention == "offset":
        return OffsetPaginator("offset", "limit", page_size=page_size, max_pages=max_pages)
    first = 0 if convention == "page0" else 1
    return PageNumberPaginator("page", "pageSize", first, page_size=page_size, max_pages=max_pages)


@dataclass
class FakeServer:
    """A list endpoint over ``data`` speaking one paging convention and one response shape."""

    data: list[dict[str, Any]]
    convention: Convention
    shape: Shape
    cap: int | None = None  # the server's own page-size cap
    ignores_paging: bool = False  # returns the first page whatever is asked
    wraps_around: bool = False  # past the end, starts again from the first page
    requests: list[Params] = field(default_factory=list)

    def window(self, params: Params) -> tuple[int, int]:
        if self.convention == "offset":
            start, size = int(params["offset"]), int(params["limit"])
            size = min(size, self.cap or size)
        else:
            size = int(params["pageSize"])
            size = min(size, self.cap or size)
            first = 0 if self.convention == "page0" else 1
            start = (int(params["page"]) - first) * size
        if self.ignores_paging or (self.wraps_around and start >= len(self.data)):
            start = 0
        return start, size

    def respond(self, params: Params) -> httpx.Response:
        self.requests.append(dict(params))
        start, size = self.window(params)
        items = self.data[start : start + size]
        more = start + len(items) < len(self.data)
        if self.shape == "bare":
            return httpx.Response(200, json=items)
        if self.shape == "total":
            return httpx.Response(200, json={"Items": items, "Total": len(self.data)})
        if self.shape == "has_next":
            return httpx.Response(200, json={"items": items, "hasMore": more})
        return httpx.Response(200, json=items, headers={"X-Total-Count": str(len(self.data))})

    def __call__(self, params: Params) -> PageResult:
        response = self.respond(params)
        return decode_page(
            response.status_code, response.headers, response.json(), **DECODE_KEYS[self.shape]
        )


def read_all(pager: Paginator, fetch: Callable[[Params], PageResult]) -> list[Any]:
    return [item for page in walk(pager, fetch) for item in page.items]


# ---------------------------------------------------------------- the contract suite


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("n", [0, 1, 99, 100, 101, 250, 300])
def test_every_item_is_read_exactly_once_in_order(
    convention: Convention, shape: Shape, n: int
) -> None:
    data = costs(n)
    server = FakeServer(data, convention, shape)
    pager = make_pager(convention)
    assert read_all(pager, server) == data
    assert pager.complete
    assert pager.warning() is None
    assert pager.items_read == n

    full_pages, rest = divmod(n, 100)
    if n == 0:
        expected_reason, expected_requests = StopReason.EMPTY_PAGE, 1
    elif shape == "bare":
        # No signal of its own: the walk ends only on an empty page, one request after the
        # last page (a short page may be a server cap, not the end).
        expected_reason = StopReason.EMPTY_PAGE
        expected_requests = full_pages + (2 if rest else 1)
    elif shape == "has_next":
        expected_reason, expected_requests = StopReason.HAS_NEXT_FALSE, math.ceil(n / 100)
    else:
        expected_reason, expected_requests = StopReason.TOTAL_REACHED, math.ceil(n / 100)
    assert pager.stop_reason is expected_reason
    assert len(server.requests) == expected_requests


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_requests_follow_the_convention(convention: Convention) -> None:
    server = FakeServer(costs(250), convention, "total")
    read_all(make_pager(convention), server)
    if convention == "offset":
        assert server.requests == [{"offset": o, "limit": 100} for o in (0, 100, 200)]
    else:
        first = 0 if convention == "page0" else 1
        assert server.requests == [{"page": first + k, "pageSize": 100} for k in range(3)]


@pytest.mark.parametrize("shape", ["total", "has_next", "header_total"])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_server_capping_the_page_size_below_ours_is_read_fully_when_a_total_or_flag_exists(
    convention: Convention, shape: Shape
) -> None:
    # We ask 100, the server returns 30 per page: short pages are not the end here.
    data = costs(250)
    server = FakeServer(data, convention, shape, cap=30)
    pager = make_pager(convention, page_size=100)
    assert read_all(pager, server) == data
    assert pager.complete
    assert len(server.requests) == math.ceil(250 / 30)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_without_total_or_flag_a_server_cap_is_followed_to_the_empty_page(
    convention: Convention,
) -> None:
    # A bare array has no end signal but an empty page: a short page is a cap to follow.
    data = costs(250)
    server = FakeServer(data, convention, "bare", cap=30)
    pager = make_pager(convention, page_size=100)
    assert read_all(pager, server) == data
    assert (pager.stop_reason, pager.complete) == (StopReason.EMPTY_PAGE, True)
    assert len(server.requests) == math.ceil(250 / 30) + 1


@pytest.mark.parametrize("numbering", ["asked", "given"])
@pytest.mark.parametrize("first", [0, 1])
def test_a_capping_server_is_read_without_a_gap_however_it_numbers_pages(
    numbering: str, first: int
) -> None:
    # A capping server may place page N at N * size asked ("asked": page 1 of 100 starts at
    # 100 though only 50 came) or at N * size given: after learning the cap, the walk asks
    # for the cap itself, where both agree.
    data = costs(236)

    def fetch(params: Params) -> PageResult:
        asked = int(params["pageSize"])
        given = min(asked, 50)
        start = (int(params["page"]) - first) * (asked if numbering == "asked" else given)
        return PageResult(data[start : start + given], total=len(data))

    pager = make_pager("page0" if first == 0 else "page1", page_size=100)
    assert read_all(pager, fetch) == data
    assert pager.stop_reason is StopReason.TOTAL_REACHED


@pytest.mark.parametrize(
    ("items_read", "limit", "size"),
    [(50, 50, 50), (236, 36, 4), (7, 3, 1), (100, 30, 25), (1, 100, 1), (0, 10, 10)],
)
def test_aligned_size_divides_what_was_read(items_read: int, limit: int, size: int) -> None:
    assert aligned_size(items_read, limit) == size


def test_after_a_short_page_the_next_page_starts_after_the_items_read() -> None:
    assert after_short_page(0, 50, 50) == (1, 50)
    assert after_short_page(1, 236, 36) == (60, 4)  # page 60 of 4, 1-based: items 236..239


def test_a_list_ending_below_its_announced_total_is_incomplete() -> None:
    pager = make_pager("page1", page_size=10)
    pager.advance(PageResult([{"ID": n} for n in range(10)], total=30))
    pager.advance(PageResult([], total=30))
    assert pager.stop_reason is StopReason.SHORT_OF_TOTAL
    assert not pager.complete
    assert "announced 30" in (pager.warning() or "")
    # The same with a has-next flag saying "no more" early.
    pager = make_pager("offset", page_size=10)
    pager.advance(PageResult([{"ID": n} for n in range(10)], total=30, has_next=False))
    assert pager.stop_reason is StopReason.SHORT_OF_TOTAL


# ---------------------------------------------------------------- guards


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_server_ignoring_the_paging_parameter_stops_after_reading_page_one_once(
    convention: Convention, shape: Shape
) -> None:
    data = costs(250)
    server = FakeServer(data, convention, shape, ignores_paging=True)
    pager = make_pager(convention)
    assert read_all(pager, server) == data[:100]
    assert pager.stop_reason is StopReason.REPEATED_PAGE
    assert not pager.complete
    assert pager.accepted is False
    assert "already read" in (pager.warning() or "")
    assert len(server.requests) == 2
    assert pager.pages_read == 1


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_server_wrapping_around_to_page_one_is_caught(convention: Convention) -> None:
    # No total and the list ends on a full page: the page after the last is page 1 again,
    # which is not the *previous* page, but was read in this walk.
    data = costs(300)
    server = FakeServer(data, convention, "bare", wraps_around=True)
    pager = make_pager(convention)
    assert read_all(pager, server) == data
    assert pager.stop_reason is StopReason.REPEATED_PAGE
    assert len(server.requests) == 4


def test_pages_sharing_a_first_id_are_not_taken_for_a_repeat() -> None:
    # The fingerprint covers the whole page, not just its first ID.
    pages = [
        [{"ID": 1, "Amount": "1.00"}, {"ID": 2}],
        [{"ID": 1, "Amount": "1.00"}, {"ID": 3}],
        [],
    ]
    pager = make_pager("page1", page_size=2)
    got = read_all(pager, lambda params: PageResult(pages[int(params["page"]) - 1]))
    assert len(got) == 4
    assert pager.stop_reason is StopReason.EMPTY_PAGE


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert page_fingerprint([{"a": 1, "b": 2}]) == page_fingerprint([{"b": 2, "a": 1}])
    assert page_fingerprint([{"a": 1, "b": 2}]) != page_fingerprint([{"a": 1, "b": 3}])
    assert page_fingerprint([{"a": 1}, {"b": 2}]) != page_fingerprint([{"b": 2}, {"a": 1}])
    assert page_fingerprint(["\ud800 lone surrogate"])  # odd text still hashes


def test_fingerprint_of_costs_is_their_versions() -> None:
    one = {"ID": 7, "LastUpdated": "2026-03-01 10:00:00", "Amount": 1}
    # The same cost version in another spelling (another amount would be a new version).
    assert page_fingerprint([one]) == page_fingerprint([{**one, "Amount": 1.0, "Notes": None}])
    assert page_fingerprint([one]) != page_fingerprint([{**one, "LastUpdated": "2026-03-02"}])
    assert page_fingerprint([one]) != page_fingerprint([{**one, "ID": 8}])
    # Without both, the whole item counts; a version never equals a bare item.
    assert page_fingerprint([{"ID": True, "a": 1}]) != page_fingerprint([{"ID": True, "a": 2}])
    assert page_fingerprint([one]) != page_fingerprint([["version", 7, "2026-03-01 10:00:00"]])


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_page_cap_stops_an_endless_list(convention: Convention) -> None:
    server = FakeServer(costs(1000), convention, "bare")
    pager = make_pager(convention, page_size=100, max_pages=3)
    assert len(read_all(pager, server)) == 300
    assert pager.stop_reason is StopReason.PAGE_CAP
    assert not pager.complete
    assert "TRACKER_COSTS_MAX_PAGES" in (pager.warning() or "")
    assert len(server.requests) == 3  # no request beyond the cap


def test_a_normal_end_on_the_cap_page_wins_over_the_cap() -> None:
    server = FakeServer(costs(250), "page1", "total")
    pager = make_pager("page1", page_size=100, max_pages=3)
    assert len(read_all(pager, server)) == 250
    assert pager.stop_reason is StopReason.TOTAL_REACHED
    assert pager.complete


def test_has_next_true_on_an_empty_page_still_ends() -> None:
    pager = make_pager("page1", page_size=10)
    list(walk(pager, lambda params: PageResult([], has_next=True)))
    assert pager.stop_reason is StopReason.EMPTY_PAGE


def test_has_next_beats_total_and_short_page() -> None:
    pager = make_pager("offset", page_size=10)
    pager.advance(PageResult([{"ID": 1}], total=1, has_next=True))  # short, total reached
    assert not pager.finished
    pager.advance(PageResult([{"ID": 2}] * 10, total=1, has_next=False))
    assert pager.stop_reason is StopReason.HAS_NEXT_FALSE


def test_total_beats_a_short_page() -> None:
    pager = make_pager("page1", page_size=10)
    pager.advance(PageResult([{"ID": n} for n in range(4)], total=9))
    assert not pager.finished
    pager.advance(PageResult([{"ID": n} for n in range(4, 9)], total=9))
    assert pager.stop_reason is StopReason.TOTAL_REACHED


def test_a_finished_walk_refuses_to_go_on() -> None:
    pager = make_pager("page1")
    pager.advance(PageResult([]))
    with pytest.raises(RuntimeError, match="finished"):
        pager.next_params()
    with pytest.raises(RuntimeError, match="finished"):
        pager.advance(PageResult([]))


# ---------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("killed_after", [0, 1, 3, 6])
def test_resume_from_checkpoint_reads_no_stored_page_again(
    convention: Convention, shape: Shape, killed_after: int
) -> None:
    # A pull stores each page with pager.state() in one transaction, and dies while fetching
    # the page after `killed_after` stored pages. The resumed pull re-requests only that page.
    data = costs(730)
    stored: list[Any] = []
    checkpoint: str | None = None

    class Killed(Exception):
        pass

    first_server = FakeServer(data, convention, shape)

    def dying_fetch(params: Params) -> PageResult:
        if len(first_server.requests) == killed_after:
            first_server.requests.append(dict(params))
            raise Killed
        return first_server(params)

    pager = make_pager(convention)
    with pytest.raises(Killed):
        for page in walk(pager, dying_fetch):
            stored.extend(page.items)
            checkpoint = json.dumps(pager.state())  # the DB column is JSON

    second_server = FakeServer(data, convention, shape)
    resumed = make_pager(convention)
    if checkpoint is not None:
        resumed.restore(json.loads(checkpoint))
    stored.extend(read_all(resumed, second_server))

    assert stored == data  # nothing lost, nothing twice
    assert resumed.complete
    assert resumed.items_read == len(data)
    assert second_server.requests[0] == first_server.requests[-1]  # the page that died
    uninterrupted = FakeServer(data, convention, shape)
    read_all(make_pager(convention), uninterrupted)
    # The only extra request of the kill is the page that was in flight.
    total = len(first_server.requests) + len(second_server.requests)
    assert total == len(uninterrupted.requests) + 1


def test_resume_keeps_repeated_page_detection() -> None:
    data = costs(250)
    server = FakeServer(data, "page1", "bare", ignores_paging=True)
    pager = make_pager("page1")
    pages = walk(pager, server)
    next(pages)
    saved = pager.state()
    resumed = make_pager("page1")
    resumed.restore(saved)
    assert resumed.next_params() == {"page": 2, "pageSize": 100}
    assert read_all(resumed, server) == []
    assert resumed.stop_reason is StopReason.REPEATED_PAGE


def test_checkpoint_counts_pages_for_the_cap_across_resumes() -> None:
    server = FakeServer(costs(1000), "offset", "bare")
    pager = make_pager("offset", max_pages=4)
    pages = walk(pager, server)
    next(pages)
    next(pages)
    resumed = make_pager("offset", max_pages=4)
    resumed.restore(pager.state())
    assert len(read_all(resumed, server)) == 200
    assert resumed.stop_reason is StopReason.PAGE_CAP
    assert resumed.pages_read == 4


def test_state_of_a_finished_walk_restores_finished() -> None:
    pager = make_pager("page0")
    read_all(pager, FakeServer(costs(5), "page0", "total"))
    resumed = make_pager("page0")
    resumed.restore(json.loads(json.dumps(pager.state())))
    assert resumed.finished
    assert resumed.stop_reason is StopReason.TOTAL_REACHED


@pytest.mark.parametrize(
    ("pager", "other"),
    [
        (make_pager("page1"), make_pager("offset")),
        (make_pager("offset"), make_pager("page1")),
        (make_pager("page1"), make_pager("page0")),
        (make_pager("page1", page_size=100), make_pager("page1", page_size=50)),
        (PageNumberPaginator("page"), PageNumberPaginator("p")),
        (PageNumberPaginator(size_param="size"), PageNumberPaginator(size_param="pageSize")),
        (OffsetPaginator("offset", "limit"), OffsetPaginator("skip", "limit")),
        (OffsetPaginator("offset", "limit"), OffsetPaginator("offset", "take")),
    ],
)
def test_checkpoint_from_other_settings_is_refused(pager: Paginator, other: Paginator) -> None:
    with pytest.raises(CheckpointMismatchError):
        other.restore(pager.state())


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"version": 1, "kind": "page", "page_size": 100},
        {"pages_read": -1},
        {"pages_read": "3"},
        {"page": 0},  # before first_page 1
        {"stop_reason": "bored"},
        {"last_fingerprint": 42},
        {"version": 99},
    ],
)
def test_malformed_checkpoints_are_refused(broken: dict[str, Any]) -> None:
    state = make_pager("page1").state()
    candidate = broken if not broken or "kind" in broken else {**state, **broken}
    pager = make_pager("page1")
    with pytest.raises(CheckpointMismatchError):
        pager.restore(candidate)
    assert pager.next_params() == {"page": 1, "pageSize": 100}  # left untouched


def test_checkpoint_mismatch_is_a_sync_error_and_a_value_error() -> None:
    from sync.errors import SyncError

    assert issubclass(CheckpointMismatchError, SyncError)
    assert issubclass(CheckpointMismatchError, ValueError)


def test_reset_starts_over() -> None:
    pager = make_pager("page1")
    read_all(pager, FakeServer(costs(150), "page1", "bare"))
    pager.reset()
    assert not pager.finished
    assert pager.pages_read == 0
    assert pager.next_params() == pager.first_params() == {"page": 1, "pageSize": 100}
    assert len(read_all(pager, FakeServer(costs(150), "page1", "bare"))) == 150


# ---------------------------------------------------------------- settings


def test_paginator_from_default_settings_is_one_based_page_numbers() -> None:
    pager = paginator_from_settings(CostsSettings())
    assert isinstance(pager, PageNumberPaginator)
    assert pager.first_params() == {"page": 1, "pageSize": 100}
    assert pager.max_pages == 10_000


def test_paginator_from_settings_uses_the_configured_names() -> None:
    page = paginator_from_settings(
        CostsSettings(page_param="p", size_param="n", first_page=0, page_size=25, max_pages=7)
    )
    assert page.first_params() == {"p": 0, "n": 25}
    assert page.max_pages == 7
    offset = paginator_from_settings(
        CostsSettings(paging="offset", offset_param="skip", limit_param="take", page_size=40)
    )
    assert isinstance(offset, OffsetPaginator)
    assert offset.first_params() == {"skip": 0, "take": 40}


@pytest.mark.parametrize(
    "make",
    [
        lambda: PageNumberPaginator(first_page=2),
        lambda: PageNumberPaginator(page_size=0),
        lambda: OffsetPaginator(max_pages=0),
    ],
)
def test_invalid_strategies_are_refused(make: Callable[[], Paginator]) -> None:
    with pytest.raises(ValueError, match=r"first_page|page_size|max_pages"):
        make()


# ---------------------------------------------------------------- decoding


def decode(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, **keys: Any
) -> PageResult:
    keys.setdefault("items_key", "Items")
    return decode_page(status, headers or {}, body, **keys)


def test_decode_bare_array() -> None:
    assert decode([{"ID": 1}]) == PageResult([{"ID": 1}])


def test_decode_envelope_with_total_and_flag() -> None:
    page = decode(
        {"Items": [{"ID": 1}], "Total": 7, "HasMore": True},
        total_key="Total",
        has_next_key="HasMore",
    )
    assert page == PageResult([{"ID": 1}], total=7, has_next=True)


def test_decode_envelope_keys_case_insensitively() -> None:
    page = decode(
        {"items": [{"ID": 1}], "total": "7", "hasmore": "false"},
        total_key="Total",
        has_next_key="HasMore",
    )
    assert page == PageResult([{"ID": 1}], total=7, has_next=False)


def test_decode_exact_key_wins_over_case_variants() -> None:
    assert decode({"Items": [1], "items": [2]}).items == [1]


def test_decode_refuses_ambiguous_case_variants() -> None:
    with pytest.raises(ProtocolError, match="several keys"):
        decode({"ITEMS": [1], "items": [2]})


def test_decode_null_items_and_absent_hints() -> None:
    assert decode({"Items": None, "Total": None}, total_key="Total", has_next_key="More") == (
        PageResult([])
    )


def test_decode_total_header_any_case_and_envelope_total_wins() -> None:
    response = httpx.Response(200, json=[{"ID": 1}], headers={"x-total-count": "12"})
    page = decode_page(
        200, response.headers, response.json(), items_key="Items", total_header="X-Total-Count"
    )
    assert page.total == 12
    assert decode([], headers={"X-TOTAL-COUNT": "3"}, total_header="x-total-count").total == 3
    both = decode(
        {"Items": [], "Total": 5},
        headers={"X-Total": "9"},
        total_key="Total",
        total_header="X-Total",
    )
    assert both.total == 5


def test_decode_204_is_an_empty_page() -> None:
    assert decode(None, status=204) == PageResult([])


@pytest.mark.parametrize(
    ("body", "keys", "message"),
    [
        ("not a list", {}, "JSON array or an object"),
        (42, {}, "JSON array or an object"),
        (None, {}, "JSON array or an object"),
        ({"Data": []}, {}, "no 'Items' key .*Data.*TRACKER_COSTS_ITEMS_KEY"),
        ({"Items": {"ID": 1}}, {}, "not an array"),
        ({"Items": [], "Total": "many"}, {"total_key": "Total"}, "not a whole number"),
        ({"Items": [], "Total": True}, {"total_key": "Total"}, "boolean"),
        ({"Items": [], "Total": -1}, {"total_key": "Total"}, "negative"),
        ({"Items": [], "Total": "²"}, {"total_key": "Total"}, "not a whole number"),
        ({"Items": [], "More": "maybe"}, {"has_next_key": "More"}, "not a boolean"),
        ({"Items": [], "More": 1}, {"has_next_key": "More"}, "not a boolean"),
    ],
)
def test_decode_refuses_bodies_that_fit_no_shape(
    body: Any, keys: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProtocolError, match=message) as caught:
        decode(body, **keys)
    assert isinstance(caught.value, TransientRemoteError)  # the pull is retried later


def test_decode_refuses_a_garbage_total_header() -> None:
    with pytest.raises(ProtocolError, match="header X-Total"):
        decode([], headers={"X-Total": "lots"}, total_header="X-Total")


@pytest.mark.parametrize("status", [301, 404, 500])
def test_decode_refuses_non_success_statuses(status: int) -> None:
    with pytest.raises(ProtocolError, match=str(status)):
        decode([], status=status)


def test_decode_leaves_items_raw() -> None:
    # Validation happens per item later, so one bad item cannot fail its page.
    weird = [{"ID": "not-an-int"}, None, 3, "x"]
    assert decode({"Items": weird}).items == weird


# ---------------------------------------------------------------- property


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=400),
    page_size=st.integers(min_value=1, max_value=60),
    convention=st.sampled_from(CONVENTIONS),
    shape=st.sampled_from(SHAPES),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
)
def test_property_the_walk_yields_each_item_exactly_once(
    n: int, page_size: int, convention: Convention, shape: Shape, cap: int | None
) -> None:
    if shape == "bare" and cap is not None and cap < page_size:
        cap = None  # the documented unsupported case: a bare array hides the server's cap
    data = costs(n)
    server = FakeServer(data, convention, shape, cap=cap)
    pager = make_pager(convention, page_size=page_size)
    assert read_all(pager, server) == data
    assert pager.complete
    effective = min(page_size, cap or page_size)
    assert len(server.requests) <= n // effective + 2

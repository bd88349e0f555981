"""The paging conventions a costs list may use: page numbers, or offsets.

Each is a small strategy over :class:`~sync.costs.pager.Paginator` (which owns the end of the
list, the guards and the checkpoints), chosen by ``TRACKER_COSTS_PAGING``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.costs.pager import (
    CheckpointMismatchError,
    Paginator,
    Params,
    aligned_size,
    nonneg_int,
    same_setting,
)
from sync.costs.pages import PageResult
from sync.settings import CostsSettings

__all__ = [
    "OffsetPaginator",
    "PageNumberPaginator",
    "after_short_page",
    "paginator_from_settings",
]


class PageNumberPaginator(Paginator):
    """``?page=N&pageSize=S``: page numbers from ``first_page`` (0 or 1), one per full page.

    A short page may be the server capping the page size below ours, and a capping server
    may number its pages by the size asked or by the size it gives: either way, asking page
    ``first + N + 1`` would skip or repeat items. So after a short page the walk asks for the
    size it received (or the largest size below it that divides the items read so far) and
    the page number that starts exactly after the items read: no gap, whatever the server's
    numbering.
    """

    kind = "page"

    def __init__(
        self,
        page_param: str = "page",
        size_param: str = "pageSize",
        first_page: int = 1,
        page_size: int = 100,
        max_pages: int = 10_000,
    ) -> None:
        super().__init__(page_size, max_pages)
        if first_page not in (0, 1):
            raise ValueError(f"first_page must be 0 or 1 (got {first_page})")
        self.page_param = page_param
        self.size_param = size_param
        self.first_page = first_page
        self.page = first_page
        self.size = page_size
        """The size asked: ``page_size``, or less once a short page showed the server's cap."""

    def first_params(self) -> Params:
        """``{page_param: first_page, size_param: page_size}``."""
        return {self.page_param: self.first_page, self.size_param: self.page_size}

    def next_params(self) -> Params:
        """``{page_param: N, size_param: page_size}`` for the next page number N."""
        self._check_not_finished()
        return {self.page_param: self.page, self.size_param: self.size}

    def _step(self, page: PageResult) -> None:
        count = len(page.items)
        if count >= self.size:
            self.page += 1
        elif count:
            self.page, self.size = after_short_page(self.first_page, self.items_read, count)

    def _position(self) -> dict[str, Any]:
        return {
            "page_param": self.page_param,
            "size_param": self.size_param,
            "first_page": self.first_page,
            "page": self.page,
            "size": self.size,
        }

    def _set_position(self, state: Mapping[str, Any]) -> None:
        same_setting(state, "page_param", self.page_param)
        same_setting(state, "size_param", self.size_param)
        same_setting(state, "first_page", self.first_page)
        page = nonneg_int(state["page"])
        if page < self.first_page:
            raise CheckpointMismatchError(f"checkpoint page {page} is before the first page")
        size = nonneg_int(state.get("size", self.page_size))  # absent from older checkpoints
        if not 1 <= size <= self.page_size:
            raise CheckpointMismatchError(f"checkpoint size {size} is not 1..{self.page_size}")
        self.page, self.size = page, size

    def _reset_position(self) -> None:
        self.page, self.size = self.first_page, self.page_size


def after_short_page(first_page: int, items_read: int, received: int) -> tuple[int, int]:
    """``(page, size)`` to ask after a short page of ``received`` items, ``items_read`` in all.

    The size is what the server gave (its cap, when it caps), reduced until it divides
    ``items_read``; the page number then starts exactly after the items read.
    """
    size = aligned_size(items_read, received)
    return first_page + items_read // size, size


class OffsetPaginator(Paginator):
    """``?offset=K&limit=S``: the offset advances by the number of items actually received."""

    kind = "offset"

    def __init__(
        self,
        offset_param: str = "offset",
        limit_param: str = "limit",
        page_size: int = 100,
        max_pages: int = 10_000,
    ) -> None:
        super().__init__(page_size, max_pages)
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.offset = 0

    def first_params(self) -> Params:
        """``{offset_param: 0, limit_param: page_size}``."""
        return {self.offset_param: 0, self.limit_param: self.page_size}

    def next_params(self) -> Params:
        """``{offset_param: items so far, limit_param: page_size}``."""
        self._check_not_finished()
        return {self.offset_param: self.offset, self.limit_param: self.page_size}

    def _step(self, page: PageResult) -> None:
        # By what we received, not by what we asked: a server capping the page size below
        # page_size would otherwise make us skip the items between its cap and ours.
        self.offset += len(page.items)

    def _position(self) -> dict[str, Any]:
        return {
            "offset_param": self.offset_param,
            "limit_param": self.limit_param,
            "offset": self.offset,
        }

    def _set_position(self, state: Mapping[str, Any]) -> None:
        same_setting(state, "offset_param", self.offset_param)
        same_setting(state, "limit_param", self.limit_param)
        self.offset = nonneg_int(state["offset"])

    def _reset_position(self) -> None:
        self.offset = 0


def paginator_from_settings(costs: CostsSettings) -> Paginator:
    """The strategy selected by ``costs.paging``, with its parameter names, size and cap."""
    if costs.paging == "offset":
        return OffsetPaginator(
            offset_param=costs.offset_param,
            limit_param=costs.limit_param,
            page_size=costs.page_size,
            max_pages=costs.max_pages,
        )
    return PageNumberPaginator(
        page_param=costs.page_param,
        size_param=costs.size_param,
        first_page=costs.first_page,
        page_size=costs.page_size,
        max_pages=costs.max_pages,
    )

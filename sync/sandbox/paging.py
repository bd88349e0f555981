"""Paging conventions for the business-mobile lists.

Henshin documents its lists only as "paged (see the introduction)", and the introduction could
not be found. So the convention is a :class:`Paging` value on the Sandbox, and the client's pager
is tested against each: page numbers (0- or 1-based, any parameter names) or offset/limit; a
bare JSON array (the one shape seen in a sample) or an envelope with items, total and a has-next
flag; optionally a total-count header. Items come in insertion order (seeded costs: by ``ID``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


class PagingError(ValueError):
    """A paging parameter is not a usable number; answered 400 ``err_InvalidElement``."""


@dataclass(frozen=True)
class Paging:
    """How the costs list reads its page request and shapes its answer."""

    style: Literal["page", "offset"] = "page"
    page_param: str = "page"
    size_param: str = "pageSize"
    first_page: int = 1
    """Number of the first page: 1 (default) or 0."""
    offset_param: str = "offset"
    limit_param: str = "limit"
    default_size: int = 20
    """Items per page when the client sends no size."""
    max_size: int = 1000
    """Larger sizes are clamped silently (a client must not read a short page as the last)."""
    envelope: bool = False
    """``False``: a bare JSON array (as the trip-costs sample). ``True``: an object."""
    items_key: str = "Items"
    total_key: str | None = "Total"
    has_next_key: str | None = None
    total_header: str | None = None
    """e.g. ``X-Total-Count``: the total number of items, on every page."""

    def __post_init__(self) -> None:
        if self.first_page not in (0, 1):
            raise ValueError("first_page must be 0 or 1")
        if self.default_size < 1 or self.max_size < 1:
            raise ValueError("page sizes must be at least 1")

    def window(self, params: Mapping[str, str], *, ignore_page: bool = False) -> tuple[int, int]:
        """``(offset, size)`` asked for by the query parameters."""
        size_name = self.size_param if self.style == "page" else self.limit_param
        size = _number(params, size_name, self.default_size, minimum=1)
        size = min(size, self.max_size)
        if self.style == "page":
            page = _number(params, self.page_param, self.first_page, minimum=self.first_page)
            offset = (page - self.first_page) * size
        else:
            offset = _number(params, self.offset_param, 0, minimum=0)
        return (0 if ignore_page else offset), size

    def render(self, page: list[Any], offset: int, total: int) -> tuple[Any, dict[str, str]]:
        """The response body for ``page`` (items ``offset``... of ``total``) and extra headers."""
        headers = {self.total_header: str(total)} if self.total_header else {}
        if not self.envelope:
            return page, headers
        body: dict[str, Any] = {self.items_key: page}
        if self.total_key:
            body[self.total_key] = total
        if self.has_next_key:
            body[self.has_next_key] = offset + len(page) < total
        return body, headers


def _number(params: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PagingError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise PagingError(f"{name} must be at least {minimum}")
    return value

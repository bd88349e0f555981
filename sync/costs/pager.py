"""Walking a paged list whose paging contract is not documented: strategies, decoding, guards.

Each paging convention is a small strategy object chosen by configuration, response decoding
is a pure function, and :func:`walk` takes the fetch function from the caller (no I/O here).
The end-of-list order, the guards and the checkpoints are in docs/costs.md.

A pull loop::

    pager = paginator_from_settings(settings.costs)
    if checkpoint:                       # saved by an interrupted pull
        pager.restore(checkpoint)
    for page in walk(pager, fetch):      # fetch(params) -> PageResult, via decode_page
        store(page.items, pager.state()) # one transaction: the page and the checkpoint
    if pager.complete:
        mark_unseen(...)                 # only after a full walk
    elif pager.stop_reason is not None:
        warn(pager.warning())
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sync.costs.pages import PageResult, page_fingerprint
from sync.errors import SyncError

__all__ = [
    "CheckpointMismatchError",
    "Paginator",
    "Params",
    "StopReason",
    "aligned_size",
    "end_of_list",
    "nonneg_int",
    "same_setting",
    "walk",
]

Params = dict[str, str | int]
"""Query parameters of one page request."""

_STATE_VERSION = 1


class StopReason(StrEnum):
    """Why a walk finished: a normal end (the list proved it ended) or an incomplete stop."""

    EMPTY_PAGE = "empty_page"
    HAS_NEXT_FALSE = "has_next_false"
    TOTAL_REACHED = "total_reached"
    SHORT_PAGE = "short_page"
    """No longer produced (a short page alone is not an end); kept to read old checkpoints."""
    REPEATED_PAGE = "repeated_page"
    PAGE_CAP = "page_cap"
    SHORT_OF_TOTAL = "short_of_total"
    """The list ended (empty page, has-next false) before the total the server announced."""

    @property
    def complete(self) -> bool:
        """True when the whole list was read (not a guarded or short stop)."""
        return self not in _INCOMPLETE


_INCOMPLETE = frozenset({StopReason.REPEATED_PAGE, StopReason.PAGE_CAP, StopReason.SHORT_OF_TOTAL})


class CheckpointMismatchError(SyncError, ValueError):
    """A saved pager checkpoint does not fit the current paging settings; start the pull over."""


# ---------------------------------------------------------------- strategies


@dataclass
class _Progress:
    """The walk state every strategy shares."""

    pages_read: int = 0
    items_read: int = 0
    last_fingerprint: str | None = None
    stop_reason: StopReason | None = None
    seen: set[str] = field(default_factory=set)
    total: int | None = None
    """The total the server announced last (envelope or header), if it ever did."""


class Paginator(ABC):
    """A paging convention plus the end-of-list rules and loop guards (module docstring).

    Use: ``next_params()`` → request → :func:`decode_page` → ``advance(page)`` → store
    ``page.items`` if ``accepted`` together with ``state()`` → repeat until ``finished``.
    """

    kind: str
    """The convention's name in checkpoints (``"page"`` or ``"offset"``)."""

    def __init__(self, page_size: int, max_pages: int) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1 (got {page_size})")
        if max_pages < 1:
            raise ValueError(f"max_pages must be >= 1 (got {max_pages})")
        self.page_size = page_size
        self.max_pages = max_pages
        self._progress = _Progress()
        self.accepted = False
        """Whether the page last passed to :meth:`advance` holds new items to store."""

    # -- the convention: what differs between strategies

    @abstractmethod
    def first_params(self) -> Params:
        """Query parameters of the first page (whatever the walk's state)."""

    @abstractmethod
    def next_params(self) -> Params:
        """Query parameters of the page to read next. Raises RuntimeError once finished."""

    @abstractmethod
    def _step(self, page: PageResult) -> None:
        """Move the position past an accepted page."""

    @abstractmethod
    def _position(self) -> dict[str, Any]:
        """The convention's settings and position, for :meth:`state`."""

    @abstractmethod
    def _set_position(self, state: Mapping[str, Any]) -> None:
        """Check the convention's settings in ``state`` and take its position."""

    @abstractmethod
    def _reset_position(self) -> None:
        """Go back to the first page."""

    # -- the shared walk

    @property
    def finished(self) -> bool:
        """True once no further page should be requested."""
        return self._progress.stop_reason is not None

    @property
    def stop_reason(self) -> StopReason | None:
        """Why the walk finished, or None while it goes on."""
        return self._progress.stop_reason

    @property
    def complete(self) -> bool:
        """True when the walk ended normally: every item of the list was read."""
        reason = self._progress.stop_reason
        return reason is not None and reason.complete

    @property
    def pages_read(self) -> int:
        """Accepted pages so far, across resumes."""
        return self._progress.pages_read

    @property
    def items_read(self) -> int:
        """Items on accepted pages so far, across resumes."""
        return self._progress.items_read

    def warning(self) -> str | None:
        """A message for the user when the walk stopped on a guard, else None."""
        reason = self._progress.stop_reason
        if reason is StopReason.REPEATED_PAGE:
            return (
                f"the server returned a page already read (after {self.pages_read} pages): "
                "it probably ignores the paging parameters; the pull stopped incomplete. "
                "Check TRACKER_COSTS_PAGING and the parameter names."
            )
        if reason is StopReason.PAGE_CAP:
            return (
                f"the pull stopped after {self.pages_read} pages (TRACKER_COSTS_MAX_PAGES) "
                "before the list ended; it is incomplete."
            )
        if reason is StopReason.SHORT_OF_TOTAL:
            return (
                f"the server announced {self._progress.total} costs but its list ended after "
                f"{self.items_read}: the pull is incomplete and marks nothing as not seen; "
                "the next pull reads the list again."
            )
        return None

    def advance(self, page: PageResult) -> None:
        """Take in the page just read: update the position and decide whether the walk ends."""
        if self.finished:
            raise RuntimeError("advance() called on a finished walk")
        progress = self._progress
        count = len(page.items)
        if count:
            fingerprint = page_fingerprint(page.items)
            if fingerprint in progress.seen or fingerprint == progress.last_fingerprint:
                self.accepted = False
                progress.stop_reason = StopReason.REPEATED_PAGE
                return
            progress.seen.add(fingerprint)
            progress.last_fingerprint = fingerprint
        self.accepted = True
        progress.pages_read += 1
        progress.items_read += count
        if page.total is not None:
            progress.total = page.total
        self._step(page)
        progress.stop_reason = self._end_of_list(page)
        if progress.stop_reason is None and progress.pages_read >= self.max_pages:
            progress.stop_reason = StopReason.PAGE_CAP

    def _end_of_list(self, page: PageResult) -> StopReason | None:
        reason = end_of_list(page, self.items_read)
        total = self._progress.total
        if reason is not None and total is not None and self.items_read < total:
            # The list ended below the count the server itself announced: items were
            # skipped or withheld, so this walk proves nothing about what is gone.
            return StopReason.SHORT_OF_TOTAL
        return reason

    def reset(self) -> None:
        """Forget all progress: the next page is the first one."""
        self._progress = _Progress()
        self.accepted = False
        self._reset_position()

    def state(self) -> dict[str, Any]:
        """A JSON-able checkpoint: "the pages so far are consumed; resume after them"."""
        progress = self._progress
        return {
            "version": _STATE_VERSION,
            "kind": self.kind,
            "page_size": self.page_size,
            **self._position(),
            "pages_read": progress.pages_read,
            "items_read": progress.items_read,
            "last_fingerprint": progress.last_fingerprint,
            "stop_reason": None if progress.stop_reason is None else str(progress.stop_reason),
            "total": progress.total,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from a :meth:`state` checkpoint.

        Raises :class:`CheckpointMismatchError` when the checkpoint was written under other
        paging settings (convention, parameter names, page size) or is malformed; the caller
        should then discard it and start the pull from the first page.
        """
        try:
            if state.get("version") != _STATE_VERSION or state.get("kind") != self.kind:
                raise CheckpointMismatchError(
                    f"checkpoint is for {state.get('kind')!r} paging "
                    f"v{state.get('version')}, not {self.kind!r} v{_STATE_VERSION}"
                )
            if state.get("page_size") != self.page_size:
                raise CheckpointMismatchError(
                    f"checkpoint page size {state.get('page_size')!r} differs from {self.page_size}"
                )
            pages_read = nonneg_int(state["pages_read"])
            items_read = nonneg_int(state["items_read"])
            last = state["last_fingerprint"]
            if last is not None and not isinstance(last, str):
                raise CheckpointMismatchError("checkpoint fingerprint is not a string")
            raw_reason = state["stop_reason"]
            reason = None if raw_reason is None else StopReason(raw_reason)
            raw_total = state.get("total")  # absent from checkpoints written before it existed
            total = None if raw_total is None else nonneg_int(raw_total)
            self._set_position(state)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            if isinstance(error, CheckpointMismatchError):
                raise
            raise CheckpointMismatchError(f"malformed pager checkpoint: {error}") from error
        self._progress = _Progress(
            pages_read=pages_read,
            items_read=items_read,
            last_fingerprint=last,
            stop_reason=reason,
            seen=set() if last is None else {last},
            total=total,
        )
        self.accepted = False

    def _check_not_finished(self) -> None:
        if self.finished:
            raise RuntimeError(f"the walk is finished ({self.stop_reason}); no next page")


def end_of_list(page: PageResult, items_read: int) -> StopReason | None:
    """Whether ``page`` proves the list ended, by the server's own signals (docs/costs.md).

    An empty page ends it; else a has-next flag decides; else a total (reached or not). A
    short page alone proves nothing: the server may cap the page size below ours, so the
    walk asks for the next page, and only an empty one ends it.
    """
    if not page.items:
        return StopReason.EMPTY_PAGE
    if page.has_next is not None:
        return None if page.has_next else StopReason.HAS_NEXT_FALSE
    if page.total is not None:
        return StopReason.TOTAL_REACHED if items_read >= page.total else None
    return None


def aligned_size(items_read: int, limit: int) -> int:
    """The largest page size <= ``limit`` that divides ``items_read``.

    Page-number paging can only resume exactly after ``items_read`` items with a page size
    that divides it: page ``items_read // size`` then starts where the walk stopped reading.
    """
    if items_read <= 0 or limit <= 1:
        return max(limit, 1)
    for size in range(min(limit, items_read), 0, -1):
        if items_read % size == 0:
            return size
    return 1


def nonneg_int(value: Any) -> int:
    """A checkpoint's count, checked (CheckpointMismatchError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointMismatchError(f"expected a non-negative integer, got {value!r}")
    return value


def same_setting(state: Mapping[str, Any], name: str, expected: object) -> None:
    """Refuse a checkpoint written under another value of the setting ``name``."""
    if state.get(name) != expected:
        raise CheckpointMismatchError(
            f"checkpoint {name} {state.get(name)!r} differs from the setting {expected!r}"
        )


def walk(paginator: Paginator, fetch: Callable[[Params], PageResult]) -> Iterator[PageResult]:
    """Drive ``paginator`` with ``fetch`` and yield each accepted page, already advanced over.

    When a page is yielded, ``paginator.state()`` is the checkpoint to store with it. A repeated
    page is not yielded. Exceptions from ``fetch`` propagate with the paginator still positioned
    at the page that failed. Afterwards, ``paginator.complete`` tells a full walk from a guarded
    stop.
    """
    while not paginator.finished:
        page = fetch(paginator.next_params())
        paginator.advance(page)
        if paginator.accepted:
            yield page

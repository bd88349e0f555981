"""One call at a time on a worker thread, while the caller goes on: the push sends a batch
while it claims the next one, the pull fetches the next page while it stores this one.

Only the caller's thread touches the database; the worker only talks HTTP. Closing gives up
on a call not yet started; a call under way ends with its request (every request has a
deadline).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import ParamSpec, TypeVar

__all__ = ["Ahead"]

T = TypeVar("T")
P = ParamSpec("P")


class Ahead:
    """A single worker thread named ``name`` (a context manager)."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def start(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``call`` on the worker; its result (or exception) comes from the future."""
        return self._pool.submit(call, *args, **kwargs)

    def close(self) -> None:
        """Stop taking calls; a call under way finishes on its own."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Ahead:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

"""The sockets under httpx, bounded by the whole exchange's deadline, and cut on demand.

Why: httpx's timeouts are per socket operation. A server that drips one header byte a second
never trips a 30 s read timeout, so a request could outlive any deadline. Here every connect,
read and write of the exchange under way on this thread (:func:`within`) waits at most until
that exchange's deadline: connect to last body byte. And :meth:`CutOff.cut` shuts every open
socket, so a thread blocked in ``recv`` returns at once (a daemon told to stop by SIGTERM).

Socket timeouts are real time: this module reads ``time.monotonic`` itself, not a Clock.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore

__all__ = ["CutOff", "time_left", "within"]

_local = threading.local()


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Bound every socket operation of this thread by ``seconds`` from now (nestable)."""
    previous = getattr(_local, "until", None)
    until = time.monotonic() + seconds
    _local.until = until if previous is None else min(previous, until)
    try:
        yield
    finally:
        _local.until = previous


def time_left(timeout: float | None, until: float | None, now: float) -> float | None:
    """The timeout of the next socket operation: ``timeout`` shortened to end by ``until``.

    Returns None (no limit) only when both are None; 0 or less means the deadline passed.
    """
    if until is None:
        return timeout
    left = until - now
    return left if timeout is None else min(timeout, left)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    left = time_left(timeout, getattr(_local, "until", None), time.monotonic())
    if left is not None and left <= 0:
        raise error("the exchange's deadline has passed")
    return left


class CutOff(httpcore.NetworkBackend):
    """A network backend for httpcore: the system's sockets, each operation bounded by the
    deadline of :func:`within`, all of them cut by :meth:`cut` (until :meth:`resume`)."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()
        self._streams: weakref.WeakSet[_Stream] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._cut = False

    @property
    def is_cut(self) -> bool:
        """True between :meth:`cut` and :meth:`resume`: no exchange may start."""
        return self._cut

    def cut(self) -> None:
        """Shut every open socket (a blocked read returns at once) and refuse new
        connections until :meth:`resume`."""
        with self._lock:
            self._cut = True
            streams = list(self._streams)
        for stream in streams:
            stream.shut()

    def resume(self) -> None:
        """Allow connections again after :meth:`cut`."""
        self._cut = False

    def _track(self, stream: httpcore.NetworkStream) -> _Stream:
        wrapped = _Stream(stream, self)
        with self._lock:
            self._streams.add(wrapped)
            cut = self._cut
        if cut:  # cut while this connection was being opened
            wrapped.shut()
        return wrapped

    def _refuse_when_cut(self) -> None:
        if self._cut:
            raise httpcore.ConnectError("stopping: no new connection")

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Open a TCP connection within the deadline."""
        self._refuse_when_cut()
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return self._track(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Open a Unix socket connection within the deadline."""
        self._refuse_when_cut()
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return self._track(stream)

    def sleep(self, seconds: float) -> None:
        """httpcore's own waits (connection retries)."""
        self._inner.sleep(seconds)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: CutOff) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._backend.is_cut:
            raise httpcore.ReadError("stopping: connection cut")
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._backend.is_cut:
            raise httpcore.WriteError("stopping: connection cut")
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self._backend._track(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def shut(self) -> None:
        """Shut the socket down both ways: a thread blocked on it returns at once."""
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

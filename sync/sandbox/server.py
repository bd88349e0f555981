"""Serve a Sandbox over real loopback HTTP with uvicorn, in a background thread.

``with serve(sandbox) as server:`` binds ``127.0.0.1`` on a free port (or the one asked for),
returns once uvicorn has started (an event, no polling), and stops the server on exit. Only
loopback addresses are accepted: the sandbox's tokens are public knowledge.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from starlette.types import Receive, Scope, Send

from sync.sandbox.app import create_app
from sync.sandbox.costs import BASE_PATH
from sync.sandbox.state import Sandbox

STARTUP_TIMEOUT = 10.0


def check_loopback(host: str) -> None:
    """Refuse any bind address that is not loopback (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the sandbox binds loopback addresses only, not {host!r}")


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on a loopback address; port 0 picks a free one.

    It listens before uvicorn starts, so a client that connects as soon as the URL is printed
    waits in the backlog instead of being refused.
    """
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose listener
    # says so, and without it every response waits ~40 ms for delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: Any, **overrides: Any) -> Any:
    """uvicorn settings the sandbox always uses: plain asyncio + h11 (the fault layer relies on
    h11's request cycle), no lifespan, no websockets, no proxy headers, no logging set-up."""
    import uvicorn

    options: dict[str, Any] = {
        "loop": "asyncio",
        "http": "h11",
        "ws": "none",
        "lifespan": "off",
        "interface": "asgi3",
        "proxy_headers": False,
        "server_header": False,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 1,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


class SandboxServer:
    """A running (or ready to run) loopback server for one Sandbox.

    :meth:`use` swaps in another Sandbox without restarting, so a test session can share one
    server (start-up takes ~20 ms, a clean stop ~0.1 s: uvicorn's own grace period).
    """

    def __init__(self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0) -> None:
        check_loopback(host)
        self.sandbox = sandbox
        self.app = create_app(sandbox)
        self._host = host
        self._port = port
        self._sock: socket.socket | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None

    def use(self, sandbox: Sandbox) -> None:
        """Serve ``sandbox`` from now on (requests already in flight finish on the old one)."""
        self.app = create_app(sandbox)
        self.sandbox = sandbox

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @property
    def host(self) -> str:
        """The bound address."""
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for); valid after :meth:`start`."""
        if self._bound_port is None:
            raise RuntimeError("the server is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43123`` (the Tight base URL)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def tight_url(self) -> str:
        """Base URL for the mileage client (Tight v6 paths start with ``/v6``)."""
        return self.url

    @property
    def costs_url(self) -> str:
        """Base URL for the costs client, ending in ``/api/business-mobile``."""
        return self.url + BASE_PATH

    def start(self) -> SandboxServer:
        """Bind, start uvicorn in a daemon thread and wait until it accepts connections."""
        import uvicorn

        if self._thread is not None:
            raise RuntimeError("the server is already started")
        ready = threading.Event()

        class _Server(uvicorn.Server):
            """uvicorn that reports start-up through an event and can be woken to stop."""

            loop: asyncio.AbstractEventLoop | None = None
            wake: asyncio.Event | None = None

            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                try:
                    self.loop = asyncio.get_running_loop()
                    self.wake = asyncio.Event()
                    await super().startup(sockets)
                finally:
                    ready.set()

            async def main_loop(self) -> None:
                # uvicorn's loop checks should_exit every 0.1 s; waiting on `wake` as well lets
                # stop() end it at once while keeping uvicorn's per-tick bookkeeping.
                wake = self.wake or asyncio.Event()
                counter = 0
                while not await self.on_tick(counter):
                    counter = (counter + 1) % 864_000
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), 0.1)

            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                if self.server_state.connections or self.server_state.tasks:
                    await super().shutdown(sockets)  # a grace period for what is in flight
                    return
                # Nothing in flight: skip uvicorn's fixed 0.1 s grace (lifespan is off).
                for listening in self.servers:
                    listening.close()
                for sock in sockets or []:
                    sock.close()

            def stop_soon(self) -> None:
                self.should_exit = True
                if self.loop is not None and self.wake is not None:
                    with contextlib.suppress(RuntimeError):  # the loop may be closed already
                        self.loop.call_soon_threadsafe(self.wake.set)

        self._sock = bind_loopback(self._host, self._port)
        self._bound_port = int(self._sock.getsockname()[1])
        server = _Server(uvicorn_config(self._dispatch))
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._sock]},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not ready.wait(STARTUP_TIMEOUT) or not server.started:
            self.stop()
            raise RuntimeError("the sandbox server did not start")
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread (open requests get about a second)."""
        if self._server is not None:
            self._server.stop_soon()
        if self._thread is not None:
            self._thread.join(STARTUP_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(STARTUP_TIMEOUT)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def serve(
    sandbox: Sandbox | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SandboxServer]:
    """Run ``sandbox`` (a default one if omitted) on loopback for the ``with`` block."""
    with SandboxServer(sandbox or Sandbox(), host=host, port=port) as server:
        yield server

"""A stdlib ``http.server`` on a loopback port, for tests that play a remote we did not write.

Each hostile test writes a few lines of ``BaseHTTPRequestHandler`` with the behaviour it
plays (a cap, a drip, a redirect...) and serves it with :func:`serve`: a real server on
127.0.0.1, a real socket, nothing patched in the client.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class QuietServer(http.server.ThreadingHTTPServer):
    """Threads per request, daemon threads (a handler stuck dripping never blocks exit)."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up on a dripping handler is expected here: not a test error."""


@contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port; yields the base URL (``http://127.0.0.1:N``)."""
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="loopback", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Quiet(http.server.BaseHTTPRequestHandler):
    """A handler base that keeps the test output clean and speaks HTTP/1.1."""

    protocol_version = "HTTP/1.1"

    def send_json(self, status: int, body: Any = None, *, raw: bytes | None = None) -> None:
        """Answer ``status`` with ``body`` as JSON (or ``raw`` bytes as they are)."""
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """No access log on stderr."""

"""The loopback helper itself: a handler is served on 127.0.0.1 and answers."""

from __future__ import annotations

import httpx

from tests.helpers.loopback import Quiet, serve


class Hello(Quiet):
    def do_GET(self) -> None:
        body = b'{"hello": "world"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_handler_is_served_on_loopback() -> None:
    with serve(Hello) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/x").json() == {"hello": "world"}

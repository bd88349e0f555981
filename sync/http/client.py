"""HTTP at the edge: one httpx.Client per remote, and a send with a *total* deadline.

httpx only has per-phase timeouts: a server that drips one byte at a time keeps a request
alive forever. ``send`` streams the body and gives up once the deadline has passed, so a
request never outlives ``deadline`` by more than one read timeout.

Transport failures are sorted by what they tell us about the server:
``NotSent`` (connection refused, connect timeout: the server never saw the request) and
``OutcomeUnknown`` (dropped, reset, read timeout, deadline: it may have processed it).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sync.clock import Clock
from sync.errors import ConfigError, TransientRemoteError
from sync.http.jsonlimits import loads_page
from sync.settings import HttpSettings

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024  # a response larger than this is not a mileage API answer


class NotSent(TransientRemoteError):
    """The request never reached the server (safe to send again)."""


class OutcomeUnknown(TransientRemoteError):
    """The request may have been processed; we could not read the answer."""


@dataclass(frozen=True)
class Reply:
    """A complete HTTP answer: status, headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    raw: bytes

    @functools.cached_property
    def body(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON. Parsed on first use: the
        pull parses pages itself (exact decimals) and never needs this."""
        return _parse(self.raw)

    @property
    def json_ok(self) -> bool:
        """True when the body parsed as JSON."""
        return self.body is not None or self.raw.strip() == b"null"


def build_client(
    base_url: str,
    cfg: HttpSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    auth: httpx.Auth | None = None,
    name: str = "mileage",
) -> httpx.Client:
    """An httpx.Client for one remote API (``name``: ``mileage`` or ``costs``, the settings
    group). TLS verification stays on (a CA path may be given); redirects are not followed
    (the token must not travel elsewhere)."""
    setting = f"TRACKER_{name.upper()}_URL"
    if not base_url:
        raise ConfigError(f"no base URL configured for the {name} API: set {setting}")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{setting} {base_url!r} must start with http:// or https://")
    read = min(cfg.read_timeout, cfg.deadline)
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(connect=cfg.connect_timeout, read=read, write=read, pool=read),
        verify=cfg.verify if isinstance(cfg.verify, str) else True,
        transport=transport,
        auth=auth,
        follow_redirects=False,
        headers={"User-Agent": "trip-tracker", "Accept": "application/json"},
    )


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    clock: Clock,
    deadline: float,
    json_body: Any = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    on_headers: Callable[[], None] | None = None,
) -> Reply:
    """Send one request and read the whole answer within ``deadline`` seconds.

    The body is ``json_body`` (encoded here) or ``content`` (JSON already encoded).

    ``on_headers`` runs once the response headers arrived, before the body is read (a
    crash-test hook: the server has processed the request, the client does not know yet).
    """
    started = clock.monotonic()
    send_headers = dict(headers or {})
    if content is not None:
        send_headers["Content-Type"] = "application/json"
    elif json_body is not None:
        # allow_nan=False: a stored inf can never be sent as invalid JSON (it parks instead).
        content = json.dumps(json_body, allow_nan=False, ensure_ascii=False).encode("utf-8")
        send_headers["Content-Type"] = "application/json"
    try:
        with client.stream(
            method,
            url,
            content=content,
            headers=send_headers,
        ) as response:
            if on_headers is not None:
                on_headers()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY:
                    raise OutcomeUnknown(f"{method} {url}: response larger than {MAX_BODY} bytes")
                if clock.monotonic() - started > deadline:
                    raise OutcomeUnknown(
                        f"{method} {url}: no complete answer within {deadline:g} s"
                    )
            raw = b"".join(chunks)
            status, response_headers = response.status_code, dict(response.headers)
    except httpx.ConnectError as err:
        if "CERTIFICATE_VERIFY_FAILED" in str(err) or "SSL" in str(err):
            raise ConfigError(
                f"{method} {url}: TLS verification failed ({err}); if the server uses a "
                "private CA, give its bundle path in the VERIFY setting"
            ) from None
        raise NotSent(f"{method} {url}: cannot connect ({type(err).__name__})") from None
    except (httpx.ConnectTimeout, httpx.PoolTimeout) as err:
        raise NotSent(f"{method} {url}: cannot connect ({type(err).__name__})") from None
    except httpx.UnsupportedProtocol as err:
        raise ConfigError(f"{method} {url}: {err}") from None
    except (httpx.TimeoutException, httpx.TransportError) as err:
        raise OutcomeUnknown(f"{method} {url}: {type(err).__name__}, answer lost") from None
    log.debug("%s %s -> %s (%d bytes)", method, url, status, len(raw))
    return Reply(status=status, headers=response_headers, raw=raw)


def _parse(raw: bytes) -> Any:
    """The body as JSON within the limits (an unreadable item of a page a ``BadItem``), or
    None: a deep, huge-number or NaN answer is "not JSON", never a crash."""
    if not raw:
        return None
    try:
        return loads_page(raw)
    except ValueError:
        return None

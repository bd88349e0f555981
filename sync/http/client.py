"""HTTP at the edge: one httpx.Client per remote, and a send with a *total* deadline.

httpx only has per-phase timeouts: a server that drips one byte at a time keeps a request
alive forever. The clients built here run on :class:`~sync.http.cutoff.CutOff` sockets, whose
every operation ends by the deadline of the exchange under way, so ``send`` bounds the whole
exchange, connect to last body byte (headers included), and a stopping daemon can cut them.
With a transport of the caller's (the sandbox in process), only the body is checked.

A redirect is never followed (the token must not travel): it is a configuration error that
names the ``Location``.

Transport failures are sorted by what they tell us about the server:
``NotSent`` (connection refused, connect timeout: the server never saw the request) and
``OutcomeUnknown`` (dropped, reset, read timeout, deadline: it may have processed it).
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx

from sync.clock import Clock
from sync.errors import ConfigError
from sync.http.cutoff import CutOff, within
from sync.http.failures import (
    Interrupted,
    NotSent,
    OutcomeUnknown,
    Unreachable,
    connect_cause,
)
from sync.http.jsonlimits import loads_page
from sync.http.words import said
from sync.settings import HttpSettings

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024  # a response larger than this is not a mileage API answer


REDIRECTS = frozenset({301, 302, 303, 307, 308})


def redirect_error(status: int, location: str | None, method: str, url: str) -> ConfigError | None:
    """The configuration error a redirect answer means, or None for any other status.

    A redirect is never followed: the token must not travel to another address, and a moved
    API is a setting to change, not an outage to retry.
    """
    if status not in REDIRECTS:
        return None
    where = location or "(no Location header)"
    return ConfigError(
        f"{method} {url} answered HTTP {status}, a redirect to {where}; redirects are not "
        "followed (the token must not travel): if the API moved, set its base URL "
        "(TRACKER_MILEAGE_URL or TRACKER_COSTS_URL) to the new address; nothing was sent"
    )


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

    @functools.cached_property
    def words(self) -> str | None:
        """The body's words, short and safe to print (:func:`sync.http.words.said`)."""
        return said(self.raw, self.headers.get("content-type"))

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
    cutoff: CutOff | None = None,
) -> httpx.Client:
    """An httpx.Client for one remote API (``name``: ``mileage`` or ``costs``, the settings
    group). TLS verification stays on (a CA path may be given); redirects are not followed
    (the token must not travel elsewhere). Without ``transport``, its sockets are
    ``cutoff``'s (one of its own by default): deadline-bound, and cut by ``cutoff.cut()``."""
    setting = f"TRACKER_{name.upper()}_URL"
    if not base_url:
        raise ConfigError(f"no base URL configured for the {name} API: set {setting}")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{setting} {base_url!r} must start with http:// or https://")
    read = min(cfg.read_timeout, cfg.deadline)
    if transport is None:
        transport = _cutoff_transport(cfg.verify, cutoff or CutOff())
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(connect=cfg.connect_timeout, read=read, write=read, pool=read),
        transport=transport,
        auth=auth,
        follow_redirects=False,
        headers={"User-Agent": "trip-tracker", "Accept": "application/json"},
    )


def _cutoff_transport(verify: bool | str, cutoff: CutOff) -> httpx.HTTPTransport:
    context = _tls_context(verify)
    transport = httpx.HTTPTransport(verify=context)
    # httpx takes no network backend: its pool is rebuilt on ours, with httpx's defaults.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=cutoff,
    )
    return transport


def _tls_context(verify: bool | str) -> ssl.SSLContext:
    """httpx's own context (certifi's CAs), or one trusting the given CA bundle or folder."""
    if not isinstance(verify, str):
        return httpx.create_ssl_context()
    if Path(verify).is_dir():
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


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
    """Send one request and read the whole answer within ``deadline`` seconds, from connect
    to the last body byte (see the module docstring).

    The body is ``json_body`` (encoded here) or ``content`` (JSON already encoded).

    ``on_headers`` runs once the response headers arrived, before the body is read (a
    crash-test hook: the server has processed the request, the client does not know yet).

    Raises NotSent, OutcomeUnknown (their message says what went wrong and that the work will
    be retried), or ConfigError (TLS, a redirect, a bad URL).
    """
    started = clock.monotonic()
    real_start = time.monotonic()  # socket timeouts are real time, whatever ``clock`` is
    full = url if url.startswith(("http://", "https://")) else joined(client.base_url, url)
    send_headers = dict(headers or {})
    if content is not None:
        send_headers["Content-Type"] = "application/json"
    elif json_body is not None:
        # allow_nan=False: a stored inf can never be sent as invalid JSON (it parks instead).
        content = json.dumps(json_body, allow_nan=False, ensure_ascii=False).encode("utf-8")
        send_headers["Content-Type"] = "application/json"
    try:
        with (
            within(deadline),
            client.stream(method, url, content=content, headers=send_headers) as response,
        ):
            redirect = redirect_error(
                response.status_code, response.headers.get("location"), method, full
            )
            if redirect is not None:
                raise redirect
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
                    raise OutcomeUnknown(no_answer(full, method, deadline))
            raw = b"".join(chunks)
            status, response_headers = response.status_code, dict(response.headers)
    except httpx.ConnectError as err:
        if "CERTIFICATE_VERIFY_FAILED" in str(err) or "SSL" in str(err):
            raise ConfigError(
                f"{method} {url}: TLS verification failed ({err}); if the server uses a "
                "private CA, give its bundle path in the VERIFY setting"
            ) from None
        if "stopping" in str(err):
            raise Interrupted(f"{method} {full}: not sent, sync is stopping") from None
        raise Unreachable(full, connect_cause(type(err).__name__, str(err))) from None
    except httpx.ConnectTimeout as err:
        raise Unreachable(full, connect_cause(type(err).__name__, str(err))) from None
    except httpx.PoolTimeout as err:  # our own pool is full: says nothing about the server
        raise NotSent(f"cannot connect to {full} ({type(err).__name__}); will retry") from None
    except httpx.UnsupportedProtocol as err:
        raise ConfigError(f"{method} {url}: {err}") from None
    except httpx.TimeoutException:
        waited = time.monotonic() - real_start
        limit = deadline if waited >= deadline * 0.9 else client.timeout.read or deadline
        raise OutcomeUnknown(no_answer(full, method, limit)) from None
    except httpx.TransportError as err:
        raise OutcomeUnknown(
            f"{method} {full}: {type(err).__name__}, answer lost; will retry"
        ) from None
    log.debug("%s %s -> %s (%d bytes)", method, url, status, len(raw))
    return Reply(status=status, headers=response_headers, raw=raw)


def joined(base_url: httpx.URL | str, path: str) -> str:
    """The full URL of ``path`` on ``base_url``, for messages (one slash between them)."""
    return f"{str(base_url).rstrip('/')}/{path.lstrip('/')}"


def no_answer(url: str, method: str, seconds: float) -> str:
    """The reason a person reads when a server did not answer in time."""
    shown = f"{seconds:.0f}" if seconds >= 1 else f"{seconds:.1f}"
    return f"no answer from {url} within {shown} s ({method}); will retry"


def _parse(raw: bytes) -> Any:
    """The body as JSON within the limits (an unreadable item of a page a ``BadItem``), or
    None: a deep, huge-number or NaN answer is "not JSON", never a crash."""
    if not raw:
        return None
    try:
        return loads_page(raw)
    except ValueError:
        return None

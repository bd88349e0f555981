"""Offline is a fact about a host, said once per run (sync.http.reach, sync.http.failures),
and an error answer's words whatever its form (sync.http.words). Pure: no I/O."""

from __future__ import annotations

import random

import pytest

from sync.clock import ManualClock
from sync.errors import ConfigError
from sync.http.failures import NotSent, StillUnreachable, Unreachable, connect_cause, origin_of
from sync.http.reach import Reachability
from sync.http.retry import RetryPolicy, build_retrying
from sync.http.words import LIMIT, said
from sync.tight import verdicts as vd


@pytest.mark.parametrize(
    ("kind", "detail", "cause"),
    [
        ("ConnectError", "[Errno 111] Connection refused", "connection refused"),
        ("ConnectError", "[Errno -2] Name or service not known", "the host name does not"),
        (
            "ConnectError",
            "[Errno -3] Temporary failure in name resolution",
            "the host name could not",
        ),
        ("ConnectError", "[Errno 101] Network is unreachable", "no route to the server"),
        ("ConnectError", "[Errno 113] No route to host", "no route to the server"),
        ("ConnectTimeout", "timed out", "no answer to the connection attempt"),
        ("ConnectError", "something new", "something new"),
        ("ConnectError", "", "ConnectError"),
    ],
)
def test_a_connect_failure_is_said_in_words(kind: str, detail: str, cause: str) -> None:
    assert connect_cause(kind, detail).startswith(cause)


def test_the_origin_makes_the_default_port_explicit() -> None:
    assert origin_of("https://api.example.org/v6/mileage?x=1") == "https://api.example.org:443"
    assert origin_of("http://127.0.0.1/x") == "http://127.0.0.1:80"
    assert origin_of("http://127.0.0.1:8080/a") == "http://127.0.0.1:8080"


def test_a_host_given_up_on_is_not_tried_again_in_the_run_others_are() -> None:
    reach = Reachability()
    reach.check("http://a.test/x")  # nothing known: no error
    down = Unreachable("http://a.test:80/v6/mileage", "connection refused")
    reach.give_up(down)
    reach.give_up(Unreachable("http://a.test/other", "later failure"))  # the first one stays
    with pytest.raises(StillUnreachable, match="connection refused; not tried again") as still:
        reach.check("http://a.test/v1/additional-costs/list")
    assert isinstance(still.value, NotSent)  # the queue keeps the work, as for any not-sent
    reach.check("http://b.test/x")
    reach.check("https://a.test/x")  # another port is another server
    assert reach.down == [down]
    with pytest.raises(ValueError, match="connect_tries"):
        Reachability(0)


def _tries(policy: RetryPolicy, error: Exception) -> int:
    calls = 0

    def fail() -> None:
        nonlocal calls
        calls += 1
        raise error

    clock = ManualClock()
    retrying = build_retrying(policy, rng=random.Random(1), sleep=clock.sleep)
    with pytest.raises(type(error)):
        retrying(fail)
    return calls


def test_connect_tries_bound_only_unreachable_servers() -> None:
    policy = RetryPolicy(attempts=5, connect_tries=2)
    assert _tries(policy, Unreachable("http://a.test/x", "connection refused")) == 2
    assert _tries(policy, NotSent("HTTP 503")) == 5  # a server that answers keeps its retries
    assert _tries(RetryPolicy(attempts=5), Unreachable("http://a.test/x", "refused")) == 5
    # Already given up on in this run: never retried, whatever the policy.
    assert _tries(RetryPolicy(attempts=5), StillUnreachable("http://a.test/x", "refused")) == 1
    with pytest.raises(ConfigError, match="connect_tries"):
        RetryPolicy(connect_tries=0)


@pytest.mark.parametrize(
    ("raw", "content_type", "words"),
    [
        (b"Service Unavailable\r\n  try later\n", "text/plain", "Service Unavailable try later"),
        (
            b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
            b"<body><h1>503</h1></body></html>",
            "text/html",
            "503 Service Temporarily Unavailable",
        ),
        (b"<p>Gateway <b>timeout</b> &amp; more</p>", None, "Gateway timeout & more"),
        (b'{"message": "busy"}', "application/json", '{"message": "busy"}'),
        (b"\x1b[2Jall synced", "text/plain", "\\x1b[2Jall synced"),  # never acted on
        (b"caf\xe9", "text/plain", "caf\ufffd"),
        (b"", "text/plain", None),
        (b"  \n ", "text/plain", None),
        (b"<html><body> </body></html>", "text/html", None),
    ],
)
def test_an_answers_words_whatever_its_form(
    raw: bytes, content_type: str | None, words: str | None
) -> None:
    assert said(raw, content_type) == words


def test_long_words_are_cut_and_marked() -> None:
    words = said(b"x" * 10_000)
    assert words is not None
    assert len(words) == LIMIT
    assert words.endswith("...")


def test_a_503_without_tights_error_shape_carries_the_servers_words() -> None:
    verdict = vd.classify_response(503, None, [], "k", retry_after=120, words="down until 14:00")
    assert isinstance(verdict, vd.NotProcessed)
    assert verdict.message == (
        "the server did not process it (service unavailable, HTTP 503: down until 14:00); "
        "it asked to wait 120 s; will retry"
    )
    bare = vd.classify_response(429, None, [], "k")
    assert isinstance(bare, vd.NotProcessed)
    assert "too many requests, HTTP 429 with no explanation" in bare.message
    shaped = vd.classify_response(
        503, {"error": [{"type": "MAINTENANCE", "message": "back at 14:00"}]}, [], "k", words="x"
    )
    assert isinstance(shaped, vd.NotProcessed)
    assert "HTTP 503: back at 14:00" in shaped.message

"""What a server said, in a few words, whatever the form of its answer. Pure: no I/O.

An error answer is not always the API's JSON: a proxy's HTML page ("503 Service Temporarily
Unavailable"), a load balancer's plain text, an empty body. A person reading "kept for
later" deserves the server's own words, made safe for a terminal and kept short.
"""

from __future__ import annotations

import html
import re

from sync.safe_text import visible

__all__ = ["said"]

LIMIT = 200
"""Characters of a server's words kept in a message."""

SCANNED = 64 * 1024
"""Bytes of a body looked at."""

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def said(raw: bytes, content_type: str | None = None, *, limit: int = LIMIT) -> str | None:
    """The words of an answer's body, on one line and at most ``limit`` characters (``...``
    marks a cut); None for an empty body. HTML gives its title, or its text without tags;
    anything else (JSON included: never parsed here) its text, undecodable bytes replaced."""
    raw = raw[:SCANNED]  # an error page's words are at its start; a huge body is not read
    if not raw.strip():
        return None
    kind = (content_type or "").lower()
    head = raw.lstrip()[:1]
    if "html" in kind or head == b"<":
        title = _TITLE.search(raw)
        text = (title.group(1) if title else raw).decode("utf-8", "replace")
        text = html.unescape(_TAG.sub(" ", text))
    else:
        text = raw.decode("utf-8", "replace")
    text = _SPACE.sub(" ", text).strip()
    if not text:
        return None
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return visible(text, one_line=True)

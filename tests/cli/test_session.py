"""The terminal session in docs/session.md is what a person sees: this test plays it on a
pseudo-terminal (record two trips, sync offline, sync online, fix the record the server
parked, sync again), renders each command's screen with a VT100 emulator and compares it
with the page, ids, ports and backoff jitter aside. Issue 16.

``UPDATE_SESSION_TRANSCRIPT=1`` rewrites the page from a fresh recording (then read the diff).
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import sys
from pathlib import Path

import pytest

from sync.sandbox import DEFAULT_TOKEN, ItemRule, Sandbox, SandboxServer
from tests.helpers.terminal import in_terminal

EXE = str(Path(sys.executable).parent / "tracker")
PAGE = Path(__file__).parents[2] / "docs" / "session.md"
BEGIN, END = "<!-- session: begin -->\n```text\n", "```\n<!-- session: end -->"
WIDE = 320  # no line wraps: what is compared is the text, not where a terminal breaks it

OFFLINE = [
    'tracker trip add --date 2026-11-02 --distance 42.5 -c business -d "Client visit, Leipzig"',
    'tracker trip add --date 2026-11-03 --distance 18 -c business -d "Supplier https://maps.example/q"',
    "tracker sync",
]
ONLINE = [
    "tracker sync",
    "tracker parked list",
    'tracker trip edit {parked} -d "Supplier visit, Halle"',
    "tracker sync",
]


def _record(home: Path) -> str:
    # Bound, never listening: a connection is refused ("offline") and no other test's server
    # can take the port while this one plays offline; it is let go for the sandbox to take.
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") and k != "NO_COLOR"}
    env.update(
        TERM="xterm-256color",
        TRACKER_HOME=str(home),
        TRACKER_TIMEZONE="Europe/Berlin",
        TRACKER_MILEAGE_URL=f"http://127.0.0.1:{port}",
        TRACKER_MILEAGE_TOKEN=DEFAULT_TOKEN,
    )
    shown: list[str] = []
    parked: list[str] = []

    def type_(command: str) -> None:
        command = command.format(parked=parked[0] if parked else "")
        run = in_terminal([EXE, *shlex.split(command)[1:]], env, columns=WIDE)
        shown.append(f"$ {command}\n{run.screen}\n")
        if command == "tracker parked list":
            parked.extend(re.findall(r"│ \d+\s+│ ([0-9a-f]{8}) ", run.screen))

    try:
        for command in OFFLINE:
            type_(command)
    finally:
        held.close()
    sandbox = Sandbox()
    sandbox.add_fault(ItemRule.description_contains("https://"))  # a link pasted by mistake
    with SandboxServer(sandbox, port=port):
        for command in ONLINE:
            type_(command)
    return "\n".join(shown)


def normalized(text: str) -> str:
    """The transcript with what changes from run to run made constant."""
    ids = list(
        dict.fromkeys(
            re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)
        )
    )
    for n, full in enumerate(ids):
        text = text.replace(full, f"<trip {n}>").replace(full[:8], f"<trip {n}:8>")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return re.sub(r"retrying in \d+\.\d s", "retrying in N s", text)


def _page_block() -> str:
    page = PAGE.read_text(encoding="utf-8")
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    return page[start:end]


@pytest.mark.slow
def test_the_session_in_the_docs_is_what_a_terminal_shows(tmp_path: Path) -> None:
    recorded = _record(tmp_path / "home")
    if os.environ.get("UPDATE_SESSION_TRANSCRIPT") == "1":
        page = PAGE.read_text(encoding="utf-8")
        start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
        PAGE.write_text(page[:start] + recorded + page[end:], encoding="utf-8")
    assert normalized(_page_block()) == normalized(recorded)
    # What the page must show, whatever the recording: the story of the issue.
    for said in (
        "offline: cannot connect to http://127.0.0.1:",
        "2 changes kept queued",
        "push: 1 saved on Tight; 1 parked",
        "description must not contain 'https://'",
        "queue: empty, all synced",
    ):
        assert said in recorded, said

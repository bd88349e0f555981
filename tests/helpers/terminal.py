"""A real terminal for tests: a command run on a pseudo-terminal (``pty``), what it wrote
byte for byte, and the screen a person would see once it is done (``pyte``, a VT100
emulator: a progress bar drawn and erased leaves no trace on the screen, as on a real one).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyte

COLUMNS = 100
ROWS = 60


@dataclass(frozen=True)
class Run:
    """A command's exit code and the raw bytes it wrote to the terminal."""

    code: int
    raw: bytes
    columns: int = COLUMNS

    @property
    def screen(self) -> str:
        """What the terminal shows at the end (trailing blank lines and spaces dropped)."""
        return screen_text(self.raw, self.columns)


def in_terminal(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float = 60.0,
    columns: int = COLUMNS,
) -> Run:
    """Run ``argv`` with stdin, stdout and stderr on one pseudo-terminal of ``columns`` x
    :data:`ROWS`; ``timeout`` only bounds a command that hangs."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, columns, 0, 0))
    # A shell on this terminal would say its size; a COLUMNS inherited from the test runner
    # would make the command draw for another width.
    sized = {**env, "COLUMNS": str(columns), "LINES": str(ROWS)}
    process = subprocess.Popen(
        list(argv), stdin=slave, stdout=slave, stderr=slave, env=sized, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    ends = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, ends - time.monotonic()))
            if not ready:
                process.kill()
                raise TimeoutError(f"{argv} still running after {timeout} s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal (it exited)
                break
            if not data:
                break
            chunks.append(data)
        code = process.wait(timeout=max(1.0, ends - time.monotonic()))
    finally:
        os.close(master)
    return Run(code, b"".join(chunks), columns)


def screen_text(raw: bytes, columns: int = COLUMNS) -> str:
    """The final screen of ``raw`` terminal output (``columns`` wide), as text."""
    screen = pyte.Screen(columns, ROWS)
    stream = pyte.ByteStream(screen)
    stream.feed(raw)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


_SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def colours(raw: bytes) -> set[int]:
    """The foreground colour codes (30-37, 90-97, and 38 for 256/true colour) ``raw`` sets."""
    found: set[int] = set()
    for match in _SGR.finditer(raw):
        for part in match.group(1).split(b";"):
            if part.isdigit() and (30 <= int(part) <= 38 or 90 <= int(part) <= 97):
                found.add(int(part))
    return found

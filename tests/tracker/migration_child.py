"""A child process for the migration crash tests: it opens (so upgrades) the store at
``argv[1]`` and writes each progress line of migration 0016 to stdout as it is logged. With
``argv[2] == "pause"`` it then waits for a line on stdin before going on, so the parent can
SIGKILL it at that exact point (between two committed chunks, or inside the final
transaction after the swap)."""

from __future__ import annotations

import logging
import sys

from tracker.store import Tracker


class _Tell(logging.Handler):
    def __init__(self, pause: bool) -> None:
        super().__init__()
        self.pause = pause

    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(record.getMessage() + "\n")
        sys.stdout.flush()
        if self.pause:
            sys.stdin.readline()


def main() -> None:
    logger = logging.getLogger("tracker.migrations.waypoint_key")
    logger.setLevel(logging.INFO)
    logger.addHandler(_Tell(pause=sys.argv[2] == "pause"))
    Tracker.open(sys.argv[1], timezone="UTC").close()
    sys.stdout.write("done\n")


if __name__ == "__main__":
    main()

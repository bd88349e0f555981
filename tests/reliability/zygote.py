"""A fork server for the crash campaigns: import everything once, then fork a child per
request. Forked children are real processes with their own PID, killed with a real SIGKILL;
they just skip the half second of imports a fresh interpreter would spend.

Protocol (one JSON object per line): ``{"op": "fork", "job", "args", "out", "err"}`` →
``{"pid": N}``; ``{"op": "wait", "pid": N}`` → ``{"signal": S|null, "code": C|null}``;
``{"op": "quit"}``. Nothing here starts a thread, so forking is safe.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    from tests.reliability import children  # the heavy imports, once

    def reply(obj: object) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ready": True})
    for raw in sys.stdin:
        cmd = json.loads(raw)
        if cmd["op"] == "fork":
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                children.run_child(cmd["job"], cmd["args"], cmd["out"], cmd["err"])
            reply({"pid": pid})
        elif cmd["op"] == "wait":
            _, status = os.waitpid(int(cmd["pid"]), 0)
            reply(
                {
                    "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                    "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                }
            )
        elif cmd["op"] == "quit":
            return


if __name__ == "__main__":
    main()

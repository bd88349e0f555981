"""The sandbox server in a child process on loopback, the way a real remote is: never
sharing the measured client's interpreter (and so its GIL).

``python -m bench.remote COSTS SEED`` serves both APIs (``COSTS`` seeded costs) and speaks a
line protocol on stdin/stdout: it prints its base URLs as JSON, then answers ``reset`` (a
fresh sandbox: no records, no request log, same costs) and ``stats`` (JSON: save requests,
records stored, local ids stored more than once); it exits when stdin closes. The rate limit
is off: throughput benchmarks measure the client, not the 1000/5 min budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from bench.children import REPO, child_env

SAVE_PATH = "/v6/mileage"
LOCAL_ID_KEY = "trackerLocalId"


@dataclass
class Remote:
    """A running child: its URLs, and its control pipe."""

    tight_url: str
    costs_url: str
    _to: IO[str]
    _from: IO[str]

    def _ask(self, command: str) -> str:
        self._to.write(command + "\n")
        self._to.flush()
        return self._from.readline().strip()

    def reset(self) -> None:
        """Serve a fresh sandbox (no records, empty request log; the same seeded costs)."""
        if self._ask("reset") != "ok":
            raise RuntimeError("the sandbox child did not reset")

    def stats(self) -> dict[str, int]:
        """``saves`` (POST /v6/mileage requests), ``stored`` records, ``duplicates``."""
        answer: dict[str, int] = json.loads(self._ask("stats"))
        return answer


@contextmanager
def sandbox_process(costs: int = 0, seed: int = 7) -> Iterator[Remote]:
    """A child process serving the sandbox (``costs`` seeded costs) until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-m", "bench.remote", str(costs), str(seed)],
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        line = child.stdout.readline()
        try:
            urls = json.loads(line) if line.startswith("{") else None
            if urls is None:
                raise RuntimeError("the sandbox child did not start")
            yield Remote(urls["tight"], urls["costs"], child.stdin, child.stdout)
        finally:
            child.stdin.close()  # the child serves until its stdin closes
            child.wait(timeout=60)


def _fresh(costs: int, seed: int) -> Any:
    from sync.sandbox import Sandbox

    sandbox = Sandbox(rate_limit=None)
    if costs:
        sandbox.seed_costs(costs, seed=seed)
    return sandbox


def _serve(costs: int, seed: int) -> None:
    from sync.sandbox import serve

    sandbox = _fresh(costs, seed)
    with serve(sandbox) as server:
        print(json.dumps({"tight": server.tight_url, "costs": server.costs_url}), flush=True)
        for command in sys.stdin:
            if command.strip() == "reset":
                sandbox = _fresh(costs, seed)
                server.use(sandbox)
                print("ok", flush=True)
            elif command.strip() == "stats":
                stored = sandbox.stored_counts_by_custom(LOCAL_ID_KEY)
                stats = {
                    "saves": sandbox.request_count(SAVE_PATH),
                    "stored": sum(stored.values()),
                    "duplicates": sum(1 for n in stored.values() if n > 1),
                }
                print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))

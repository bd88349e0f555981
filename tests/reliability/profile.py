"""Campaign sizes: the CI profile by default, a long "nightly" one on request.

Read once, at import (the suite's autouse fixture scrubs ``TRACKER_*`` variables from the
environment of every test, so they must be read before any test runs):

- ``TRACKER_RELIABILITY_PROFILE``: ``ci`` (default) or ``nightly``;
- ``TRACKER_SCORECARD_OUT``: JSON file the campaigns write their figures to (default: a
  file in pytest's base temp dir, printed at the end of the run);
- ``TRACKER_RELIABILITY_SEED``: master seed of the random campaigns (default fixed, so a CI
  failure reproduces; the seed is part of every campaign's figures).

Only the tests read these; the product never does.
"""

from __future__ import annotations

import os
from typing import TypeVar

PROFILE = os.environ.get("TRACKER_RELIABILITY_PROFILE", "ci").strip().lower() or "ci"
if PROFILE not in ("ci", "nightly"):
    raise ValueError(f"TRACKER_RELIABILITY_PROFILE must be 'ci' or 'nightly', not {PROFILE!r}")
NIGHTLY = PROFILE == "nightly"
SCORECARD_OUT = os.environ.get("TRACKER_SCORECARD_OUT") or None
SEED = int(os.environ.get("TRACKER_RELIABILITY_SEED", "20261123"))

T = TypeVar("T")


def size(ci: T, nightly: T) -> T:
    """The CI or the nightly value, by profile."""
    return nightly if NIGHTLY else ci

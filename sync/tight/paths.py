"""Where Tight's v6 mileage API takes each request (the paths under ``TRACKER_MILEAGE_URL``).

Apart from the wire models (``sync.tight.wire``): a dry run names the paths and never loads
the models (start-up, issue 15).
"""

from __future__ import annotations

__all__ = ["QUERY_PATH", "SAVE_PATH"]

SAVE_PATH = "/v6/mileage"
"""Where saves are POSTed (per-item results)."""
QUERY_PATH = "/v6/mileage/query"
"""Where records are queried (the pull, reconciliation)."""

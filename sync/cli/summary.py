"""The few lines ``tracker sync`` ends with: what each step did, what needs the user and the
command that shows more. Pure: built from the run's JSON document, tested directly.

A part that is zero is left out; a step that did not run prints nothing. What needs the user
(parked changes, conflicts, quarantined costs) is said with the command to run next.
"""

from __future__ import annotations

from typing import Any

__all__ = ["STEP_NAMES", "offline_lines", "summary_lines"]


def _parts(*counted: tuple[int, str]) -> list[str]:
    return [f"{n} {label}" for n, label in counted if n]


def _push(push: dict[str, Any]) -> str:
    parts = _parts(
        (push["synced"], "saved on Tight"),
        (push["deleted"], "deleted on Tight"),
        (push.get("deleted_locally", 0), "deleted before they reached Tight (nothing to send)"),
        (push["retried"], "kept for later"),
        (push["in_doubt"], "in doubt (looked up before any resend)"),
        (len(push["parked"]), "parked: `tracker parked list`"),
    )
    said = "; ".join(parts) if parts else "nothing was due"
    requests = push["requests"]
    if requests:
        said += f" ({requests} request{'s' if requests != 1 else ''})"
    return f"push: {said}"


def _mileage(mileage: dict[str, Any]) -> str:
    parts = _parts(
        (mileage["updated"], "updated here"),
        (mileage["created"], "created here"),
        (mileage["deleted"], "deleted here"),
        (len(mileage["conflicts"]), "in conflict: `tracker conflicts list`"),
        (len(mileage.get("unreadable", [])), "unreadable, kept out: `tracker sync --json`"),
    )
    read = mileage["records"]
    return f"from Tight: {read} record{'s' if read != 1 else ''} read" + (
        "; " + "; ".join(parts) if parts else ", nothing new"
    )


def _costs(costs: dict[str, Any]) -> str:
    parts = _parts(
        (costs["inserted"], "new"),
        (costs["updated"], "updated"),
        (costs["marked_not_seen"], "no longer listed"),
        (costs["quarantined"], "quarantined: `tracker costs list --quarantined`"),
        (costs["ambiguous"], "linked to no single trip: `tracker costs list`"),
        (costs.get("others", 0), "another account's (left alone)"),
    )
    read = costs["items"]
    done = "" if costs["complete"] else " (incomplete: the next sync resumes)"
    return f"costs: {read} read{done}" + ("; " + "; ".join(parts) if parts else ", nothing new")


STEP_NAMES = {"costs": "costs", "mileage": "from Tight", "push": "push"}
"""What a person reads for each step: the summary's line labels and the progress bar's."""


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """The summary of a sync run's document (``SyncReport.to_dict()`` plus ``journal``)."""
    lines = []
    failed = doc.get("failures") or {}
    for step, say in (("costs", _costs), ("mileage", _mileage), ("push", _push)):
        if step in failed:  # its counts would only say "nothing": say why instead
            lines.append(f"{STEP_NAMES[step]}: not done: {failed[step]['message']}")
        elif doc.get(step):
            lines.append(say(doc[step]))
    journal = doc["journal"]
    waiting = _parts(
        (journal["pending"], "pending"),
        (journal["parked"], "parked: `tracker parked list`"),
        (journal["conflicts"], "in conflict: `tracker conflicts list`"),
    )
    lines.append("queue: " + ("; ".join(waiting) if waiting else "empty, all synced"))
    return lines


def offline_lines(doc: dict[str, Any], urls: dict[str, str]) -> list[str]:
    """One line per server the run could not connect to: the cause, the address, the
    setting that holds it and what happens next. ``urls``: setting name -> configured base
    URL (``TRACKER_MILEAGE_URL``, ``TRACKER_COSTS_URL``)."""
    from sync.http.failures import origin_of

    lines = []
    pending = doc["journal"]["pending"]
    for down in doc.get("unreachable") or []:
        names = [name for name, url in urls.items() if url and origin_of(url) == down["origin"]]
        where = " and ".join(names) or "the configured URL"
        if pending:
            them = "them" if pending != 1 else "it"
            then = (
                f"{pending} change{'s' if pending != 1 else ''} kept queued: the next sync "
                f"sends {them} (`tracker sync` when online, or the daemon by itself)"
            )
        else:
            then = "nothing is lost: the next sync (`tracker sync`, or the daemon) resumes"
        lines.append(
            f"offline: cannot connect to {down['origin']} ({down['cause']}); check the "
            f"network, or the address in {where}; {then}"
        )
    return lines

"""The ``tracker`` command: a thin shell over the library.

Every expected failure ends in one line on stderr and an exit code from
``sync.cli.exitcodes``; a traceback is shown only with ``TRACKER_DEBUG=1``. That includes an
install without the ``cli`` extra (no Typer or Rich): one line naming the install command, 78.
Heavy imports (SQLAlchemy, httpx, APScheduler) happen inside commands, so ``--help`` is fast.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tracker`` console script: runs the command in ``argv`` (default:
    the process's arguments) and exits with its code.

    Called as the console script (no ``argv``), the process ends without the interpreter's
    slow shutdown once the command is done (:mod:`sync.cli.shutdown`); called with ``argv``
    it raises ``SystemExit`` like any click program.
    """
    try:
        _run(argv)
    except SystemExit as done:
        if argv is not None:
            raise
        from sync.cli.shutdown import exit_process

        code = done.code
        if not isinstance(code, int):
            if code is not None:
                sys.stderr.write(f"{code}\n")
            code = 0 if code is None else 1
        exit_process(code)


def _run(argv: list[str] | None) -> None:
    from sync.cli.exitcodes import ExitCode, exit_code_for
    from sync.cli.extras import CLI, missing_hint
    from sync.cli.output import error_line

    # The core install has no Typer or Rich (they are the 'cli' extra): say what fixes it.
    hint = missing_hint(CLI, "the tracker command")
    if hint is not None:
        error_line(f"error: {hint}")
        sys.exit(int(ExitCode.CONFIG))

    from sync import logs
    from sync.cli.app import build_app
    from sync.errors import SyncError
    from tracker.errors import TrackerError

    app = build_app()
    try:
        # What the library warns of (a quarantined cost, dropped fixes) reaches stderr as a
        # line for a person ("warning: ..."); -v, TRACKER_LOG_LEVEL or TRACKER_LOG_FORMAT ask
        # for log lines (logfmt or JSON) instead.
        asked = "TRACKER_LOG_LEVEL" in os.environ or "TRACKER_LOG_FORMAT" in os.environ
        logs.configure(
            os.environ.get("TRACKER_LOG_LEVEL", "WARNING"),
            log_format=os.environ.get("TRACKER_LOG_FORMAT", "logfmt") if asked else "plain",
        )
        app(args=argv, prog_name="tracker", standalone_mode=True)
    except (TrackerError, SyncError) as err:
        error_line(f"error: {_in_words(err)}")
        sys.exit(int(exit_code_for(err)))
    except KeyboardInterrupt:
        error_line("interrupted; nothing half-written was kept")
        sys.exit(130)
    except Exception as err:
        if os.environ.get("TRACKER_DEBUG"):
            raise
        error_line(
            f"internal error: {type(err).__name__}: {err}; this is a bug, please report it "
            "(set TRACKER_DEBUG=1 for a traceback)"
        )
        sys.exit(int(ExitCode.SOFTWARE))


def _in_words(err: Exception) -> str:
    """The error as the command line says it (flags, not the library's field names)."""
    from sync.cli.wording import in_flags
    from tracker.errors import InvalidInputError

    return in_flags(err) if isinstance(err, InvalidInputError) else str(err)


__all__ = ["main"]

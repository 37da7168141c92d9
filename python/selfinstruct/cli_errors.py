"""How a subcommand ends on a library error or Ctrl-C: one `error:` line on stderr and an exit status.

The library raises ValueError for bad input (naming file:line for data), OSError for a missing or
busy file, RuntimeError for a failed engine and ImportError for a missing optional dependency (with
its install hint). Each message is written for the user, so the command line prints it alone, without
a traceback, and exits with ERROR_STATUS; Ctrl-C exits with INTERRUPTED_STATUS (128 + SIGINT).
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional

ERROR_STATUS = 2
INTERRUPTED_STATUS = 130
LIBRARY_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, RuntimeError, ImportError)
RESUME_HINT = "; rerun the same command to resume"

Command = Callable[[argparse.Namespace], int]


def report_error(prefix: str, error: object) -> int:
    """Print `<prefix>: error: <error>` on stderr and return ERROR_STATUS (the command's exit status)."""
    print(f"{prefix}: error: {error}", file=sys.stderr)
    return ERROR_STATUS


def report_interrupted(prefix: str, hint: str = "") -> int:
    """Print `<prefix>: interrupted<hint>` on stderr and return INTERRUPTED_STATUS."""
    print(f"{prefix}: interrupted{hint}", file=sys.stderr)
    return INTERRUPTED_STATUS


def show_selfinstruct_notes() -> None:
    """Show the `selfinstruct` logger's INFO notes (a resume, a torn line removed) on stderr, not
    every library's INFO logs; does nothing if that logger already has a handler."""
    import logging  # here, not at the top: `dedup` starts without it, and its start-up time counts

    logger = logging.getLogger("selfinstruct")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def guarded(
    prefix: str,
    run: Command,
    *,
    errors: tuple[type[BaseException], ...] = LIBRARY_ERRORS,
    interrupted_hint: str = "",
    setup: Optional[Callable[[], None]] = None,
) -> Command:
    """`run` as a subcommand handler: `errors` become one `<prefix>: error:` line (exit 2), Ctrl-C one
    `<prefix>: interrupted<hint>` line (exit 130). `setup` (e.g. logging) runs first."""

    def handle(args: argparse.Namespace) -> int:
        if setup is not None:
            setup()
        try:
            return run(args)
        except errors as error:
            return report_error(prefix, error)
        except KeyboardInterrupt:
            return report_interrupted(prefix, interrupted_hint)

    return handle

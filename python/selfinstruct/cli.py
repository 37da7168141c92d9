"""The `selfinstruct` command line: a thin layer over the library API."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__
from .cli_errors import guarded
from .records import RecordError


def build_parser(dedup_only: bool = False) -> argparse.ArgumentParser:
    """The full argument parser (dedup and the pipeline commands); dedup_only skips importing the others."""
    parser = argparse.ArgumentParser(prog="selfinstruct", description=__doc__)
    parser.add_argument("--version", action="version", version=f"selfinstruct {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from .dedup.cli import add_dedup_commands

    add_dedup_commands(subparsers)
    if dedup_only:
        return parser
    from .pipeline.cli import add_pipeline_commands

    add_pipeline_commands(subparsers)
    from .rate.cli import add_rate_commands

    add_rate_commands(subparsers)
    from .report.cli import add_report_commands

    add_report_commands(subparsers)
    from .evaluate.cli import add_evaluate_commands

    add_evaluate_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `selfinstruct` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(dedup_only=arguments[:1] == ["dedup"])  # start-up time counts for dedup
    args = parser.parse_args(arguments)
    # The last net for every command: data and file errors as one line, never a traceback.
    run = guarded("selfinstruct", lambda parsed: int(parsed.func(parsed) or 0),
                  errors=(RecordError, FileNotFoundError, IsADirectoryError, PermissionError))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

"""The `selfinstruct` command line: a thin layer over the library API."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__
from .records import RecordError
from .rouge import TOKENIZERS


def _threads(value: str) -> int:
    number = int(value)
    if number < 1 and number != -1:
        raise argparse.ArgumentTypeError("threads must be >= 1, or -1 for all cores")
    return number


def _threshold(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError("threshold must be between 0 and 1")
    return number


def _add_dedup(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dedup",
        help="keep each instruction only if its ROUGE-L against every kept one is <= threshold",
        description="Exact greedy ROUGE-L deduplication of a JSONL / JSON list / text file, in input order.",
    )
    parser.add_argument("input", help="JSONL, JSON list, or plain text (one instruction per line)")
    parser.add_argument("-o", "--output", help="kept records (default: INPUT.dedup.EXT); rejects go to OUTPUT.rejects.jsonl")
    parser.add_argument("--field", default="instruction", help="the text field of JSON records (default: instruction)")
    parser.add_argument("--threshold", type=_threshold, default=0.7, help="reject if ROUGE-L F > this (default 0.7)")
    parser.add_argument("--seeds", help="a file whose texts are in the pool from the start (not written out)")
    parser.add_argument("--seeds-field", help="the text field of the seeds file (default: --field)")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, default="rouge", help="rouge (reference, default) or unicode")
    parser.add_argument("--threads", type=_threads, default=None, help="worker threads (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=20_000, help="candidates per admission call")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_dedup)


def _run_dedup(args: argparse.Namespace) -> int:
    from .dedup import dedup_file

    summary = dedup_file(
        args.input,
        args.output,
        field=args.field,
        threshold=args.threshold,
        seeds_path=args.seeds,
        seeds_field=args.seeds_field,
        tokenizer=args.tokenizer,
        threads=None if args.threads in (None, -1) else args.threads,
        batch_size=args.batch_size,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(summary.describe())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (dedup and the pipeline commands)."""
    parser = argparse.ArgumentParser(prog="selfinstruct", description=__doc__)
    parser.add_argument("--version", action="version", version=f"selfinstruct {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_dedup(subparsers)
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RecordError as error:
        print(f"selfinstruct: error: {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as error:
        print(f"selfinstruct: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("selfinstruct: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

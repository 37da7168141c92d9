"""`selfinstruct dedup`: the command line over `dedup_file`."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from ..cli_errors import report_error
from ..records import RecordError
from ..rouge import TOKENIZERS
from .formats import FORMATS
from .outputs import OutputError
from .run import DEFAULT_BATCH, MAX_THREADS


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None


def _threads(value: str) -> int:
    number = _integer(value)
    if number != -1 and not 1 <= number <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"threads must be between 1 and {MAX_THREADS}, or -1 for all cores")
    return number


def _batch_size(value: str) -> int:
    number = _integer(value)
    if number < 1:
        raise argparse.ArgumentTypeError("batch size must be >= 1")
    return number


def _threshold(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= number <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError("threshold must be between 0 and 1")
    return number


def add_dedup_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `selfinstruct dedup`."""
    parser = subparsers.add_parser(
        "dedup",
        help="keep each instruction only if its ROUGE-L against every kept one is <= threshold",
        description="Exact greedy ROUGE-L deduplication of a JSONL / JSON list / text file, in input order. "
        "Kept records are written exactly as they appear in the input; both outputs are published together or not at all.",
    )
    parser.add_argument("input", help="JSONL, JSON list, or plain text (one instruction per line); '-' reads stdin")
    parser.add_argument("-o", "--output", help="kept records (default: INPUT.dedup.EXT; required for stdin or a pipe)")
    parser.add_argument("--rejects", help="the rejects file (default: OUTPUT without its suffix + .rejects.jsonl)")
    parser.add_argument("--format", choices=FORMATS, help="input format (default: from the suffix, else the first character)")
    parser.add_argument("--field", default="instruction", help="the text field of JSON records (default: instruction)")
    parser.add_argument("--threshold", type=_threshold, default=0.7, help="reject if ROUGE-L F > this (default 0.7)")
    parser.add_argument("--seeds", help="a file whose texts are in the pool from the start (not written out)")
    parser.add_argument("--seeds-field", help="the text field of the seeds file (default: --field)")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, default="rouge", help="rouge (reference, default) or unicode")
    parser.add_argument("--threads", type=_threads, default=None, help=f"worker threads, 1-{MAX_THREADS} (default: all cores)")
    parser.add_argument("--batch-size", type=_batch_size, default=DEFAULT_BATCH, help="candidates per admission call")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_dedup)


def _terminate(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def run_dedup(args: argparse.Namespace) -> int:
    """Run the command; data and output problems are one `selfinstruct: error:` line and exit status 2."""
    from .run import dedup_file

    # SIGTERM unwinds like Ctrl-C, so temporary files are removed on the way out.
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    try:
        summary = dedup_file(
            args.input,
            args.output,
            rejects_path=args.rejects,
            field=args.field,
            threshold=args.threshold,
            seeds_path=args.seeds,
            seeds_field=args.seeds_field,
            tokenizer=args.tokenizer,
            threads=None if args.threads in (None, -1) else args.threads,
            batch_size=args.batch_size,
            input_format=args.format,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except (RecordError, OutputError, ValueError, OSError) as error:
        return report_error("selfinstruct", error)
    except MemoryError:
        return report_error("selfinstruct", "out of memory; nothing was published")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    for warning in summary.warnings:
        print(f"selfinstruct: warning: {warning}", file=sys.stderr)
    try:
        print(summary.describe(), flush=True)
    except BrokenPipeError:  # `... | head`: the outputs are published; stop writing to the closed pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0

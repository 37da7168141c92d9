"""`selfinstruct report SOURCE... [-o report.html] [--json stats.json]`: a thin layer over `build_report`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli_errors import guarded


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value}: give a positive number")
    return number


def add_report_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `report` on the main parser."""
    parser = subparsers.add_parser(
        "report", help="Table 1, novelty, lengths, verb-noun diversity and run logs as an HTML page + PNGs",
        description="A dataset report: one self-contained HTML page (opens offline), a PNG per figure next to it, "
                    "and optionally the Table 1 statistics as JSON. Several sources are shown side by side.")
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="a bootstrap output directory, or a dataset file (Alpaca JSON, all_generated_instances.jsonl, "
                             "the original Self-Instruct files, seed tasks, an instruction list)")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.html"), metavar="FILE.html", help="the HTML page (default: report.html)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the Table 1 statistics here")
    parser.add_argument("--seeds", type=Path, default=None, metavar="FILE",
                        help="seed tasks (or any instruction file) for novelty (default: a run's own, else the shipped 175)")
    parser.add_argument("--sample", type=_positive, default=None, dest="diversity_sample", metavar="N",
                        help="parse at most this many instructions per source for the verb-noun figure (default: all)")
    parser.add_argument("--pairwise-sample", type=_positive, default=2000, metavar="N",
                        help="instructions per source for the mean pairwise ROUGE-L (default: 2000)")
    parser.add_argument("--processes", type=_positive, default=1, metavar="N", help="spaCy worker processes (default: 1)")
    parser.add_argument("--no-diversity", action="store_true", help="leave the verb-noun figure out (no spaCy)")
    parser.add_argument("--no-png", action="store_true", help="write no PNG files")
    parser.set_defaults(func=_run_report)


def _report(args: argparse.Namespace) -> int:
    from .build import ReportOptions, build_report
    from .png import require_matplotlib
    from .write import write_report

    if not args.no_png:
        require_matplotlib()  # before the slow part, not after it
    options = ReportOptions(seeds=args.seeds, pairwise_sample=args.pairwise_sample,
                            diversity_sample=args.diversity_sample, processes=args.processes,
                            diversity=not args.no_diversity)
    report = build_report(args.sources, options, log=lambda message: print(message, file=sys.stderr))
    written = write_report(report, args.output, args.json, png=not args.no_png)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    timing = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in report.timings.items())
    print(f"wrote {written[0]} ({len(report.figures)} figures; {timing})")
    for path in written[1:]:
        print(f"wrote {path}")
    return 0


# Bad sources, missing files and a missing matplotlib end as one `error:` line, Ctrl-C as one line.
_run_report = guarded("selfinstruct report", _report)

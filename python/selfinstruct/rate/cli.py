"""Subcommands `rate` (serve the rating page) and `rate-results` (write the results files), thin over
`selfinstruct.rate`."""
from __future__ import annotations

import argparse
import logging
import secrets
from pathlib import Path

from ..cli_errors import guarded


def _port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError("port must be between 0 (any free port) and 65535")
    return number


def add_rate_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `rate` and `rate-results` on the main parser's subparsers."""
    rate = subparsers.add_parser(
        "rate",
        help="serve a local web page where people rate model responses A-D (blinded)",
        description="Serve a blinded rating page for one or more prediction files. Every rating is appended "
                    "to RESULTS and fsynced as it is given; rerun the same command to continue.",
    )
    rate.add_argument("predictions", nargs="+", metavar="PREDICTIONS",
                      help="prediction JSONL files, one per model; NAME=PATH names the model "
                           "(default: the file name less _predictions.jsonl)")
    rate.add_argument("--instructions", required=True,
                      help="the instruction set the predictions answer, as given to `selfinstruct predict` "
                           "(e.g. user_oriented_instructions.jsonl)")
    rate.add_argument("--results", required=True, help="the ratings file (JSONL, appended; created if missing)")
    rate.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    rate.add_argument("--port", type=_port, default=8000, help="port (default: 8000; 0 picks a free one)")
    rate.add_argument("--results-only", metavar="DIR",
                      help="do not serve: write the results files of --results into DIR and exit")
    rate.set_defaults(func=_run_rate)

    results = subparsers.add_parser(
        "rate-results",
        help="write the table, figure and agreement of a ratings file",
        description="Summarise a ratings file: results.json, results.md, ratings.png, ratings.svg and "
                    "results.html (these name the models).",
    )
    results.add_argument("ratings", help="the ratings file written by `selfinstruct rate`")
    results.add_argument("-o", "--output-dir", help="where to write (default: RATINGS less .jsonl + _results)")
    results.add_argument("--models", nargs="+", metavar="MODEL",
                         help="the models to show, in this order (default: every rated model, by name)")
    results.set_defaults(func=_run_rate_results)


def _write_results(ratings: str, output_dir: str | None, models: list[str] | None) -> int:
    from .results_files import RESULT_FILES, write_results

    if output_dir is None:
        path = Path(ratings)
        output_dir = str(path.with_name(path.stem + "_results"))
    results = write_results(ratings, output_dir, models)
    print(results.markdown())
    print(f"wrote {', '.join(RESULT_FILES)} to {output_dir}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .blinding import RatingSet
    from .predictions import load_models, parse_prediction_argument
    from .server import LOOPBACK_NAMES, LOOPBACK_NOTE, RatingServer, is_loopback
    from .store import RatingStore

    predictions = [parse_prediction_argument(argument) for argument in args.predictions]
    if args.results_only is not None:
        return _write_results(args.results, args.results_only, [name for name, _ in predictions])
    rating_set = RatingSet(load_models(predictions, args.instructions))
    token = secrets.token_urlsafe(16)
    with RatingStore(args.results) as store:
        hosts = LOOPBACK_NAMES | {args.host} if is_loopback(args.host) else None
        server = RatingServer(create_app(rating_set, store, results_token=token, allowed_hosts=hosts),
                              args.host, args.port)
        raters = sorted({rating.rater for rating in store.ratings()})
        print(f"{len(rating_set)} responses of {len(rating_set.models)} models; ratings go to {args.results} "
              f"({len(store.ratings())} so far" + (f", raters: {', '.join(raters)})" if raters else ")"))
        if not is_loopback(args.host):
            print(LOOPBACK_NOTE.format(host=args.host))
        print(f"raters open:  {server.url}/")
        print(f"results (names the models; keep this link to yourself): {server.url}/results?token={token}")
        print("press Ctrl-C to stop", flush=True)
        try:
            server.serve_forever()  # returns on Ctrl-C
        finally:
            server.stop()
        print(f"stopped; every rating given is saved ({len(store.ratings())} in {args.results})")
    return 0


def _show_warnings() -> None:
    """Library warnings (an incomplete last line skipped) as `WARNING: ...` lines on stderr."""
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.WARNING)


_run_rate = guarded("selfinstruct rate", _serve, setup=_show_warnings)
_run_rate_results = guarded("selfinstruct rate-results",
                            lambda args: _write_results(args.ratings, args.output_dir, args.models),
                            setup=_show_warnings)

"""Subcommands `evaluate superni`, `evaluate user-oriented` and `predict`: thin wrappers over
`selfinstruct.evaluate` (registered by the top-level cli.py with `add_evaluate_commands`)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Callable

from ..cli_errors import RESUME_HINT, guarded, show_selfinstruct_notes
from ..atomic_files import write_atomic
from .items import TRACKS, EvalItem
from .prompts import PROMPT_STYLES
from .superni_data import DEFAULT_INSTANCES_PER_TASK

PREDICT_TARGETS = ("superni", "user-oriented")


def make_backend(config: Any) -> Any:
    """The backend `predict` uses (a module attribute so tests can run the CLI with a scripted one)."""
    from ..backends import create_backend

    return create_backend(config)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return number


def _add_superni(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "superni", help="SuperNI metrics of a predictions file, as natural-instructions' evaluation script",
        description="Exact match and ROUGE-L (overall, per category, per task) with the official keys.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, metavar="DIR",
                        help="a natural-instructions clone (tasks/NAME.json, splits/default/test_tasks.txt)")
    source.add_argument("--references", type=Path, metavar="FILE",
                        help="the official reference JSONL (id, references, task_id, task_category, track)")
    parser.add_argument("--predictions", type=Path, required=True, metavar="FILE", help='JSONL of {"id", "prediction"}')
    parser.add_argument("-o", "--output", type=Path, help="write the metrics as JSON (the official script's keys)")
    parser.add_argument("--instances-per-task", type=_positive, default=DEFAULT_INSTANCES_PER_TASK,
                        help=f"test instances per task with --data (default: {DEFAULT_INSTANCES_PER_TASK}, the official set)")
    parser.add_argument("--xlingual-tokenizer", type=Path, metavar="DIR",
                        help="a local GPT-2 tokenizer folder: scores the xlingual track (skipped without it)")
    parser.add_argument("--per-group", action="store_true", help="print the per-category and per-task metrics too")
    parser.set_defaults(func=_handler("evaluate superni", _run_superni))


def _run_superni(args: argparse.Namespace) -> int:
    from .predictions import read_predictions
    from .superni import evaluate_superni
    from .superni_data import load_reference_file, load_superni

    if args.data is not None:
        items = load_superni(args.data, instances_per_task=args.instances_per_task)
    else:
        items = load_reference_file(args.references)
    tokenizer = None
    if args.xlingual_tokenizer is not None:
        from .xlingual import LocalGPT2Tokenizer

        tokenizer = LocalGPT2Tokenizer(args.xlingual_tokenizer)
    report = evaluate_superni(items, read_predictions(args.predictions), tokenizer)
    print(report.describe(per_group=args.per_group))
    if args.output is not None:
        write_atomic(args.output, report.to_json() + "\n")
        print(f"metrics written to {args.output}")
    return 0


def _add_user_oriented(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "user-oriented", help="ROUGE-L of several models' predictions on the 252 user-oriented instructions",
        description="One row per prediction file: ROUGE-L F (stemmed) against the reference outputs, exact match.")
    parser.add_argument("--data", type=Path, required=True, metavar="FILE",
                        help="user_oriented_instructions.jsonl (id, instruction, instances with input and output)")
    parser.add_argument("--predictions", type=Path, nargs="+", required=True, metavar="FILE",
                        help='{"id", "prediction"} JSONL files, or response files with instruction, input and response')
    parser.add_argument("-o", "--output", type=Path, help="write the table as JSON")
    parser.set_defaults(func=_handler("evaluate user-oriented", _run_user_oriented))


def _run_user_oriented(args: argparse.Namespace) -> int:
    from .user_oriented import format_table, load_user_oriented, score_user_oriented

    scores = score_user_oriented(load_user_oriented(args.data), args.predictions)
    print(format_table(scores))
    if args.output is not None:
        write_atomic(args.output, json.dumps([dataclasses.asdict(s) for s in scores], indent=2) + "\n")
        print(f"scores written to {args.output}")
    return 0


def _add_predict(subparsers: Any) -> None:
    from ..pipeline.options import add_arguments, backend_specs

    parser = subparsers.add_parser(
        "predict", help="predictions of a model on SuperNI, the user-oriented set or any instruction file",
        description='Writes {"id", "prediction"} JSONL, batch by batch; rerun the same command to resume.')
    parser.add_argument("target", metavar="superni|user-oriented|FILE",
                        help="what to predict: SuperNI test tasks (--data DIR), the user-oriented set (--data FILE), "
                             "or an instruction file (JSONL / JSON list with instruction, input, id)")
    parser.add_argument("--data", type=Path, help="the natural-instructions clone, or user_oriented_instructions.jsonl")
    parser.add_argument("-o", "--output", type=Path, required=True, help="predictions JSONL (resumed if it exists)")
    group = parser.add_argument_group("prompts and decoding")
    group.add_argument("--prompt-style", choices=PROMPT_STYLES, default="completion",
                       help="completion (instruction, Input:, Output:), superni (Definition: ... blocks), alpaca "
                            "(the Stanford Alpaca template), chat (the model's chat template) (default: completion)")
    group.add_argument("--num-pos-examples", type=int, default=0, metavar="K",
                       help="positive examples before the instance (SuperNI tasks have 2 or more; default 0)")
    group.add_argument("--max-tokens", type=_positive, default=128, help="tokens per prediction (default 128)")
    group.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    group.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1.0)")
    group.add_argument("--stop", action="append", metavar="TEXT",
                       help="stop string, repeatable (default: the prompt style's; \\n spells a newline)")
    group.add_argument("--no-stop", action="store_true", help="no stop strings at all")
    group.add_argument("--prompts-per-call", type=_positive, default=16, help="prompts per backend call and per fsync (default 16)")
    group.add_argument("--limit", type=_positive, help="only the first N instances (a quick check)")
    group.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    group.add_argument("--max-input-chars", type=_positive, metavar="N",
                       help="cut each instance's input to N characters (for short-context models; default: never)")
    group.add_argument("--instances-per-task", type=_positive, default=DEFAULT_INSTANCES_PER_TASK,
                       help=f"SuperNI test instances per task (default {DEFAULT_INSTANCES_PER_TASK}, the official set)")
    group.add_argument("--track", choices=TRACKS + ("all",), default="default",
                       help="SuperNI track(s) to predict (default: default)")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    try:
        add_arguments(parser, backend_specs())
    except ImportError:  # backends not installed: predict will say so when it needs one
        pass
    parser.set_defaults(func=_handler("predict", _run_predict))


def _load_target(args: argparse.Namespace) -> tuple[list[EvalItem], dict[str, Any]]:
    if args.target in PREDICT_TARGETS and args.data is None:
        what = "a natural-instructions clone" if args.target == "superni" else "user_oriented_instructions.jsonl"
        raise ValueError(f"predict {args.target} needs --data ({what})")
    if args.target == "superni":
        from .superni_data import load_superni

        tracks = TRACKS if args.track == "all" else (args.track,)
        items = load_superni(args.data, tracks, args.instances_per_task)
        return items, {"target": "superni", "instances_per_task": args.instances_per_task}
    if args.target == "user-oriented":
        from .user_oriented import load_user_oriented

        return load_user_oriented(args.data), {"target": "user-oriented"}
    from .instruction_file import load_instruction_file

    return load_instruction_file(args.target), {"target": "file"}


def _run_predict(args: argparse.Namespace) -> int:
    from ..pipeline.option_values import unescape_flag_text
    from .predict import PredictConfig, check_resumable, predict

    stop = () if args.no_stop else (tuple(unescape_flag_text(s) for s in args.stop) if args.stop else None)
    config = PredictConfig(args.output, args.prompt_style, args.num_pos_examples, args.max_tokens, args.temperature,
                           args.top_p, stop, args.prompts_per_call, args.limit, args.seed, args.max_input_chars)
    items, source = _load_target(args)
    backend_config = _backend_config(args)
    source.update(backend=backend_config.resolved_kind(), model=backend_config.model)
    check_resumable(config, source)
    backend = make_backend(backend_config)
    try:
        summary = predict(items, backend, config, source, progress=not args.no_progress and sys.stderr.isatty())
    finally:
        backend.close()
    print(summary.describe())
    return 0


def _backend_config(args: argparse.Namespace) -> Any:
    from ..backends.config import BackendConfig
    from ..pipeline.options import backend_specs, given_values

    specs = backend_specs()
    values = given_values(args, specs, "predict's config file takes backend flags, e.g. model")
    names = {spec.key: spec.name for spec in specs}
    return BackendConfig(**{names[key]: value for key, value in values.items()}, seed=args.seed)


def _handler(command: str, run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    hint = RESUME_HINT if command == "predict" else ""
    return guarded(f"selfinstruct {command}", run, interrupted_hint=hint, setup=show_selfinstruct_notes)


def add_evaluate_commands(subparsers: Any) -> None:
    """Register `evaluate` (superni, user-oriented) and `predict` on an argparse subparsers object."""
    evaluate = subparsers.add_parser("evaluate", help="score predictions: SuperNI metrics, user-oriented ROUGE-L",
                                     description="Score predictions against references.")
    targets = evaluate.add_subparsers(dest="target", required=True, metavar="TARGET")
    _add_superni(targets)
    _add_user_oriented(targets)
    _add_predict(subparsers)

"""Subcommands `bootstrap`, `generate-instructions`, `identify-clf`, `generate-instances` and
`prepare-finetuning`: thin wrappers over `selfinstruct.pipeline` (the lead's cli.py registers them
with `add_pipeline_commands`; `python -m selfinstruct.pipeline.cli` works on its own too)."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Optional, Sequence

from ..cli_errors import RESUME_HINT, guarded, show_selfinstruct_notes
from .options import add_arguments, backend_specs, pipeline_specs, resolve

COMMANDS: dict[str, tuple[str, bool]] = {
    "bootstrap": ("run every step of the pipeline into an output directory (resumes a killed run)", True),
    "generate-instructions": ("step 1: generate new instructions (alpaca mode: whole tasks)", True),
    "identify-clf": ("step 2: decide which instructions are classification tasks", True),
    "generate-instances": ("step 3: generate input/output instances for every instruction", True),
    "prepare-finetuning": ("step 4: filter instances and write the fine-tuning files", False),
}


def _run(command: str, args: argparse.Namespace) -> int:
    from . import runner as api
    from .steps.finetuning import prepare_finetuning

    needs_backend = COMMANDS[command][1]
    config, backend_config = resolve(args, with_backend=needs_backend)
    started = time.perf_counter()
    if command == "bootstrap":
        summaries = api.bootstrap(config, backend_config=backend_config)
    elif command == "prepare-finetuning":
        summaries = [prepare_finetuning(config)]
    else:
        step = "generate-tasks" if command == "generate-instructions" and config.mode == "alpaca" else command
        if config.mode == "alpaca" and command in ("identify-clf", "generate-instances"):
            raise ValueError(f"{command} is a self-instruct step: alpaca mode generates whole tasks in one step")
        summaries = api.run_steps(config, [step], backend_config=backend_config)
    print(f"\nsummary ({config.output_dir}, {time.perf_counter() - started:.1f} s)")
    for summary in summaries:
        print(summary.format())
    return 0


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    return guarded(f"selfinstruct {command}", lambda args: _run(command, args),
                   interrupted_hint=RESUME_HINT, setup=show_selfinstruct_notes)


def add_pipeline_commands(subparsers: Any) -> None:
    """Register the pipeline subcommands on an argparse subparsers object."""
    for command, (help_text, needs_backend) in COMMANDS.items():
        parser = subparsers.add_parser(command, help=help_text, description=help_text)
        specs = pipeline_specs()
        if needs_backend:
            try:
                specs += backend_specs()
            except ImportError:  # backends not installed: the pipeline flags still work
                pass
        add_arguments(parser, specs)
        parser.set_defaults(func=_handler(command))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="selfinstruct", description="Self-Instruct bootstrap pipeline")
    add_pipeline_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

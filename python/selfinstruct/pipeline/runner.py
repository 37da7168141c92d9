"""The library API: run the whole bootstrap, or one step, on an output directory.

    from selfinstruct.pipeline import PipelineConfig, bootstrap
    summaries = bootstrap(PipelineConfig(output_dir="out", num_instructions=50))
    summaries = bootstrap(config, backend=my_backend)      # any object with the Backend interface

Every step resumes what an earlier (possibly killed) run committed in the same directory. Before
a model is loaded, the state files say which steps still have work; a finished run loads none.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

from ..backends.base import Backend
from .config import PipelineConfig
from .files import CLF_FILE, INSTRUCTIONS_FILE, load_seeds, state_path
from .journal import last_commit
from .progress import StepSummary
from .prompts import chat_formatter
from .steps import (generate_alpaca_tasks, generate_instances, generate_instructions, identify_classification,
                    prepare_finetuning)


def make_backend(backend_config: Any = None, seed: int = 0) -> Backend:
    """Create the configured backend (default: the embedded model on the best local engine)."""
    from ..backends import create_backend
    from ..backends.config import BackendConfig

    return create_backend(backend_config if backend_config is not None else BackendConfig(seed=seed))


StepFunction = Callable[[PipelineConfig, Backend], StepSummary]
GENERATION_STEPS: dict[str, StepFunction] = {
    "generate-instructions": generate_instructions,
    "generate-tasks": generate_alpaca_tasks,
    "identify-clf": identify_classification,
    "generate-instances": generate_instances,
}
JOURNALS = {"generate-instructions": "instructions", "generate-tasks": "alpaca", "identify-clf": "classification",
            "generate-instances": "instances"}
KEPT_KEYS = {"generate-instructions": "admitted", "generate-tasks": "admitted", "identify-clf": "answered",
             "generate-instances": "tasks"}
REQUIRED_INPUTS = {
    "identify-clf": ((INSTRUCTIONS_FILE, "generate-instructions"),),
    "generate-instances": ((INSTRUCTIONS_FILE, "generate-instructions"), (CLF_FILE, "identify-clf")),
}


def check_inputs(config: PipelineConfig, steps: list[str]) -> None:
    """Fail fast on a bad seed file or a missing input that no earlier step of this run produces."""
    load_seeds(config)
    for position, step in enumerate(steps):
        for file_name, producer in REQUIRED_INPUTS.get(step, ()):
            if producer not in steps[:position] and not (config.output_dir / file_name).exists():
                raise FileNotFoundError(f"{config.output_dir / file_name} not found: run `selfinstruct {producer}` first")


def check_chat_template(config: PipelineConfig, steps: list[str], backend: Backend) -> None:
    """Fail before any step runs when a step's chat prompts need a template the backend cannot apply
    (each step checks for itself too, but only when it starts: after the earlier steps' work)."""
    styles = {(config.instructions.prompt_style or config.prompt_style) if step == "generate-instructions"
              else config.prompt_style for step in steps}  # fmt: skip
    if "chat" in styles:
        chat_formatter(backend, "chat")


def _committed(config: PipelineConfig, step: str) -> Optional[dict[str, Any]]:
    return last_commit(state_path(config, JOURNALS[step]))


def _published_records(config: PipelineConfig, step: str) -> Optional[int]:
    """How many records a step-1 (or Alpaca) output file holds, from its marker."""
    try:
        return int(json.loads(state_path(config, JOURNALS[step], ".published.json").read_text())["records"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _finished(config: PipelineConfig, step: str) -> bool:
    """Whether `step` has nothing left to do, from the state files only (no model needed)."""
    commit = _committed(config, step)
    if commit is None:
        return False
    lines = commit["data_lines"]
    if step in ("generate-instructions", "generate-tasks"):
        state = commit.get("state") or {}
        marker = state_path(config, JOURNALS[step], ".published.json")
        try:
            published = json.loads(marker.read_text())
        except (OSError, ValueError):
            return False
        stalled = (state.get("step") or {}).get("stalled", 0)
        window = config.window_for(config.prompts_per_round)
        done = lines >= config.num_instructions or bool(
            config.max_stalled_rounds and stalled >= config.max_stalled_rounds * window)
        return done and published == {"records": lines, "bytes": commit["data_bytes"],
                                      "fields": config.similarity_fields, "sample": config.similarity_sample}
    inputs = _published_records(config, "generate-instructions")
    if step == "generate-instances":
        answered = _committed(config, "identify-clf")
        inputs = min(inputs, answered["data_lines"]) if inputs is not None and answered else None
    return inputs is not None and lines == inputs


def _finished_summary(config: PipelineConfig, step: str) -> StepSummary:
    """The summary of a step found complete: its counters as committed."""
    commit = _committed(config, step) or {}
    summary = StepSummary(step, kept_key=KEPT_KEYS[step], note="nothing to do: already complete")
    summary.counts.update((commit.get("state") or {}).get("counts", {}))
    return summary


def pending_steps(config: PipelineConfig, steps: list[str]) -> list[str]:
    """The steps (from the first one with work left) that a run must make; [] when all are done."""
    for position, step in enumerate(steps):
        if not _finished(config, step):
            return steps[position:]
    return []


def run_steps(config: PipelineConfig, steps: list[str], backend: Optional[Backend] = None,
              backend_config: Any = None) -> list[StepSummary]:
    """Run generation steps in order with one backend, then close it if we created it.

    Steps found finished (their state files say so) are skipped, and without work left no
    backend is created at all."""
    check_inputs(config, steps)  # before a model is loaded
    todo = pending_steps(config, steps)
    summaries = [_finished_summary(config, step) for step in steps if step not in todo]
    if not todo:
        return summaries
    own = backend is None
    if own:
        backend = make_backend(backend_config, config.seed)
    assert backend is not None
    try:
        check_chat_template(config, todo, backend)
        return summaries + [GENERATION_STEPS[step](config, backend) for step in todo]
    finally:
        if own:
            backend.close()


def bootstrap(config: PipelineConfig, backend: Optional[Backend] = None, backend_config: Any = None) -> list[StepSummary]:
    """All steps of the configured mode, then the fine-tuning files.

    `backend`: your own `Backend` object (it stays open); default: one made from `backend_config`
    (the embedded model when None), closed at the end."""
    if config.mode == "alpaca":
        steps = ["generate-tasks"]
    else:
        steps = ["generate-instructions", "identify-clf", "generate-instances"]
    summaries = run_steps(config, steps, backend, backend_config)
    summaries.append(prepare_finetuning(config))
    return summaries

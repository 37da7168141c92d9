"""What the steps share: file names, seed loading, timed backend calls, chat-template wrapping."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional, Sequence

from ..backends.base import Backend, Completion, SamplingParams
from ..seeds import SeedTask, load_seed_tasks
from .config import PipelineConfig
from .progress import StepProgress
from .prompts import ChatFormatter
from .state import read_committed

INSTRUCTIONS_FILE = "machine_generated_instructions.jsonl"
CLF_FILE = "is_clf_or_not.jsonl"
INSTANCES_FILE = "machine_generated_instances.jsonl"
ALPACA_TASKS_FILE = "machine_generated_tasks.jsonl"
ALL_INSTANCES_FILE = "all_generated_instances.jsonl"
FINETUNING_FILE = "finetuning.jsonl"
ALPACA_FILE = "alpaca.json"
CHAT_FILE = "chat.jsonl"
STATE_DIR = "state"


def state_path(config: PipelineConfig, step: str) -> Path:
    """The commit log of a step, under <output_dir>/state/."""
    return config.output_dir / STATE_DIR / f"{step}.jsonl"


def load_seeds(config: PipelineConfig) -> list[SeedTask]:
    """The configured seed tasks (the shipped 175 by default)."""
    tasks = load_seed_tasks(config.seed_tasks)
    if not tasks:
        raise ValueError(f"no seed tasks in {config.seed_tasks}: the pool needs at least one")
    return tasks


def step_settings(config: PipelineConfig, *sections: str) -> dict[str, Any]:
    """The settings that shape a step's output (saved in its state file, compared on resume)."""
    data = config.fingerprint()
    shared = {key: value for key, value in data.items() if not isinstance(value, dict)}
    shared.pop("num_instructions", None)  # growing the target later is a normal way to extend a run
    shared.pop("max_stalled_rounds", None)
    return {**shared, **{section: data[section] for section in sections}}


def generate(
    backend: Backend, prompts: Sequence[str], params: SamplingParams, progress: Optional[StepProgress] = None
) -> list[list[Completion]]:
    """One backend call, timed for the progress bar; checks the shape of the answer."""
    start = time.perf_counter()
    results = backend.generate(list(prompts), params)
    if len(results) != len(prompts) or any(len(group) != params.n for group in results):
        raise RuntimeError(f"backend {getattr(backend, 'name', backend)!r} returned a wrong number of completions")
    if progress is not None:
        progress.generated(results, time.perf_counter() - start)
    return results


def chat_formatter(backend: Backend, style: str) -> Optional[ChatFormatter]:
    """None for completion prompts; for chat, a function wrapping a user message in the model's chat
    template (from `backend.apply_chat_template(messages)`)."""
    if style == "completion":
        return None
    apply = getattr(backend, "apply_chat_template", None)
    name = getattr(backend, "name", type(backend).__name__)
    if apply is None:
        raise ValueError(f"backend {name!r} cannot apply a chat template: use --prompt-style completion")
    try:  # fail here, before the step does any work, rather than at its first prompt
        apply([{"role": "user", "content": "Hello."}])
    except Exception as error:
        raise ValueError(f"backend {name!r} cannot apply a chat template ({error}); use --prompt-style completion") from None

    def wrap(user: str) -> str:
        return apply([{"role": "user", "content": user}])

    return wrap


def read_step_output(config: PipelineConfig, step: str, file_name: str, required_by: str = "") -> list[dict[str, Any]]:
    """The committed records of a step's output (an uncommitted tail from a killed run is ignored)."""
    path = config.output_dir / file_name
    if required_by and not path.exists():
        raise FileNotFoundError(f"{path} not found: {required_by}")
    return read_committed(path, state_path(config, step))

"""The library API: run the whole bootstrap, or one step, on an output directory.

    from selfinstruct.pipeline import PipelineConfig, bootstrap
    summaries = bootstrap(PipelineConfig(output_dir="out", num_instructions=50))

Every step resumes what an earlier (possibly killed) run committed in the same directory.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..backends.base import Backend
from .alpaca_mode import generate_alpaca_tasks
from .classification import identify_classification
from .common import CLF_FILE, INSTRUCTIONS_FILE, chat_formatter, load_seeds
from .config import PipelineConfig
from .finetuning import prepare_finetuning
from .instances import generate_instances
from .instructions import generate_instructions
from .progress import StepSummary


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


def run_steps(config: PipelineConfig, steps: list[str], backend: Optional[Backend] = None,
              backend_config: Any = None) -> list[StepSummary]:
    """Run generation steps in order with one backend, then close it if we created it."""
    check_inputs(config, steps)  # before a model is loaded
    own = backend is None
    if own:
        backend = make_backend(backend_config, config.seed)
    assert backend is not None
    try:
        check_chat_template(config, steps, backend)
        return [GENERATION_STEPS[step](config, backend) for step in steps]
    finally:
        if own:
            backend.close()


def bootstrap(config: PipelineConfig, backend: Optional[Backend] = None, backend_config: Any = None) -> list[StepSummary]:
    """All steps of the configured mode, then the fine-tuning files."""
    if config.mode == "alpaca":
        steps = ["generate-tasks"]
    else:
        steps = ["generate-instructions", "identify-clf", "generate-instances"]
    summaries = run_steps(config, steps, backend, backend_config)
    summaries.append(prepare_finetuning(config))
    return summaries

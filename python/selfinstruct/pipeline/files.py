"""Where the steps read and write: file names, state paths, the seed tasks, committed inputs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..seeds import SeedTask, load_seed_tasks
from .config import PipelineConfig
from .journal import committed_records

INSTRUCTIONS_FILE = "machine_generated_instructions.jsonl"
CLF_FILE = "is_clf_or_not.jsonl"
INSTANCES_FILE = "machine_generated_instances.jsonl"
ALPACA_TASKS_FILE = "machine_generated_tasks.jsonl"
ALL_INSTANCES_FILE = "all_generated_instances.jsonl"
FINETUNING_FILE = "finetuning.jsonl"
ALPACA_FILE = "alpaca.json"
CHAT_FILE = "chat.jsonl"
STATE_DIR = "state"


def state_path(config: PipelineConfig, step: str, suffix: str = ".jsonl") -> Path:
    """A step's commit log (or another of its state files), under <output_dir>/state/."""
    return config.output_dir / STATE_DIR / f"{step}{suffix}"


def load_seeds(config: PipelineConfig) -> list[SeedTask]:
    """The configured seed tasks (the shipped 175 by default)."""
    tasks = load_seed_tasks(config.seed_tasks)
    if not tasks:
        raise ValueError(f"no seed tasks in {config.seed_tasks}: the pool needs at least one")
    return tasks


def step_records(config: PipelineConfig, step: str, file_name: str, required_by: str = "") -> Iterator[dict[str, Any]]:
    """The committed records of a step's output, streamed (an uncommitted tail from a killed run is ignored)."""
    path = config.output_dir / file_name
    if required_by and not path.exists():
        raise FileNotFoundError(f"{path} not found: {required_by}")
    return committed_records(path, state_path(config, step))

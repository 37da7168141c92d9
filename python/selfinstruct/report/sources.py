"""A report's sources: a run directory or one dataset file, read into one `Dataset`.

A run directory is read from the bootstrap's output files (see the table in docs/report.md):
instructions from step 1 (or the Alpaca-mode tasks), classification from step 2, instances from
step 4's all_generated_instances.jsonl, else parsed from step 3's raw completions. Instances of
instructions the run did not generate (seed tasks added with --include-seed-tasks) are left out,
so the figures describe what the run made.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..records import RecordError
from .formats import Content, Triple, read_content
from .runlogs import RunLogs, read_run_logs

INSTRUCTION_FILES = ("machine_generated_instructions.jsonl", "machine_generated_tasks.jsonl")
# in order of preference; all_instances_*.jsonl is the original release's name for step 4's file
INSTANCE_FILES = ("all_generated_instances.jsonl", "all_instances_*.jsonl", "machine_generated_instances.jsonl",
                  "machine_generated_tasks.jsonl")
CLF_PATTERN = "is_clf_or_not*.jsonl"
STATE_FILES = ("state/instructions.jsonl", "state/alpaca.jsonl")


@dataclass
class Dataset:
    """What a report knows of one source.

    `instructions` are distinct, in first-seen order. `classification` is None when the source does
    not say which instructions are classification tasks; `instances` is None when it has none.
    """

    name: str
    path: Path
    kind: str
    instructions: list[str]
    classification: Optional[dict[str, bool]] = None
    instances: Optional[list[Triple]] = None
    seed_file: Optional[Path] = None  # the seed tasks a run was configured with, when it says
    run: Optional[RunLogs] = None
    notes: list[str] = field(default_factory=list)


def _distinct(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _first_existing(folder: Path, patterns: tuple[str, ...]) -> Optional[Path]:
    for pattern in patterns:
        found = sorted(path for path in folder.glob(pattern) if path.is_file())
        if found:
            return found[0]
    return None


def _configured_seeds(folder: Path) -> Optional[Path]:
    """The --seed-tasks file recorded in a step's state header (None: the shipped seeds, or unknown)."""
    for name in STATE_FILES:
        path = folder / name
        if path.is_file():
            with open(path, encoding="utf-8") as handle:
                try:
                    header = json.loads(handle.readline() or "{}")
                except json.JSONDecodeError:
                    return None
            seeds = (header.get("settings") or {}).get("seed_tasks") if isinstance(header, dict) else None
            return Path(seeds) if isinstance(seeds, str) else None
    return None


def _load_run(folder: Path, name: str) -> Dataset:
    instructions_file = _first_existing(folder, INSTRUCTION_FILES)
    instances_file = _first_existing(folder, INSTANCE_FILES)
    if instructions_file is None and instances_file is None:
        raise FileNotFoundError(f"{folder}: no bootstrap output here (expected one of "
                                f"{', '.join(INSTRUCTION_FILES + INSTANCE_FILES[:1])})")
    notes: list[str] = []
    classification: Optional[dict[str, bool]] = None
    for clf_file in sorted(folder.glob(CLF_PATTERN)):
        classification = {**(classification or {}), **(read_content(clf_file, True).classification or {})}
    instances_content = read_content(instances_file, True) if instances_file else None
    if instructions_file is not None:
        instructions = _distinct(read_content(instructions_file, True).instructions)
    else:
        instructions = _distinct(instances_content.instructions) if instances_content else []
    instances = instances_content.instances if instances_content else None
    if classification is None and instances_content is not None:
        classification = instances_content.classification
    if instances is not None and instructions_file is not None:
        generated = set(instructions)
        own = [triple for triple in instances if triple[0] in generated]
        if len(own) < len(instances):
            notes.append(f"{len(instances) - len(own)} instances of seed tasks in {instances_file.name} are not counted")
        instances = own
    if instances_content is not None and instances_content.kind == "raw instances":
        notes.append(f"instances parsed from {instances_file.name} (no {INSTANCE_FILES[0]} yet)")
    if not instructions:
        notes.append("no instructions yet (the run has only just started)")
    run = read_run_logs(folder)
    if run is None:
        notes.append("no rejects/ or progress.jsonl logs: a run made before the bootstrap wrote them, "
                     "or one that has not finished a batch yet")
    return Dataset(name, folder, "run directory", instructions, classification, instances,
                   _configured_seeds(folder), run, notes)


def _from_content(path: Path, name: str, content: Content) -> Dataset:
    return Dataset(name, path, content.kind, _distinct(content.instructions), content.classification, content.instances)


def load_source(path: str | Path, name: Optional[str] = None) -> Dataset:
    """Read a run directory or a dataset file (any format of `formats`) into a Dataset.

    Raises FileNotFoundError for a missing path or an empty directory, RecordError (file:line) for bad data.
    """
    path = Path(path)
    name = name or (path.name if path.name else str(path))
    if path.is_dir():
        return _load_run(path, name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    dataset = _from_content(path, name, read_content(path))
    if not dataset.instructions:
        raise RecordError(path, 1, "no instructions")
    return dataset

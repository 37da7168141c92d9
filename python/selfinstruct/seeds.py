"""Seed tasks: the human-written pool the bootstrap starts from.

A seed file is JSONL, one task a line, in the schema of the original Self-Instruct release:
`{"id", "name", "instruction", "instances": [{"input", "output"}, ...], "is_classification"}`.
Extra keys are ignored. The package ships its own 175 tasks (`data/seed_tasks.jsonl`), the default
pool; the original file and a user's own files load the same way. Every error names the file, the
line and the field, so a hand-edited file is quick to fix.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .records import RecordError, read_jsonl

SEED_FILE_NAME = "seed_tasks.jsonl"


@dataclass(frozen=True)
class Instance:
    """One demonstration of a task; `input` may be empty."""

    input: str
    output: str


@dataclass(frozen=True)
class SeedTask:
    """A seed task: an instruction with at least one instance."""

    id: str
    name: str
    instruction: str
    instances: tuple[Instance, ...]
    is_classification: bool


class SeedFormatError(RecordError):
    """A seed file breaks the schema: "<file>:<line>: field '<field>': <problem>".

    Malformed JSON has no field: "<file>:<line>: malformed JSON (...)". A RecordError, so a
    ValueError too.
    """

    def __init__(self, path: str | os.PathLike[str], line: int, field: str | None, problem: str) -> None:
        self.field = field
        super().__init__(path, line, problem if field is None else f"field {field!r}: {problem}")


def default_seed_path() -> Path:
    """Path of the seed file shipped with the package (the default seed pool)."""
    resource = resources.files("selfinstruct").joinpath("data").joinpath(SEED_FILE_NAME)
    return Path(str(resource))


def _require(record: dict[str, Any], key: str, kind: type, where: tuple[str, int], label: str = "") -> Any:
    """Return record[key] if present and of `kind` (bool is not accepted as int, nor int as bool)."""
    label = label or key
    if key not in record:
        raise SeedFormatError(where[0], where[1], label, "missing")
    value = record[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise SeedFormatError(
            where[0], where[1], label, f"expected {kind.__name__}, got {type(value).__name__} {value!r:.40}"
        )
    return value


def _parse_task(record: dict[str, Any], where: tuple[str, int]) -> SeedTask:
    task_id = _require(record, "id", str, where)
    name = _require(record, "name", str, where)
    instruction = _require(record, "instruction", str, where)
    for key, value in (("id", task_id), ("name", name), ("instruction", instruction)):
        if not value.strip():
            raise SeedFormatError(where[0], where[1], key, "empty")
    raw_instances = _require(record, "instances", list, where)
    if not raw_instances:
        raise SeedFormatError(where[0], where[1], "instances", "empty list: give at least one {input, output}")
    instances = []
    for position, raw in enumerate(raw_instances):
        label = f"instances[{position}]"
        if not isinstance(raw, dict):
            raise SeedFormatError(where[0], where[1], label, f"expected an object, got {type(raw).__name__}")
        instances.append(
            Instance(
                input=_require(raw, "input", str, where, f"{label}.input"),
                output=_require(raw, "output", str, where, f"{label}.output"),
            )
        )
    is_classification = _require(record, "is_classification", bool, where)
    return SeedTask(task_id, name, instruction, tuple(instances), is_classification)


def load_seed_tasks(path: str | os.PathLike[str] | None = None) -> list[SeedTask]:
    """Read and validate a seed file (None: the shipped one), in file order.

    Blank lines are skipped. Malformed JSON, a line that is not an object, a missing field, a wrong
    type, an empty id, name or instruction, no instances or a duplicate id raise SeedFormatError.
    """
    source = default_seed_path() if path is None else Path(path)
    tasks: list[SeedTask] = []
    first_line: dict[str, int] = {}
    try:
        for number, record in read_jsonl(source):
            task = _parse_task(record, (str(source), number))
            if task.id in first_line:
                problem = f"duplicate id {task.id!r} (first on line {first_line[task.id]})"
                raise SeedFormatError(source, number, "id", problem)
            first_line[task.id] = number
            tasks.append(task)
    except SeedFormatError:
        raise
    except RecordError as error:  # malformed JSON: same exception type for every bad line
        prefix = f"{error.path}:{error.line}: "
        raise SeedFormatError(error.path, error.line, None, str(error)[len(prefix):]) from None
    return tasks

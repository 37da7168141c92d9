"""Loading what is rated: an instruction set and one prediction file per model.

Two prediction formats are read:
- ours (and Super-NaturalInstructions'): one {"id", "prediction"} object per line, where "id" names an
  instruction of the instruction set (`--instructions`);
- the original Self-Instruct human-evaluation files: one object per line with "instruction", "input" and
  "response", in the order of the instruction set (line i answers instruction i).
Every error names the file and the line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from ..records import RecordError, read_jsonl

# The response text of a prediction record, by the first of these fields present.
RESPONSE_FIELDS = ("prediction", "response")
_MODEL_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


@dataclass(frozen=True)
class Instruction:
    """One task of the instruction set: its id, instruction and (possibly empty) input."""

    id: str
    instruction: str
    input: str


@dataclass(frozen=True)
class Response:
    """One model's response to one instruction: the unit a rater rates."""

    item: str
    model: str
    instruction: str
    input: str
    response: str


def _string_field(path: Path, line: int, record: dict[str, Any], field: str, default: Optional[str] = None) -> str:
    if field not in record:
        if default is not None:
            return default
        raise RecordError(path, line, f"missing field {field!r}")
    value = record[field]
    if not isinstance(value, str):
        raise RecordError(path, line, f"field {field!r} is {type(value).__name__}, expected a string")
    return value


def load_instructions(path: str | os.PathLike[str]) -> list[Instruction]:
    """Read an instruction set: JSONL objects with "id", "instruction", and the input either as "input" or
    as the first of "instances" (the user-oriented evaluation set's layout). Ids must be unique."""
    path = Path(path)
    tasks: list[Instruction] = []
    seen: set[str] = set()
    for line, record in read_jsonl(path):
        task_id = _string_field(path, line, record, "id")
        if task_id in seen:
            raise RecordError(path, line, f"duplicate id {task_id!r}")
        seen.add(task_id)
        instruction = _string_field(path, line, record, "instruction")
        if "input" in record:
            task_input = _string_field(path, line, record, "input")
        else:
            instances = record.get("instances")
            if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
                raise RecordError(path, line, "needs an 'input' field or a non-empty 'instances' list of objects")
            task_input = _string_field(path, line, instances[0], "input", default="")
        tasks.append(Instruction(task_id, instruction, task_input))
    if not tasks:
        raise RecordError(path, 1, "no instructions in the file")
    return tasks


def model_name(path: str | os.PathLike[str]) -> str:
    """The model name a prediction file stands for: its file name less `.jsonl` and `_predictions`."""
    name = Path(path).name
    for suffix in (".jsonl", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    for suffix in ("_predictions", "-predictions", ".predictions"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name


def parse_prediction_argument(argument: str) -> tuple[str, Path]:
    """Split a command-line prediction argument: `NAME=PATH` names the model, a bare PATH is named by
    `model_name`. A path that exists is always taken whole, even if it contains '='."""
    if "=" in argument and not Path(argument).exists():
        name, _, path = argument.partition("=")
        if name and path:
            return check_model_name(name), Path(path)
    return check_model_name(model_name(argument)), Path(argument)


def check_model_name(name: str) -> str:
    """Return `name` if it can name a model (1-100 characters, no control characters), else raise ValueError."""
    if not _MODEL_NAME.match(name):
        raise ValueError(f"bad model name {name!r}: use 1-100 printable characters")
    return name


def _response_text(path: Path, line: int, record: dict[str, Any]) -> str:
    for field in RESPONSE_FIELDS:
        if field in record:
            return _string_field(path, line, record, field)
    raise RecordError(path, line, f"no response: expected one of the fields {', '.join(RESPONSE_FIELDS)}")


def load_predictions(
    path: str | os.PathLike[str], model: str, instructions: Optional[Sequence[Instruction]] = None
) -> list[Response]:
    """Read one model's prediction file as Responses, in the instruction set's order.

    Records with an "id" are matched to `instructions` by id. Records without one are matched by position
    (line i answers instruction i) and must repeat that instruction's text; with no instruction set they
    carry their own "instruction" and "input" and are named `line-N`.
    """
    path = Path(path)
    model = check_model_name(model)
    by_id = {task.id: task for task in instructions} if instructions is not None else None
    found: dict[str, Response] = {}
    position = 0
    for line, record in read_jsonl(path):
        text = _response_text(path, line, record)
        if "id" in record:
            task_id = _string_field(path, line, record, "id")
            if by_id is None:
                raise RecordError(path, line, "records with an 'id' need the instruction set (--instructions)")
            if task_id not in by_id:
                raise RecordError(path, line, f"id {task_id!r} is not in the instruction set")
            task = by_id[task_id]
        elif instructions is not None:
            if position >= len(instructions):
                raise RecordError(path, line, f"more records than the {len(instructions)} instructions")
            task = instructions[position]
            own = _string_field(path, line, record, "instruction")
            if own.strip() != task.instruction.strip():
                raise RecordError(path, line, f"instruction differs from instruction {task.id!r} of the "
                                              "instruction set (records without 'id' must follow its order)")
        else:
            task = Instruction(f"line-{line}", _string_field(path, line, record, "instruction"),
                               _string_field(path, line, record, "input", default=""))
        position += 1
        if task.id in found:
            raise RecordError(path, line, f"a second prediction for {task.id!r}")
        found[task.id] = Response(task.id, model, task.instruction, task.input, text)
    if not found:
        raise RecordError(path, 1, "no predictions in the file")
    if instructions is None:
        return list(found.values())
    return [found[task.id] for task in instructions if task.id in found]


def load_models(
    predictions: Sequence[tuple[str, str | os.PathLike[str]]],
    instructions_path: Optional[str | os.PathLike[str]] = None,
) -> list[Response]:
    """Load several (model name, prediction file) pairs against one optional instruction set.

    Model names must be unique (rename with NAME=PATH on the command line).
    """
    if not predictions:
        raise ValueError("no prediction files given")
    names = [name for name, _ in predictions]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"two prediction files would both be model {duplicates[0]!r}: name them with NAME=PATH")
    instructions = load_instructions(instructions_path) if instructions_path is not None else None
    responses: list[Response] = []
    for name, path in predictions:
        responses.extend(load_predictions(path, name, instructions))
    return responses

"""Loading what is rated: an instruction set and one prediction file per model.

Read exactly as `selfinstruct predict` and `selfinstruct evaluate user-oriented` read them, so the
same files rate and score alike: the instruction set in the user-oriented layout (`instances`) or
any instruction file; predictions as {"id", "prediction"} lines, or as the original Self-Instruct
human-evaluation files (lines with "instruction", "input" and "response", matched by their text).
Every error names the file (and the line, for data).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..evaluate.instruction_file import load_instruction_file
from ..evaluate.items import EvalItem
from ..evaluate.predictions import instance_key, read_predictions
from ..evaluate.user_oriented import load_user_oriented, model_name
from ..records import RecordError, read_jsonl

_MODEL_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


@dataclass(frozen=True)
class Response:
    """One model's response to one instruction: the unit a rater rates."""

    item: str
    model: str
    instruction: str
    input: str
    response: str


def load_instructions(path: str | os.PathLike[str]) -> list[EvalItem]:
    """The instruction set, with the ids `selfinstruct predict` gives its items: a JSONL file whose
    records have `instances` is read as the user-oriented set (a task with several instances gives
    `<id>-<n>`), any other instruction file by position where a record has no `id`."""
    if Path(path).suffix.lower() in (".jsonl", ".ndjson"):
        for _, record in read_jsonl(path):
            if "instances" in record:
                return load_user_oriented(path)
            break
    return load_instruction_file(path)


def check_model_name(name: str) -> str:
    """Return `name` if it can name a model (1-100 characters, no control characters), else raise ValueError."""
    if not _MODEL_NAME.match(name):
        raise ValueError(f"bad model name {name!r}: use 1-100 printable characters")
    return name


def parse_prediction_argument(argument: str) -> tuple[str, Path]:
    """Split a command-line prediction argument: `NAME=PATH` names the model, a bare PATH is named by
    its file name less `_predictions.jsonl`. A path that exists is always taken whole, even with '='."""
    if "=" in argument and not Path(argument).exists():
        name, _, path = argument.partition("=")
        if name and path:
            return check_model_name(name), Path(path)
    return check_model_name(model_name(argument)), Path(argument)


def _line_of(path: str | os.PathLike[str], ident: str) -> int:
    return next((number for number, record in read_jsonl(path) if record.get("id") == ident), 1)


def load_predictions(path: str | os.PathLike[str], model: str, instructions: Sequence[EvalItem]) -> list[Response]:
    """One model's responses, in the instruction set's order (instructions it did not answer are left out).

    An id that is not in the instruction set, or a response line whose instruction and input match no
    item, raises RecordError naming the line.
    """
    model = check_model_name(model)
    by_instance: dict[tuple[str, str], Optional[str]] = {}
    for item in instructions:  # two items with the same text cannot be told apart: None
        key = instance_key(item.instruction, item.input)
        by_instance[key] = None if key in by_instance else item.id
    predictions = read_predictions(path, by_instance)
    known = {item.id for item in instructions}
    for ident in predictions:
        if ident not in known:
            raise RecordError(path, _line_of(path, ident), f"id {ident!r} is not in the instruction set")
    if not predictions:
        raise RecordError(path, 1, "no predictions in the file")
    return [Response(item.id, model, item.instruction, item.input, predictions[item.id])
            for item in instructions if item.id in predictions]


def load_models(
    predictions: Sequence[tuple[str, str | os.PathLike[str]]], instructions_path: str | os.PathLike[str]
) -> list[Response]:
    """Load several (model name, prediction file) pairs against one instruction set.

    Model names must be unique (name them with NAME=PATH on the command line).
    """
    if not predictions:
        raise ValueError("no prediction files given")
    names = [name for name, _ in predictions]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"two prediction files would both be model {duplicates[0]!r}: name them with NAME=PATH")
    instructions = load_instructions(instructions_path)
    responses: list[Response] = []
    for name, path in predictions:
        responses.extend(load_predictions(path, name, instructions))
    return responses

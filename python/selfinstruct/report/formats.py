"""The record formats a report reads, told apart by their fields.

| kind | fields | written by |
|---|---|---|
| instances | instruction, input (optional), output | Alpaca JSON, our all_generated_instances.jsonl, alpaca.json, machine_generated_tasks.jsonl, the original all_instances_*.jsonl |
| seed tasks | instruction, instances: [{input, output}], is_classification | seed_tasks.jsonl |
| raw instances | instruction, raw_instances (the model's text), is_classification (ours only) | step 3: machine_generated_instances.jsonl |
| classification | instruction, is_classification (the model's answer, or a bool) | step 2: is_clf_or_not*.jsonl |
| instructions | instruction | step 1: machine_generated_instructions.jsonl, any instruction list |
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..records import RecordError
from .records import Row, read_rows, text_field

Triple = tuple[str, str, str]


@dataclass
class Content:
    """What one file says: instructions in file order, their classification, their instances."""

    kind: str
    instructions: list[str]
    classification: Optional[dict[str, bool]]  # None: the file does not say
    instances: Optional[list[Triple]]  # None: the file has no instances


def is_classification(value: Any) -> bool:
    """A classification flag: a bool, or a model's answer text ("Yes", " yes.", "No")."""
    if isinstance(value, bool):
        return value
    from ..pipeline.parsing import parse_clf_answer  # the rule step 2 itself applies

    return parse_clf_answer(str(value))


def detect_kind(record: dict[str, Any]) -> str:
    """The kind of a file from the fields of its first record (see the module table)."""
    if "instances" in record and isinstance(record["instances"], list):
        return "seed tasks"
    if "raw_instances" in record:
        return "raw instances"
    if "output" in record:
        return "instances"
    if "is_classification" in record:
        return "classification"
    if "instruction" in record:
        return "instructions"
    if "messages" in record or "prompt" in record:
        raise ValueError("chat and prompt/completion files lose the instruction/input split: "
                         "give alpaca.json or all_generated_instances.jsonl instead")
    raise ValueError(f"no 'instruction' field (fields: {', '.join(sorted(record)[:8])})")


def _clf_map(path: Path, rows: list[Row]) -> Optional[dict[str, bool]]:
    flags = {}
    for number, record in rows:
        if "is_classification" in record:
            flags[text_field(path, number, record, "instruction")] = is_classification(record["is_classification"])
    return flags or None


def _seed_tasks(path: Path, rows: list[Row]) -> Content:
    instructions, instances = [], []
    for number, record in rows:
        instruction = text_field(path, number, record, "instruction")
        instructions.append(instruction)
        items = record.get("instances")
        if not isinstance(items, list):
            raise RecordError(path, number, "field 'instances' is not a list")
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise RecordError(path, number, f"instances[{position}] is {type(item).__name__}, expected an object")
            instances.append((instruction, text_field(path, number, item, "input", ""),
                              text_field(path, number, item, "output")))
    return Content("seed tasks", instructions, _clf_map(path, rows), instances)


def _raw_instances(path: Path, rows: list[Row]) -> Content:
    from .raw_instances import parse_raw_instances

    clf = _clf_map(path, rows)
    instructions = [text_field(path, number, record, "instruction") for number, record in rows]
    raw = [(instruction, text_field(path, number, record, "raw_instances", ""), record)
           for instruction, (number, record) in zip(instructions, rows)]
    return Content("raw instances", instructions, clf, parse_raw_instances(raw, clf or {}))


def read_content(path: Path, allow_empty: bool = False) -> Content:
    """Read one dataset file of any kind in the module table (an empty file is an error unless allowed)."""
    rows = read_rows(path)
    if not rows:
        if allow_empty:  # a step file of a run that has only just started
            return Content("empty", [], None, [])
        raise RecordError(path, 1, "no records")
    try:
        kind = detect_kind(rows[0][1])
    except ValueError as error:
        raise RecordError(path, rows[0][0], str(error)) from None
    if kind == "seed tasks":
        return _seed_tasks(path, rows)
    if kind == "raw instances":
        return _raw_instances(path, rows)
    instructions = [text_field(path, number, record, "instruction") for number, record in rows]
    instances = None
    if kind == "instances":
        instances = [(instruction, text_field(path, number, record, "input", ""), text_field(path, number, record, "output"))
                     for instruction, (number, record) in zip(instructions, rows)]
    return Content(kind, instructions, _clf_map(path, rows), instances)

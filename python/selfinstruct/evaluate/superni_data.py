"""Super-NaturalInstructions test instances: from a clone of allenai/natural-instructions, or from
the official reference JSONL.

The official test set is built the way the repository's leaderboard script builds its reference
file: for each track ("default", then "xlingual"), the tasks listed in
`splits/<track>/test_tasks.txt`, in that order, and of each task the first 100 entries of
`Instances` (the repository puts the selected test instances first). An instance's id is its
`id`, its references are its `output` list, its task id the task's file name, its category the
task's first `Categories` entry.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Optional

from ..records import RecordError, read_jsonl
from .items import TRACKS, EvalItem

DEFAULT_INSTANCES_PER_TASK = 100


def load_superni(
    data_dir: str | os.PathLike[str],
    tracks: Iterable[str] = TRACKS,
    instances_per_task: int = DEFAULT_INSTANCES_PER_TASK,
) -> list[EvalItem]:
    """The test instances of a natural-instructions directory (tasks/NAME.json, splits/TRACK/test_tasks.txt).

    A track whose split file is absent contributes nothing, except "default", which must exist.
    Raises FileNotFoundError or ValueError (naming the file) on a missing or malformed file.
    """
    if isinstance(instances_per_task, bool) or not isinstance(instances_per_task, int) or instances_per_task < 1:
        raise ValueError(f"instances_per_task must be an integer >= 1, got {instances_per_task!r}")
    root = Path(data_dir)
    if not (root / "tasks").is_dir():
        raise FileNotFoundError(f"{root}: no tasks/ folder; give a clone of allenai/natural-instructions")
    items: list[EvalItem] = []
    seen: dict[str, Path] = {}
    for track in tracks:
        if track not in TRACKS:
            raise ValueError(f"unknown track {track!r}: use {' or '.join(TRACKS)}")
        split = root / "splits" / track / "test_tasks.txt"
        if not split.is_file():
            if track == "default":
                raise FileNotFoundError(f"{split} not found: the directory needs splits/default/test_tasks.txt")
            continue
        for name in _task_names(split):
            path = root / "tasks" / f"{name}.json"
            for item in _task_items(path, name, track, instances_per_task):
                if item.id in seen:
                    raise ValueError(f"{path}: instance id {item.id!r} also appears in {seen[item.id]}")
                seen[item.id] = path
                items.append(item)
    return items


def _task_names(split: Path) -> list[str]:
    names = [line.strip() for line in split.read_text(encoding="utf-8").splitlines()]
    return [name for name in names if name]


def _task_items(path: Path, name: str, track: str, limit: int) -> list[EvalItem]:
    task = _load_json(path)
    definition = _first_string(task, "Definition", path)
    category = _first_string(task, "Categories", path)
    examples = []
    for index, example in enumerate(task.get("Positive Examples") or []):
        if not isinstance(example, dict) or not isinstance(example.get("input"), str) \
                or not isinstance(example.get("output"), str):
            raise ValueError(f"{path}: Positive Examples[{index}] needs string 'input' and 'output'")
        examples.append((example["input"], example["output"]))
    instances = task.get("Instances")
    if not isinstance(instances, list):
        raise ValueError(f"{path}: 'Instances' must be a list")
    items = []
    for index, instance in enumerate(instances[:limit]):
        where = f"{path}: Instances[{index}]"
        if not isinstance(instance, dict) or not isinstance(instance.get("id"), str) \
                or not isinstance(instance.get("input"), str):
            raise ValueError(f"{where} needs a string 'id' and a string 'input'")
        items.append(EvalItem(instance["id"], definition, instance["input"], _references(instance.get("output"), where),
                              task_id=name, category=category, track=track, examples=tuple(examples)))
    return items


def _load_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"task file {path} not found (listed in the split file)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(path, error.lineno, f"malformed JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object (a natural-instructions task)")
    return data


def _first_string(task: dict[str, Any], key: str, path: Path) -> str:
    value = task.get(key)
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise ValueError(f"{path}: {key!r} must be a non-empty list of strings")
    return value[0]


def _references(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: references must be a non-empty list of strings, got {value!r:.80}")
    return tuple(value)


def load_reference_file(path: str | os.PathLike[str]) -> list[EvalItem]:
    """The official reference JSONL: {"id", "references", optional "task_id", "task_category", "track"}.

    A missing track means "default". Malformed lines and duplicate ids raise RecordError (file:line).
    """
    items: list[EvalItem] = []
    first_line: dict[str, int] = {}
    for number, record in read_jsonl(path):
        ident = record.get("id")
        if not isinstance(ident, str):
            raise RecordError(path, number, f"'id' must be a string, got {ident!r:.80}")
        if ident in first_line:
            raise RecordError(path, number, f"duplicate id {ident!r} (first at line {first_line[ident]})")
        first_line[ident] = number
        try:
            references = _references(record.get("references"), "'references'")
        except ValueError as error:
            raise RecordError(path, number, str(error)) from None
        track = record.get("track", "default")
        if track not in TRACKS:
            raise RecordError(path, number, f"'track' must be one of {', '.join(TRACKS)}, got {track!r:.80}")
        fields = {key: _optional_string(record, key, path, number) for key in ("task_id", "task_category")}
        items.append(EvalItem(ident, "", "", references, fields["task_id"], fields["task_category"], track))
    if not items:
        raise ValueError(f"{path}: no references")
    return items


def _optional_string(record: dict[str, Any], key: str, path: Any, number: int) -> Optional[str]:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise RecordError(path, number, f"{key!r} must be a string, got {value!r:.80}")
    return value

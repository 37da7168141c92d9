"""Any instruction file as prediction items: JSONL or a JSON list of {"instruction", optional
"input", "id", "output"} (alpaca.json has this shape), or plain text, one instruction per line."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from ..records import RecordError, read_jsonl
from .items import EvalItem


def load_instruction_file(path: str | os.PathLike[str]) -> list[EvalItem]:
    """Items in file order. A record without an "id" gets its position ("0", "1", ...); an "output"
    (a string or a list of strings) becomes its references. Bad fields raise RecordError (file:line,
    or file:item number for a JSON list)."""
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for position, (number, record) in enumerate(_records(Path(path))):
        item = _item(record, str(position), path, number)
        if item.id in seen:
            raise RecordError(path, number, f"duplicate id {item.id!r} (first at {seen[item.id]})")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise ValueError(f"{path}: no instructions")
    return items


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    head = text.lstrip()[:1]
    if path.suffix.lower() == ".json" or head == "[":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise RecordError(path, error.lineno, f"malformed JSON ({error.msg})") from None
        if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
            raise RecordError(path, 1, "expected a JSON list of objects")
        yield from enumerate(data, start=1)
    elif path.suffix.lower() in (".jsonl", ".ndjson") or head == "{":
        yield from read_jsonl(path)
    else:  # plain text: one instruction per non-blank line
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield number, {"instruction": line.strip()}


def _item(record: dict[str, Any], default_id: str, path: str | os.PathLike[str], number: int) -> EvalItem:
    ident, instruction, inp = record.get("id", default_id), record.get("instruction"), record.get("input", "")
    if not isinstance(ident, str):
        raise RecordError(path, number, f"'id' must be a string, got {ident!r:.80}")
    if not isinstance(instruction, str) or not isinstance(inp, str):
        raise RecordError(path, number, "needs a string 'instruction' (and a string 'input' if any)")
    output = record.get("output", [])
    references = [output] if isinstance(output, str) else output
    if not isinstance(references, list) or not all(isinstance(text, str) for text in references):
        raise RecordError(path, number, "'output' must be a string or a list of strings")
    return EvalItem(ident, instruction, inp, tuple(references))

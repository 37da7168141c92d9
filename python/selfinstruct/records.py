"""Reading and writing record files: JSONL, a JSON list, or plain text lines.

Every reading error names the file and the line, so a user can fix the input.
Writers append whole lines and fsync, so a crash never leaves a half-written record.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence


class RecordError(ValueError):
    """A record file could not be read: the message names the file and line."""

    def __init__(self, path: str | os.PathLike[str], line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        super().__init__(f"{self.path}:{line}: {message}")


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the format of a record file from its suffix, then its first character.

    Returns "jsonl", "json" or "text".
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix in (".txt", ".text"):
        return "text"
    with open(path, encoding="utf-8") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith("["):
        return "json"
    if head.startswith("{"):
        return "jsonl"
    return "text"


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSONL file.

    A line that is not valid JSON, or not a JSON object, raises RecordError.
    """
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise RecordError(path, number, f"malformed JSON ({error.msg} at column {error.colno})") from None
            if not isinstance(record, dict):
                raise RecordError(path, number, f"expected a JSON object, got {type(record).__name__}")
            yield number, record


def _read_json_list(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(path, error.lineno, f"malformed JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, list):
        raise RecordError(path, 1, f"expected a JSON list of objects, got {type(data).__name__}")
    for position, record in enumerate(data):
        if not isinstance(record, dict):
            raise RecordError(path, 1, f"item {position} is {type(record).__name__}, expected a JSON object")
        yield position + 1, record


def read_records(
    path: str | os.PathLike[str], field: str = "instruction", fmt: str | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Read every record of a file and the text of `field` in each.

    Plain text files give one record per non-blank line: {field: line}.
    Returns (records, texts) in file order. A record without a string `field` raises RecordError.
    """
    fmt = fmt or detect_format(path)
    records: list[dict[str, Any]] = []
    texts: list[str] = []
    if fmt == "text":
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.rstrip("\n").rstrip("\r")
                if line.strip():
                    records.append({field: line})
                    texts.append(line)
        return records, texts
    if fmt == "jsonl":
        rows: Iterable[tuple[int, dict[str, Any]]] = read_jsonl(path)
    elif fmt == "json":
        rows = _read_json_list(path)
    else:
        raise ValueError(f"unknown format {fmt!r}: use 'jsonl', 'json' or 'text'")
    for number, record in rows:
        if field not in record:
            raise RecordError(path, number, f"missing field {field!r}")
        value = record[field]
        if not isinstance(value, str):
            raise RecordError(path, number, f"field {field!r} is {type(value).__name__}, expected a string")
        records.append(record)
        texts.append(value)
    return records, texts


def dump_line(record: dict[str, Any]) -> str:
    """One JSONL line (with newline) for a record, UTF-8 kept readable."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def append_jsonl(path: str | os.PathLike[str], records: Sequence[dict[str, Any]]) -> None:
    """Append records to a JSONL file as whole lines and fsync before returning."""
    if not records:
        return
    payload = "".join(dump_line(record) for record in records)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace a file's contents atomically (write a temporary file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_jsonl_atomic(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> None:
    """Write a whole JSONL file atomically."""
    write_atomic(path, "".join(dump_line(record) for record in records))

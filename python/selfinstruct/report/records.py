"""Reading the record files a report can take: JSONL or a JSON list, with file:line errors.

A run that is still being written (or was killed) may end in a torn line: a JSONL file's last line
without a newline that is not valid JSON is skipped, as the bootstrap itself does on resume.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ..records import RecordError

Row = tuple[int, dict[str, Any]]


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except RecursionError:
                raise RecordError(path, number, "JSON nested too deeply") from None
            except json.JSONDecodeError as error:
                if not line.endswith("\n"):
                    return  # a torn last line of a file still being appended
                raise RecordError(path, number, f"malformed JSON ({error.msg} at column {error.colno})") from None
            if not isinstance(record, dict):
                raise RecordError(path, number, f"expected a JSON object, got {type(record).__name__}")
            yield number, record


def _json_list_rows(path: Path) -> Iterator[Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise RecordError(path, 1, "JSON nested too deeply") from None
    except json.JSONDecodeError as error:
        raise RecordError(path, error.lineno, f"malformed JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, list):
        raise RecordError(path, 1, f"expected a JSON list of objects, got {type(data).__name__}")
    for position, record in enumerate(data):
        if not isinstance(record, dict):
            raise RecordError(path, 1, f"item {position} is {type(record).__name__}, expected a JSON object")
        yield position + 1, record


def _is_json_list(path: Path) -> bool:
    """A .json file, or any file whose first non-blank character is "[" (else JSONL)."""
    if path.suffix.lower() == ".json":
        return True
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return False
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] not in (b"[", b"{", b""):
        raise RecordError(path, 1, "expected JSONL or a JSON list of objects")
    return head.startswith(b"[")


def iter_rows(path: Path) -> Iterator[Row]:
    """(line or item number, object) for every record of a JSONL file or JSON list, streamed for JSONL."""
    path = Path(path)
    try:
        yield from (_json_list_rows(path) if _is_json_list(path) else _jsonl_rows(path))
    except UnicodeDecodeError as error:
        raise RecordError(path, 1, f"not valid UTF-8 ({error.reason})") from None


def read_rows(path: Path) -> list[Row]:
    """Every record of a JSONL file or JSON list (see `iter_rows`)."""
    return list(iter_rows(path))


def text_field(path: Path, number: int, record: dict[str, Any], key: str, default: str | None = None) -> str:
    """record[key] as a string, or a RecordError naming the file, line and field."""
    if key not in record:
        if default is not None:
            return default
        raise RecordError(path, number, f"missing field {key!r}")
    value = record[key]
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise RecordError(path, number, f"field {key!r} is {type(value).__name__}, expected a string")
    return value

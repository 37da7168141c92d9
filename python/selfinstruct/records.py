"""Record files: parsing JSON records with errors that name the file and line, and JSONL writers.

Every reading error is a RecordError naming the file and the line, so a user can fix the input.
Writers append whole lines and fsync, so a crash never leaves a half-written record.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterable, Iterator, Sequence

from .atomic_files import write_atomic  # re-exported: the record writers' home for callers

# Deep enough for any real record (orjson's own limit is 1,024); see parse_json.
_NESTING_HEADROOM = 2_000


class RecordError(ValueError):
    """A record file could not be read: the message names the file and line."""

    def __init__(self, path: str | os.PathLike[str], line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        super().__init__(f"{self.path}:{line}: {message}")


def json_type_name(value: Any) -> str:
    """The JSON name of a parsed value's type ("a string", "a number", ...), for messages."""
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a number"


def _long_int(digits: str) -> Any:
    """Integers past Python's int-string limit are valid JSON: keep them as Decimals."""
    from decimal import Decimal

    try:
        return int(digits)
    except ValueError:
        return Decimal(digits)


_LENIENT = json.JSONDecoder(parse_int=_long_int)


def parse_json(path: str | os.PathLike[str], line: int, text: str) -> Any:
    """Parse one JSON document with the standard library; every failure is a RecordError at `line`.

    Accepts what the JSON grammar accepts: integers of any length (Python refuses to convert more
    than 4,300 digits: those become Decimals) and nesting up to the interpreter's C stack, with
    headroom over the default recursion limit so that depth never depends on the caller's stack.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(path, line + error.lineno - 1, f"malformed JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        return _parse_deep(path, line, text)
    except ValueError:  # the int-string conversion limit
        return _parse_with(path, line, text, _LENIENT.decode)


def _parse_with(path: str | os.PathLike[str], line: int, text: str, decode: Any) -> Any:
    try:
        return decode(text)
    except json.JSONDecodeError as error:
        raise RecordError(path, line + error.lineno - 1, f"malformed JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise RecordError(path, line, "JSON nested too deeply") from None


def _parse_deep(path: str | os.PathLike[str], line: int, text: str) -> Any:
    # The recursion limit is process-wide; it is raised only for the retry of this one document.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + _NESTING_HEADROOM)
    try:
        return _parse_with(path, line, text, _LENIENT.decode)
    finally:
        sys.setrecursionlimit(limit)


def parse_object(path: str | os.PathLike[str], line: int, text: str) -> dict[str, Any]:
    """Parse one JSONL line that must hold a JSON object (RecordError otherwise)."""
    record = parse_json(path, line, text)
    if not isinstance(record, dict):
        raise RecordError(path, line, f"expected a JSON object, got {json_type_name(record)}")
    return record


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSONL file.

    A UTF-8 byte-order mark is skipped. A line that is not UTF-8, not valid JSON, or not a JSON
    object raises RecordError naming it. Lines end at "\\n" only (and a "\\r" before it).
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8").rstrip("\n")
            except UnicodeDecodeError as error:
                raise RecordError(path, number, f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte {error.start + 1})") from None
            if not line.strip():
                continue
            yield number, parse_object(path, number, line)


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


def write_jsonl_atomic(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> None:
    """Write a whole JSONL file atomically and durably (see `atomic_files`)."""
    write_atomic(path, "".join(dump_line(record) for record in records))

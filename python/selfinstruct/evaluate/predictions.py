"""Reading prediction files: the official JSONL {"id", "prediction"}, one object per line.

For the user-oriented set, the Self-Instruct human-evaluation response files are accepted as
well: lines {"instruction", "input", "response", ...} without ids, matched to the reference
instances by instruction and input (whitespace at either end ignored).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from ..records import RecordError, read_jsonl

InstanceKey = tuple[str, str]


def instance_key(instruction: str, inp: str) -> InstanceKey:
    """How a response line without an id is matched to its instance."""
    return instruction.strip(), inp.strip()


def read_predictions(
    path: str | os.PathLike[str], by_instance: Optional[Mapping[InstanceKey, Optional[str]]] = None
) -> dict[str, str]:
    """{id: prediction} of a prediction file, in file order.

    With `by_instance` ({(instruction, input): id, or None where ambiguous}), response lines without an id are accepted and
    given the id of their instance. A malformed line, a non-string field, a duplicate id or an
    unmatched response raises RecordError naming the file and line.
    """
    predictions: dict[str, str] = {}
    first_line: dict[str, int] = {}
    try:
        for number, record in read_jsonl(path):
            ident, prediction = _parse_line(record, by_instance, path, number)
            if ident in first_line:
                raise RecordError(path, number, f"duplicate id {ident!r} (first at line {first_line[ident]})")
            first_line[ident] = number
            predictions[ident] = prediction
    except RecordError as error:
        message = str(error)[len(f"{error.path}:{error.line}: "):]
        if message.startswith("malformed JSON") and _ends_unfinished(path) and error.line == _line_count(path):
            raise RecordError(path, error.line, f"{message}; the last line is unfinished "
                              "(a killed `selfinstruct predict`? rerun it to complete the file)") from None
        raise
    return predictions


def _parse_line(record: dict, by_instance: Optional[Mapping[InstanceKey, Optional[str]]], path: str | os.PathLike[str],
                number: int) -> tuple[str, str]:
    if "prediction" in record or by_instance is None:
        ident, prediction = record.get("id"), record.get("prediction")
        if not isinstance(ident, str):
            raise RecordError(path, number, f"'id' must be a string, got {ident!r:.80}")
        if not isinstance(prediction, str):
            raise RecordError(path, number, f"'prediction' must be a string, got {prediction!r:.80}")
        return ident, prediction
    instruction, inp, response = record.get("instruction"), record.get("input", ""), record.get("response")
    if not isinstance(instruction, str) or not isinstance(inp, str) or not isinstance(response, str):
        raise RecordError(path, number, 'expected {"id", "prediction"}, or a response line with string '
                          "'instruction', 'input' and 'response'")
    key = instance_key(instruction, inp)
    if key not in by_instance:
        raise RecordError(path, number, f"no reference instance has this instruction and input "
                          f"({key[0]!r:.60}, {key[1]!r:.40})")
    ident = by_instance[key]
    if ident is None:
        raise RecordError(path, number, "several instances have this instruction and input: use {\"id\", \"prediction\"} lines")
    return ident, response


def _ends_unfinished(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def _line_count(path: str | os.PathLike[str]) -> int:
    return Path(path).read_bytes().count(b"\n") + 1

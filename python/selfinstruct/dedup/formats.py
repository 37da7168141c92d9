"""Parse a decoded input into records: JSONL, a JSON list, or plain text lines.

Each record keeps its text (the field that is compared), its line in the file, and its source
text exactly as it appears (the JSONL line, the JSON list item, the text line), so kept records
are written back byte for byte. Every error names the file and the line, JSON lists included.

JSONL lines are parsed with orjson when it is installed (`pip install "selfinstruct[fast]"`) and
with the standard library otherwise. orjson only ever speeds up the common case: whenever it
refuses a line, the line is parsed again by the standard library, which decides (and words any
error), so both parsers give identical results.
"""
from __future__ import annotations

import json
import re
from array import array
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Callable

from ..records import RecordError, json_type_name, parse_json, parse_object
from .source import SourceText

FORMATS = ("jsonl", "json", "text")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_CHECK_CHUNK = 10_000  # texts encoded at once by the surrogate check (bounded extra memory)
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".txt": "text", ".text": "text"}


def orjson_loads() -> Callable[[str], Any] | None:
    """orjson's parser if installed, else None."""
    try:
        import orjson
    except ImportError:
        return None
    return orjson.loads


@dataclass
class Records:
    """The records of one input, in file order."""

    format: str
    texts: list[str]
    lines: array  # 1-based line of each record (array of int64)
    sources: list[str]  # each record's own text in the file, without its line end

    def __len__(self) -> int:
        return len(self.texts)


def detect_format(name: str, text: str) -> str:
    """The format from the file name's suffix, else from the first character ("[": JSON list, "{": JSONL).

    A ".json" file that starts with "{" is JSONL (a JSON list must start with "[").
    """
    start = _WHITESPACE.match(text).end()
    first = text[start:start + 1]
    by_suffix = _SUFFIX_FORMATS.get(PurePath(name).suffix.lower())
    if by_suffix == "json" and first == "{":
        return "jsonl"
    if by_suffix is not None:
        return by_suffix
    return {"[": "json", "{": "jsonl"}.get(first, "text")


def parse_records(source: SourceText, field: str, fmt: str | None = None, *, fast: bool | None = None) -> Records:
    """All records of `source`; the text of each is its string `field` (JSON) or the line itself (text).

    fmt: "jsonl", "json", "text" or None (detect). fast: use orjson for JSONL (None: when installed).
    Raises RecordError naming the file and line of the first bad record.
    """
    guessed = fmt is None and PurePath(source.name).suffix.lower() not in _SUFFIX_FORMATS
    fmt = fmt or detect_format(source.name, source.text)
    try:
        if fmt == "jsonl":
            loads = orjson_loads() if fast is not False else None
            if fast and loads is None:
                raise ImportError('orjson is not installed: pip install "selfinstruct[fast]"')
            records = _parse_jsonl(source, field, loads)
        elif fmt == "json":
            records = _parse_json_list(source, field)
        elif fmt == "text":
            records = _parse_text(source)
        else:
            raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    except RecordError as error:
        if not guessed or fmt == "text":
            raise
        problem = str(error)[len(f"{error.path}:{error.line}: "):]
        kind = "a JSON list" if fmt == "json" else "JSONL"
        raise RecordError(error.path, error.line, f"{problem} (read as {kind} from its first character; "
                          "pass --format text if it is plain text)") from None
    if "\\u" in source.text:  # decoded UTF-8 has no surrogates: only JSON escapes can make one
        _check_unicode(source.name, records)
    return records


def _field_text(name: str, line: int, record: dict[str, Any], field: str) -> str:
    try:
        value = record[field]
    except KeyError:
        raise RecordError(name, line, f"missing field {field!r}") from None
    if not isinstance(value, str):
        raise RecordError(name, line, f"field {field!r} is {json_type_name(value)}, expected a string")
    return value


def _parse_jsonl(source: SourceText, field: str, fast_loads: Callable[[str], Any] | None) -> Records:
    name = source.name
    texts: list[str] = []
    lines = array("q")
    sources: list[str] = []
    add_text, add_line, add_source = texts.append, lines.append, sources.append
    loads = fast_loads or json.loads
    for number, line in enumerate(source.text.split("\n"), start=1):
        # Hot path: one parse, an object whose field is a string. Everything else (blank lines,
        # anything `loads` refuses, other shapes) goes to the standard library, which decides.
        try:
            record = loads(line)
        except Exception:
            record = None
        value = record.get(field) if type(record) is dict else None
        if type(value) is not str:
            if not line.strip():
                continue
            value = _field_text(name, number, parse_object(name, number, line), field)
        add_text(value)
        add_line(number)
        add_source(line)
    return Records("jsonl", texts, lines, sources)


def _parse_json_list(source: SourceText, field: str) -> Records:
    name, text = source.name, source.text
    decoder = json.JSONDecoder()
    texts: list[str] = []
    lines = array("q")
    sources: list[str] = []
    position = _WHITESPACE.match(text).end()
    line = 1 + text.count("\n", 0, position)
    if text[position:position + 1] != "[":
        raise RecordError(name, line, "expected a JSON list of objects (the file does not start with '[')")
    position += 1
    counted = position  # `line` is the line of offset `counted`
    expect_item = True
    while True:
        position = _WHITESPACE.match(text, position).end()
        line += text.count("\n", counted, position)
        counted = position
        char = text[position:position + 1]
        if char == "]" and (expect_item is False or not texts):
            break
        if not expect_item:
            if char != ",":
                what = "the end of the file" if not char else repr(char)
                raise RecordError(name, line, f"malformed JSON list (expected ',' or ']' but found {what})")
            position += 1
            expect_item = True
            continue
        if not char:
            raise RecordError(name, line, "malformed JSON list (it ends before its closing ']')")
        record, end = _decode_item(decoder, name, text, position, line)
        if not isinstance(record, dict):
            raise RecordError(name, line, f"list item {len(texts) + 1} is {json_type_name(record)}, expected a JSON object")
        texts.append(_field_text(name, line, record, field))
        lines.append(line)
        sources.append(text[position:end])
        position = end
        expect_item = False
    trailing = _WHITESPACE.match(text, position + 1).end()
    if trailing != len(text):
        line += text.count("\n", counted, trailing)
        raise RecordError(name, line, "extra data after the JSON list")
    return Records("json", texts, lines, sources)


def _decode_item(decoder: json.JSONDecoder, name: str, text: str, position: int, line: int) -> tuple[Any, int]:
    try:
        return decoder.raw_decode(text, position)
    except json.JSONDecodeError as error:
        where = line + text.count("\n", position, error.pos)
        column = error.pos - text.rfind("\n", 0, error.pos)
        raise RecordError(name, where, f"malformed JSON ({error.msg} at column {column})") from None
    except (RecursionError, ValueError):
        # Deep nesting or a huge integer: parse this one item alone, with the lenient parser.
        end = _item_end(text, position)
        if end is None:
            raise RecordError(name, line, "malformed JSON (an item that never ends)") from None
        return parse_json(name, line, text[position:end]), end


def _item_end(text: str, position: int) -> int | None:
    """The offset just past the JSON value starting at `position` (brackets and strings balanced)."""
    depth = 0
    in_string = escaped = False
    for offset in range(position, len(text)):
        char = text[offset]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            if depth == 0:
                return offset
            depth -= 1
            if depth == 0:
                return offset + 1
        elif depth == 0 and char in ",\n \t\r":
            return offset
    return None if depth else len(text)


def _parse_text(source: SourceText) -> Records:
    texts: list[str] = []
    lines = array("q")
    sources: list[str] = []
    for number, line in enumerate(source.text.split("\n"), start=1):
        if not line.strip():
            continue
        texts.append(line[:-1] if line.endswith("\r") else line)
        lines.append(number)
        sources.append(line)
    return Records("text", texts, lines, sources)


def _check_unicode(name: str, records: Records) -> None:
    """A "\\ud800" escape without its pair is legal JSON but not text: name its line."""
    texts = records.texts
    for start in range(0, len(texts), _CHECK_CHUNK):
        try:
            "".join(texts[start:start + _CHECK_CHUNK]).encode("utf-8")
        except UnicodeEncodeError:
            for index in range(start, min(start + _CHECK_CHUNK, len(texts))):
                try:
                    texts[index].encode("utf-8")
                except UnicodeEncodeError as error:
                    code = ord(texts[index][error.start])
                    raise RecordError(
                        name, records.lines[index],
                        f"the text holds a lone surrogate (\\u{code:04x} escape without its pair): not valid Unicode",
                    ) from None

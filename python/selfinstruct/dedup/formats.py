"""Parse a decoded input into records: JSONL, a JSON list, or plain text lines.

Each record keeps its text (the field that is compared), its line in the file, and its source
text exactly as it appears (the JSONL line, the JSON list item, the text line), so kept records
are written back byte for byte. Every error names the file and the line, JSON lists included.
JSONL and text are parsed block by block as they stream in (source.read_blocks), so only one
block's records are held at a time; a JSON list is parsed whole.

JSONL blocks are read by the compiled core's scanner (cpp/src/json_lines.cpp), which handles only
the common case: every line one JSON object whose field is a string. It refuses a whole block
for anything else, and the block is then parsed with orjson when it is installed
(`pip install "selfinstruct[fast]"`), with the standard library otherwise. Both fast paths only
ever speed up the common case: whenever one refuses, the block is parsed again line by line and
the standard library decides (and words any error), so every parser gives identical results.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
from array import array
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .. import _core
from ..records import RecordError, json_type_name, parse_json, parse_object
from .source import Block, SourceText
from .source_lines import SourceLines

FORMATS = ("jsonl", "json", "text")
PARSERS = ("core", "orjson", "json")  # for JSONL: each falls back to the ones after it
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_BLANK_BYTES = re.compile(rb"[ \t\n\r]*")  # the same, on UTF-8 bytes
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
    """Records of one input (or one part of it), in file order."""

    format: str
    texts: list[str]
    lines: array  # 1-based line of each record (array of int64)
    sources: Sequence  # each record's own text in the file, without its line end (SourceLines as streamed, str from parse_records)
    parser: str = ""  # JSONL: which of PARSERS read these records

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


def parse_records(source: SourceText, field: str, fmt: str | None = None, *, parser: str | None = None) -> Records:
    """All records of a whole decoded input; sources as str. See `stream_records`."""
    block = Block(1, source.text.encode("utf-8"), True, source.text)
    parts = list(stream_records(source.name, iter([block]), field, fmt, parser=parser))
    texts: list[str] = []
    lines = array("q")
    sources: list[str] = []
    for part in parts:
        texts += part.texts
        lines += part.lines
        sources += (item.decode("utf-8") for item in part.sources)
    fmt = parts[0].format if parts else (fmt or detect_format(source.name, source.text))
    return Records(fmt, texts, lines, sources, parts[0].parser if parts else "")


def stream_records(
    name: str, blocks: Iterator[Block], field: str, fmt: str | None = None, *, parser: str | None = None
) -> Iterator[Records]:
    """The records of an input streamed as `blocks` (source.read_blocks), a part per block; sources as bytes.

    The text of a record is its string `field` (JSON) or the line itself (text). fmt: "jsonl",
    "json", "text" or None (detect). parser, for JSONL: the fastest to try, one of PARSERS (None:
    "core"); each falls back to the ones after it ("orjson" only when installed). A JSON list is
    parsed whole. Raises RecordError naming the file and line of the first bad record.
    """
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if parser is not None and parser not in PARSERS:
        raise ValueError(f"unknown parser {parser!r}: use one of {', '.join(PARSERS)}")
    loads = orjson_loads() if parser != "json" else None
    if parser == "orjson" and loads is None:
        raise ImportError('orjson is not installed: pip install "selfinstruct[fast]"')
    use_core = parser in (None, "core")
    guessed = fmt is None and PurePath(name).suffix.lower() not in _SUFFIX_FORMATS
    seen: list[Block] = []
    if fmt is None:  # the first non-blank character decides, however many blank blocks come first
        first = ""
        for block in blocks:
            seen.append(block)
            # (On the bytes: decoding a whole block to find one character cost milliseconds.)
            start = _BLANK_BYTES.match(block.data).end()
            if start < len(block.data):
                first = block.data[start:start + 1].decode("latin-1")  # only "[" and "{" matter
                break
            if block.last:
                break
        fmt = detect_format(name, first)
    blocks = itertools.chain(seen, blocks)
    try:
        if fmt == "json":
            text = "".join(block.text for block in blocks)
            parts = [(_parse_json_list(SourceText(name, text), field), "\\u" in text)]
        else:
            parse = (functools.partial(_parse_jsonl, name, field=field, use_core=use_core, fast_loads=loads)
                     if fmt == "jsonl" else _parse_text)
            parts = ((part, part.parser != "core" and b"\\u" in block.data) for block in blocks for part in [parse(block)])
        for part, escaped in parts:
            # Decoded UTF-8 has no surrogates: only JSON escapes can make one (the core's scanner
            # refuses a lone one).
            if escaped:
                _check_unicode(name, part)
            yield part
    except RecordError as error:
        if not guessed or fmt == "text":
            raise
        problem = str(error)[len(f"{error.path}:{error.line}: "):]
        kind = "a JSON list" if fmt == "json" else "JSONL"
        raise RecordError(error.path, error.line, f"{problem} (read as {kind} from its first character; "
                          "pass --format text if it is plain text)") from None


def _field_text(name: str, line: int, record: dict[str, Any], field: str) -> str:
    try:
        value = record[field]
    except KeyError:
        raise RecordError(name, line, f"missing field {field!r}") from None
    if not isinstance(value, str):
        raise RecordError(name, line, f"field {field!r} is {json_type_name(value)}, expected a string")
    return value


def _lines_of(block: Block) -> list[bytes]:
    lines = block.data.split(b"\n")
    if not block.last or lines[-1] == b"":
        lines.pop()  # what follows the block's last line end (the start of the next block, or nothing)
    return lines


def _numbered(first: int, count: int) -> array:
    """The line numbers first .. first + count - 1."""
    numbers = array("q")
    numbers.frombytes(np.arange(first, first + count, dtype=np.int64).tobytes())
    return numbers


def _parse_jsonl(name: str, block: Block, field: str, use_core: bool, fast_loads: Callable[[bytes], Any] | None) -> Records:
    first = block.first_line
    # Hot paths, a whole block at once: every line an object whose field is a string.
    if use_core:
        found = _core._jsonl_string_fields(block.data, field, line_ends=True)
        if found is not None:
            texts, line_ends = found
            return Records("jsonl", texts, _numbered(first, len(texts)), SourceLines.of_block(block.data, line_ends), "core")
    raw = _lines_of(block)
    if fast_loads is not None:
        try:
            texts = [record[field] for record in map(fast_loads, raw)]
        except Exception:
            texts = None
        if texts is not None and set(map(type, texts)) <= {str}:
            return Records("jsonl", texts, _numbered(first, len(raw)), SourceLines.of_list(raw), "orjson")
    texts = []
    lines = array("q")
    sources: list[bytes] = []
    loads = fast_loads or json.loads
    for offset, line in enumerate(block.text.split("\n")[:len(raw)]):
        # One parse, an object whose field is a string. Everything else (blank lines, anything
        # `loads` refuses, other shapes) goes to the standard library, which decides.
        try:
            record = loads(line)
        except Exception:
            record = None
        value = record.get(field) if type(record) is dict else None
        if type(value) is not str:
            if not line.strip():
                continue
            value = _field_text(name, first + offset, parse_object(name, first + offset, line), field)
        texts.append(value)
        lines.append(first + offset)
        sources.append(raw[offset])
    return Records("jsonl", texts, lines, SourceLines.of_list(sources), "orjson" if fast_loads is not None else "json")


def _parse_json_list(source: SourceText, field: str) -> Records:
    name, text = source.name, source.text
    decoder = json.JSONDecoder()
    texts: list[str] = []
    lines = array("q")
    sources: list[bytes] = []
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
        sources.append(text[position:end].encode("utf-8"))
        position = end
        expect_item = False
    trailing = _WHITESPACE.match(text, position + 1).end()
    if trailing != len(text):
        line += text.count("\n", counted, trailing)
        raise RecordError(name, line, "extra data after the JSON list")
    return Records("json", texts, lines, SourceLines.of_list(sources))


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


def _parse_text(block: Block) -> Records:
    texts: list[str] = []
    lines = array("q")
    sources: list[bytes] = []
    raw = _lines_of(block)
    for offset, line in enumerate(block.text.split("\n")[:len(raw)]):
        if not line.strip():
            continue
        texts.append(line[:-1] if line.endswith("\r") else line)
        lines.append(block.first_line + offset)
        sources.append(raw[offset])
    return Records("text", texts, lines, SourceLines.of_list(sources))


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

"""Read an input exactly once (a file, a pipe, process substitution, or "-" for stdin) and decode it.

Pipes cannot be read twice, so nothing here reopens or seeks: the bytes are read in one pass and
everything after (format detection, parsing) works on the decoded text.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from ..records import RecordError

STDIN = "-"
UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


@dataclass(frozen=True)
class SourceText:
    """A whole input, decoded: `name` is what messages call it ("<stdin>" for "-")."""

    name: str
    text: str


def display_name(source: str | os.PathLike[str]) -> str:
    """How messages name an input."""
    return "<stdin>" if str(source) == STDIN else str(source)


def read_source(source: str | os.PathLike[str]) -> SourceText:
    """Read `source` once ("-" is stdin) and decode it as UTF-8 (a leading byte-order mark is dropped)."""
    name = display_name(source)
    if str(source) == STDIN:
        data = sys.stdin.buffer.read()
    else:
        with open(source, "rb") as handle:
            data = handle.read()
    return SourceText(name, decode_utf8(name, data))


def decode_utf8(name: str, data: bytes) -> str:
    """Strict UTF-8 without a BOM; anything else is a RecordError naming the line and the problem."""
    for mark, encoding in _OTHER_BOMS:
        if data.startswith(mark):
            raise RecordError(
                name, 1, f"the file is {encoding} (it starts with a {encoding} byte-order mark); convert it to UTF-8, "
                f"e.g. iconv -f {encoding} -t UTF-8"
            )
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if _looks_wide(data):
            raise RecordError(name, 1, f"{_WIDE}; the input must be UTF-8") from None
        line_start = data.rfind(b"\n", 0, error.start) + 1
        raise RecordError(
            name, data.count(b"\n", 0, error.start) + 1,
            f"not valid UTF-8 (byte 0x{data[error.start]:02x} at byte {error.start - line_start + 1} of the line); "
            "the input must be UTF-8: convert it, e.g. iconv -f LATIN1 -t UTF-8",
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        hint = _WIDE if _looks_wide(data) else "contains a NUL character (binary data?)"
        raise RecordError(name, text.count("\n", 0, nul) + 1, f"{hint}; the input must be UTF-8 text")
    return text


_WIDE = "contains NUL characters: it looks like UTF-16 or UTF-32 without a byte-order mark"


def _looks_wide(data: bytes) -> bool:
    # Latin text in UTF-16/32 has a NUL byte beside almost every character.
    head = data[:64]
    return len(head) >= 8 and head.count(0) >= len(head) // 4

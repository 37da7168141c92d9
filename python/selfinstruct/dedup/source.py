"""Read an input exactly once (a file, a pipe, process substitution, or "-" for stdin) and decode it.

Pipes cannot be read twice, so nothing here reopens or seeks. `read_blocks` streams the input as
blocks of whole lines, each checked (strict UTF-8, no NUL) and decoded (an ASCII block only when
its text is asked for), so a large input is never held in memory at once; `read_source` joins
them for the readers that need the whole text.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

import numpy as np

from ..records import RecordError

STDIN = "-"
UTF8_BOM = b"\xef\xbb\xbf"
BLOCK_BYTES = 1 << 22  # bytes read at once; a block is then cut after its last line end
# The first reads are smaller and double up to BLOCK_BYTES, so the first records are parsed (and
# their admission starts) after a few milliseconds instead of after two whole blocks.
FIRST_READ_BYTES = 1 << 16
_HEAD = 64  # bytes of the file's start that tell UTF-16/32 without a BOM
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


@dataclass(frozen=True)
class Block:
    """Whole lines of an input: `data` (UTF-8, checked, BOM removed) starts at line `first_line`.

    Every block but the last ends with "\\n"; `text` is `data` decoded.
    """

    first_line: int
    data: bytes
    last: bool
    # The decoded text where checking the data made it (not for ASCII: the JSONL readers of the
    # core never need the text, so an ASCII block is decoded only if asked for).
    decoded: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.decoded if self.decoded is not None else self.data.decode("ascii")


def display_name(source: str | os.PathLike[str]) -> str:
    """How messages name an input."""
    return "<stdin>" if str(source) == STDIN else str(source)


def read_source(source: str | os.PathLike[str]) -> SourceText:
    """Read `source` once ("-" is stdin) and decode it as UTF-8 (a leading byte-order mark is dropped)."""
    return SourceText(display_name(source), "".join(block.text for block in read_blocks(source)))


def read_blocks(source: str | os.PathLike[str], block_bytes: int | None = None) -> Iterator[Block]:
    """Stream `source` ("-" is stdin) once as decoded blocks of whole lines (read `block_bytes` at a time,
    default BLOCK_BYTES); RecordError names the line of a problem."""
    name = display_name(source)
    block_bytes = block_bytes or BLOCK_BYTES
    # Unbuffered, and stdin through a descriptor of our own: a thread blocked reading it never holds
    # the lock of sys.stdin's buffer, which the interpreter takes when it exits.
    with open(os.dup(0) if str(source) == STDIN else source, "rb", buffering=0) as handle:
        yield from _blocks(name, handle, block_bytes)


def _read(handle: BinaryIO, size: int) -> bytes:
    """`size` bytes, fewer only at the end of the input (a pipe returns what it has at each read)."""
    parts = []
    while size > 0:
        part = handle.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _blocks(name: str, handle: BinaryIO, block_bytes: int) -> Iterator[Block]:
    read_bytes = min(block_bytes, FIRST_READ_BYTES)
    data = _read(handle, max(read_bytes, len(UTF8_BOM) + _HEAD))  # any BOM and the head are in the first read
    _refuse_other_boms(name, data)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    head = data[:_HEAD]
    line = 1
    while True:
        read_bytes = min(2 * read_bytes, block_bytes)
        more = _read(handle, read_bytes)
        if not more:
            yield Block(line, data, True, _decode(name, data, line, head))
            return
        # The block ends at the last line end of the new data (or the old data grows by all of
        # it): each byte is copied once on its way into a block.
        cut = more.rfind(b"\n") + 1
        if not cut:
            data += more
            continue
        block = b"".join((data, memoryview(more)[:cut]))
        data = more[cut:]
        yield Block(line, block, False, _decode(name, block, line, head))
        line += _count_lines(block)


def _count_lines(data: bytes) -> int:
    """The line ends in `data` (numpy counts bytes far faster than bytes.count counts a byte)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10))


def decode_utf8(name: str, data: bytes) -> str:
    """Strict UTF-8 without a BOM; anything else is a RecordError naming the line and the problem."""
    _refuse_other_boms(name, data)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    text = _decode(name, data, 1, data[:_HEAD])
    return data.decode("ascii") if text is None else text


def _refuse_other_boms(name: str, data: bytes) -> None:
    for mark, encoding in _OTHER_BOMS:
        if data.startswith(mark):
            raise RecordError(
                name, 1, f"the file is {encoding} (it starts with a {encoding} byte-order mark); convert it to UTF-8, "
                f"e.g. iconv -f {encoding} -t UTF-8"
            )


def _decode(name: str, data: bytes, first_line: int, head: bytes) -> str | None:
    """`data` (whole lines from `first_line` on) checked and decoded, None where it is ASCII (which
    needs no decoding to be checked); `head` is the file's start, for the UTF-16/32 hint."""
    try:
        text = None if data.isascii() else data.decode("utf-8")
    except UnicodeDecodeError as error:
        if _looks_wide(head):
            raise RecordError(name, 1, f"{_WIDE}; the input must be UTF-8") from None
        line_start = data.rfind(b"\n", 0, error.start) + 1
        raise RecordError(
            name, first_line + data.count(b"\n", 0, error.start),
            f"not valid UTF-8 (byte 0x{data[error.start]:02x} at byte {error.start - line_start + 1} of the line); "
            "the input must be UTF-8: convert it, e.g. iconv -f LATIN1 -t UTF-8",
        ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        hint = _WIDE if _looks_wide(head) else "contains a NUL character (binary data?)"
        raise RecordError(name, first_line + data.count(b"\n", 0, nul), f"{hint}; the input must be UTF-8 text")
    return text


_WIDE = "contains NUL characters: it looks like UTF-16 or UTF-32 without a byte-order mark"


def _looks_wide(head: bytes) -> bool:
    # Latin text in UTF-16/32 has a NUL byte beside almost every character.
    return len(head) >= 8 and head.count(0) >= len(head) // 4

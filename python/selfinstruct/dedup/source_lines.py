"""Each record's own bytes in the input, kept as slices of the blocks it was read in.

The dedup writer copies kept records out exactly as they were read. Holding them as (block, start,
end) instead of one bytes object per record spares the reader a million small objects per million
records, and the writer joins the kept ones in one copy (`_core._join_slices`).
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from .. import _core

_EMPTY = np.zeros(0, dtype=np.int64)


class SourceLines:
    """A sequence of bytes: record k is blocks[which[k]][starts[k]:ends[k]]."""

    def __init__(self, blocks: list[bytes], which: npt.NDArray[np.int64], starts: npt.NDArray[np.int64],
                 ends: npt.NDArray[np.int64]) -> None:
        self.blocks, self.which, self.starts, self.ends = blocks, which, starts, ends

    @classmethod
    def of_block(cls, block: bytes, line_ends: npt.NDArray[np.int64]) -> SourceLines:
        """The lines of `block` that end at `line_ends` (each line starts after the previous one's newline)."""
        starts = np.empty_like(line_ends)
        if line_ends.size:
            starts[0] = 0
            starts[1:] = line_ends[:-1] + 1
        return cls([block], np.zeros(line_ends.size, dtype=np.int64), starts, line_ends)

    @classmethod
    def of_list(cls, items: Sequence[bytes]) -> SourceLines:
        """The given byte strings (joined into one block)."""
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        ends = np.cumsum(lengths)
        return cls([b"".join(items)], np.zeros(len(items), dtype=np.int64), ends - lengths, ends)

    @classmethod
    def empty(cls) -> SourceLines:
        return cls([], _EMPTY, _EMPTY, _EMPTY)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, key: int | slice) -> bytes | SourceLines:
        if isinstance(key, slice):
            return SourceLines(self.blocks, self.which[key], self.starts[key], self.ends[key])
        return self.blocks[self.which[key]][self.starts[key]:self.ends[key]]

    def __iter__(self) -> Iterator[bytes]:
        for k in range(len(self)):
            yield self.blocks[self.which[k]][self.starts[k]:self.ends[k]]

    def __add__(self, other: SourceLines) -> SourceLines:
        return SourceLines(self.blocks + other.blocks, np.concatenate((self.which, other.which + len(self.blocks))),
                           np.concatenate((self.starts, other.starts)), np.concatenate((self.ends, other.ends)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (SourceLines, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def joined(self, positions: npt.NDArray[np.int64], separator: bytes, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
        """prefix + separator.join(self[p] for p in positions) + suffix, in one copy."""
        return _core._join_slices(self.blocks, self.which[positions], self.starts[positions], self.ends[positions],
                                  separator, prefix, suffix)

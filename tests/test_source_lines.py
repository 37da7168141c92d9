"""SourceLines (records kept as slices of their blocks) behaves as the list of bytes it stands for."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct import _core
from selfinstruct.dedup.source_lines import SourceLines

LINES = st.lists(st.binary(max_size=6).map(lambda b: b.replace(b"\n", b"")), max_size=10)


def of_block(lines: list[bytes]) -> SourceLines:
    block = b"".join(line + b"\n" for line in lines)
    ends = np.array([i for i, byte in enumerate(block) if byte == 10], dtype=np.int64)
    return SourceLines.of_block(block, ends)


@settings(max_examples=200, deadline=None)
@given(LINES, LINES, st.data())
def test_sliced_and_added_like_lists(first, second, data):
    for make in (SourceLines.of_list, of_block):
        a, b = make(first), make(second)
        assert list(a) == first and a == first and len(a) == len(first)
        whole = a + b + SourceLines.empty()
        assert whole == first + second
        start = data.draw(st.integers(0, len(whole)))
        stop = data.draw(st.integers(start, len(whole)))
        part = whole[start:stop]
        assert part == (first + second)[start:stop]
        if len(part):
            k = data.draw(st.integers(0, len(part) - 1))
            assert part[k] == (first + second)[start + k]
        positions = np.array(sorted(data.draw(st.sets(st.integers(0, max(len(part) - 1, 0)))) if len(part) else []),
                             dtype=np.int64)
        picked = [part[int(p)] for p in positions]
        assert part.joined(positions, b",\n", prefix=b"[", suffix=b"]") == b"[" + b",\n".join(picked) + b"]"


def test_join_slices_checks_its_input():
    block = [b"abc"]
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="starts must be a 1-d array of 1 items"):
        _core._join_slices(block, one, np.zeros(2, dtype=np.int64), one, b"")
    with pytest.raises(IndexError, match="block out of range"):
        _core._join_slices(block, one + 1, one, one, b"")
    with pytest.raises(IndexError, match="slice out of its block"):
        _core._join_slices(block, one, one, one + 4, b"")
    with pytest.raises(IndexError, match="slice out of its block"):
        _core._join_slices(block, one, one + 2, one + 1, b"")
    with pytest.raises(TypeError, match="bytes"):
        _core._join_slices(["abc"], one, one, one + 1, b"")
    assert _core._join_slices(block, np.array([0, 0]), np.array([0, 1]), np.array([1, 3]), b"|", b"<", b">") == b"<a|bc>"

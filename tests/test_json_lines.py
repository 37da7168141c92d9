"""The core's JSON Lines helpers against Python's json: the field scanner accepts only what
json.loads reads the same way, and the rejects writer writes what json.dumps writes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from selfinstruct import _core

FIELD = "instruction"
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)  # no surrogates: UTF-8 can hold them
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=10,
)
RECORDS = st.dictionaries(st.sampled_from(["id", "input", "output", "a\u00e9"]), JSON_VALUES, max_size=3).flatmap(
    lambda other: TEXT.map(lambda text: {**other, FIELD: text})
)
# Pieces that make a line valid JSON of another shape, or not JSON at all.
FRAGMENTS = st.sampled_from([
    "", " ", "\t", "\r", "\x0c", "\x00", "\x1f", ",", ":", "{", "}", "[", "]", '"', "\\", "\\u", "\\ud800", "\\uDC00",
    "\\x41", "\\u00e9", "\\/", "NaN", "Infinity", "-Infinity", "-", "01", "1.", "1e", "1e+", ".5", "+1", "-0", "1E5",
    "true", "tru", "null", "nul", "\u2028", "\u00a0", "\ufeff", "7" * 70, '"instruction"', '"instruction": 1',
    '"instruction": "x"', "\ud7ff", "\U0001F600",
])


def reference(block: bytes) -> list[str] | None:
    """What json.loads reads: the field of every line, or None where a line has none (as a string)."""
    lines = block.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    texts = []
    for line in lines:
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            return None
        if type(record) is not dict or type(record.get(FIELD)) is not str:
            return None
        texts.append(record[FIELD])
    return texts


def check(block: bytes) -> list[str] | None:
    found = _core._jsonl_string_fields(block, FIELD)
    if found is not None:  # whatever the core accepts, json.loads reads alike
        assert found == reference(block)
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(RECORDS, max_size=8), st.booleans(), st.sampled_from([None, (",", ":"), (" , ", " : ")]),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_the_common_case_is_read_like_json_loads(records, ascii_only, separators, newline, final_newline):
    lines = [json.dumps(record, ensure_ascii=ascii_only, separators=separators) for record in records]
    block = (newline.join(lines) + (newline if final_newline and lines else "")).encode("utf-8")
    assert check(block) == [record[FIELD] for record in records]


@settings(max_examples=500, deadline=None)
@given(st.lists(RECORDS, min_size=1, max_size=4), st.data())
def test_any_accepted_line_is_read_like_json_loads(records, data):
    lines = [json.dumps(record, ensure_ascii=data.draw(st.booleans())) for record in records]
    for _ in range(data.draw(st.integers(1, 3))):  # insert pieces anywhere
        k = data.draw(st.integers(0, len(lines) - 1))
        position = data.draw(st.integers(0, len(lines[k])))
        lines[k] = lines[k][:position] + data.draw(FRAGMENTS) + lines[k][position:]
    check("\n".join(lines).encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("line, value", [
    ('{"instruction": "a", "instruction": "b"}', "b"),  # the last one, as in a dict
    ('{"instruction": 1, "instruction": "b"}', "b"),
    ('{"instr\\u0075ction": "escaped key"}', "escaped key"),
    ('{"instruction": "\\u00e9\\n\\t\\"\\\\\\/\\b\\f\\r\\u0000"}', "\u00e9\n\t\"\\/\b\f\r\x00"),
    ('  {"instruction" : "x" , "n" : [ 1 , -0.5e-3 , {"deep": [true, false, null]} ] }  \r', "x"),
    ('{"a": "lone \\ud800 elsewhere is fine", "instruction": "x"}', "x"),
    ('{"instruction": "pair \\ud83d\\ude00 \\uD83D\\uDE00"}', "pair \U0001F600 \U0001F600"),
    ('{"n": 1e999, "instruction": "x"}', "x"),
    ('{"n": ' + "[" * 64 + "]" * 64 + ', "instruction": "x"}', "x"),
])
def test_accepted_lines(line, value):
    assert _core._jsonl_string_fields(line.encode(), FIELD) == [value] == reference(line.encode())


@pytest.mark.parametrize("line", [
    "", " ", '{"instruction": 1}', '{"instruction": "a", "instruction": null}', '{"other": "x"}', '["instruction"]',
    '"instruction"', '{"instruction": "x"} {}', '{"instruction": "x",}', '{"instruction": "x"', '{"n": 01, "instruction": "x"}',
    '{"n": 1., "instruction": "x"}', '{"n": NaN, "instruction": "x"}', '{"n": Infinity, "instruction": "x"}',
    '{"instruction": "tab\there"}', '{"instruction": "\\ude00\\ud83d"}', '{"instruction": "\\ud800"}',
    '{"instruction": "\\ud83d\\u0041"}', '{"instruction": "\\ud83d"}',
    '{"instruction": "\\x41"}', '{"n": ' + "7" * 65 + ', "instruction": "x"}', '{"n": ' + "[" * 65 + "]" * 65 + ', "instruction": "x"}',
    '\ufeff{"instruction": "x"}', '{"instruction": "x"}\x0c', '{\'instruction\': "x"}',
])
def test_refused_lines(line):
    """Lines that are not the common case refuse their block (json decides, and words any error)."""
    assert _core._jsonl_string_fields(('{"instruction": "fine"}\n' + line + "\n").encode(), FIELD) is None


def test_blocks_and_fields():
    assert _core._jsonl_string_fields(b"", FIELD) == []
    assert _core._jsonl_string_fields(b'{"instruction": "a"}\n{"instruction": "b"}', FIELD) == ["a", "b"]
    assert _core._jsonl_string_fields(b'{"instruction": "a"}\n\n', FIELD) is None  # a blank line
    assert _core._jsonl_string_fields('{"é": "x"}\n'.encode(), "é") == ["x"]
    assert _core._jsonl_string_fields(b'{"": "x"}\n', "") == ["x"]
    assert _core._jsonl_string_fields(b'{"a": "x"}\n', "\udc80") is None  # a field no UTF-8 key can name
    assert _core._jsonl_string_fields(b'{"instruction": "\xff"}\n', FIELD) is None  # not UTF-8: left to the reader


# ---------------------------------------------------------------- the rejects file's lines


def reject_line(line, index, text, similar, seed, similar_line, score) -> str:
    return json.dumps({"line": line, "index": index, "text": text, "most_similar": similar,
                       "most_similar_source": "seed" if seed else "input", "most_similar_line": similar_line,
                       "score": score}, ensure_ascii=False) + "\n"


REJECTS = st.lists(st.tuples(
    st.integers(1, 2**62), st.integers(0, 2**62), st.text(st.characters(blacklist_categories=("Cs",))),
    st.text(st.characters(blacklist_categories=("Cs",))), st.booleans(), st.integers(1, 2**62),
    st.floats(0.0, 1.0, exclude_min=True) | st.floats(allow_nan=False, allow_infinity=False),
), max_size=20)


@settings(max_examples=300, deadline=None)
@given(REJECTS)
@example([(1, 0, '"\\\n\r\t\b\f\x00\x1f\x7f é\u2028😀', "x", False, 1, 0.7000000000000001)])
@example([(5, 4, "a", "b", True, 3, 1.0), (7, 6, "c", "d", False, 2, 1e-05), (8, 7, "e", "f", False, 2, 0.0001)])
def test_reject_lines_are_what_json_dumps_writes(rejects):
    columns = list(zip(*rejects)) or [()] * 7
    written = _core._reject_lines(
        np.array(columns[0], dtype=np.int64), np.array(columns[1], dtype=np.int64), list(columns[2]), list(columns[3]),
        np.array(columns[4], dtype=bool), np.array(columns[5], dtype=np.int64), np.array(columns[6], dtype=np.float64))
    assert written == "".join(reject_line(*row) for row in rejects).encode("utf-8")


def test_reject_lines_refuse_mismatched_columns():
    one, none = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match="differ in length"):
        _core._reject_lines(one, one, ["a"], [], np.zeros(1, dtype=bool), one, np.zeros(1))
    with pytest.raises(ValueError, match="lines must be a 1-d array of 1 items"):
        _core._reject_lines(none, one, ["a"], ["b"], np.zeros(1, dtype=bool), one, np.zeros(1))
    with pytest.raises(TypeError, match="expected str"):
        _core._reject_lines(one, one, [b"a"], ["b"], np.zeros(1, dtype=bool), one, np.zeros(1))
    with pytest.raises(UnicodeEncodeError):
        _core._reject_lines(one, one, ["\ud800"], ["b"], np.zeros(1, dtype=bool), one, np.zeros(1))


@settings(max_examples=2000, deadline=None)
@given(st.floats() | st.floats(0.0, 1.0) | st.integers(-2**60, 2**60).map(float))
@example(1e16)
@example(9999999999999998.0)
@example(1e15)
@example(0.0001)
@example(0.00009999999999999999)
@example(1e-05)
@example(5e-324)
@example(1.7976931348623157e308)
@example(-0.0)
@example(123456789012345680.0)
@example(0.7000000000000001)
@example(2.0 / 3.0)
def test_floats_are_written_as_json_dumps_writes_them(value):
    assert _core._json_float(value) == json.dumps(value)


# ---------------------------------------------------------------- picking a batch's records


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=3), max_size=8), st.lists(st.text(max_size=3), max_size=8), st.data())
def test_pick_is_the_list_comprehension(items, others, data):
    positions = data.draw(st.lists(st.integers(-len(others), len(items) - 1), max_size=20)) if items or others else []
    picked = _core._pick(items, np.array(positions, dtype=np.int64), others)
    assert picked == [items[p] if p >= 0 else others[-p - 1] for p in positions]


def test_pick_refuses_positions_out_of_range():
    with pytest.raises(IndexError, match="position 2 out of range"):
        _core._pick(["a", "b"], np.array([0, 2], dtype=np.int64), [])
    with pytest.raises(IndexError, match="position -2 out of range"):
        _core._pick(["a"], np.array([-2], dtype=np.int64), ["x"])
    with pytest.raises(ValueError, match="1-d"):
        _core._pick(["a"], np.zeros((1, 1), dtype=np.int64), [])

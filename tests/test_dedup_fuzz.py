"""Fuzz the `dedup` readers: any bytes give records or a RecordError naming a line, never another exception,
and the fast paths (the core's scanner, orjson) give exactly what the standard library gives."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.dedup.formats import Records, parse_records
from selfinstruct.dedup.source import SourceText, decode_utf8
from selfinstruct.records import RecordError

try:
    import orjson  # noqa: F401

    HAVE_ORJSON = True
except ImportError:
    HAVE_ORJSON = False

NAMES = st.sampled_from(["in.jsonl", "in.json", "in.txt", "in", "/dev/stdin"])
FORMATS = st.sampled_from([None, "jsonl", "json", "text"])
FIELDS = st.sampled_from(["instruction", "a", ""])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["instruction", "a", "b"]), children, max_size=3),
    max_leaves=8,
)
# Fragments that stress the parsers: escapes, surrogates, BOMs, odd whitespace and numbers.
FRAGMENTS = st.sampled_from([
    b'{"instruction": "x"}', b'{"instruction": "\\ud800"}', b'{"instruction": "\\ud83d\\ude00"}', b"\xef\xbb\xbf",
    b"\xff\xfe", b"\x00", b"\r", b"\n", b"[", b"]", b",", b"{", b"}", b'"', b"\\", b"NaN", b"1e999", b"7" * 40,
    b"\xe4\xb8\xad", b"\xed\xa0\x80", b"\xc3", b" ", b"\t", b"\x0c", "\u2028".encode(),
])


def outcome(data: bytes, name: str, field: str, fmt: str | None, parser: str) -> Records | str:
    """The records, or the RecordError message; any other exception fails the test."""
    try:
        return parse_records(SourceText(name, decode_utf8(name, data)), field, fmt, parser=parser)
    except RecordError as error:
        assert error.line >= 1 and str(error).startswith(f"{name}:{error.line}: ")
        assert error.line <= data.count(b"\n") + 1
        return str(error)


def check(data: bytes, name: str, field: str, fmt: str | None) -> None:
    plain = outcome(data, name, field, fmt, parser="json")
    if isinstance(plain, Records):
        assert len(plain.texts) == len(plain.lines) == len(plain.sources)
        assert list(plain.lines) == sorted(set(plain.lines))
        assert all(isinstance(text, str) for text in plain.texts)
        for text in plain.texts:
            text.encode("utf-8")  # no lone surrogates reach the engine
    for parser in ("core", "orjson") if HAVE_ORJSON else ("core",):
        fast = outcome(data, name, field, fmt, parser=parser)
        if isinstance(plain, Records):
            assert isinstance(fast, Records)
            assert (fast.format, fast.texts, list(fast.lines), fast.sources) == (
                plain.format, plain.texts, list(plain.lines), plain.sources)
        else:
            assert fast == plain


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), NAMES, FIELDS, FORMATS)
def test_random_bytes(data, name, field, fmt):
    check(data, name, field, fmt)


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=20).map(b"".join), NAMES, FORMATS)
def test_fragments(data, name, fmt):
    check(data, name, "instruction", fmt)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=6), st.sampled_from([b"\n", b"\r\n", b"\n\n"]), st.booleans(), st.data())
def test_jsonl_and_json_lists_of_json_values(values, newline, as_list, data):
    lines = [json.dumps(value, ensure_ascii=data.draw(st.booleans())).encode() for value in values]
    if data.draw(st.booleans()) and lines:  # corrupt one byte somewhere
        k = data.draw(st.integers(0, len(lines) - 1))
        position = data.draw(st.integers(0, len(lines[k])))
        lines[k] = lines[k][:position] + data.draw(FRAGMENTS) + lines[k][position:]
    payload = (b"[" + (b"," + newline).join(lines) + b"]") if as_list else newline.join(lines)
    check(payload, "in.json" if as_list else "in.jsonl", "instruction", None)


def test_fast_path_is_tested_when_orjson_is_installed():
    if not HAVE_ORJSON:
        pytest.skip('orjson not installed (pip install "selfinstruct[fast]"): only the standard-library path was fuzzed')

"""`dedup` input: read once from pipes and stdin, BOMs, encodings, and errors that name the real line."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from selfinstruct.dedup import dedup_file
from selfinstruct.dedup.formats import detect_format, parse_records
from selfinstruct.dedup.source import SourceText, decode_utf8
from selfinstruct.records import RecordError, read_jsonl

PARSERS = ["json", "core"]
try:
    import orjson  # noqa: F401

    PARSERS.append("orjson")
except ImportError:  # orjson is optional; the standard library and the core are always tested
    pass

UNIQUE = [f"Describe alpha{i} beta{i} and gamma{i} in detail" for i in range(3000)]  # no two similar


def unique_jsonl() -> bytes:
    return "".join(json.dumps({"instruction": text, "id": i}) + "\n" for i, text in enumerate(UNIQUE)).encode()


def records_of(data: bytes, name: str = "in.jsonl", field: str = "instruction", fmt: str | None = None, parser: str = "json"):
    return parse_records(SourceText(name, decode_utf8(name, data)), field, fmt, parser=parser)


def run_cli(*args: str, stdin: bytes | None = None, shell: str | None = None) -> subprocess.CompletedProcess:
    command = shell if shell is not None else [sys.executable, "-m", "selfinstruct", "dedup", *args, "--no-progress"]
    return subprocess.run(command, input=stdin, capture_output=True, shell=shell is not None, executable="/bin/bash" if shell else None)


# ---------------------------------------------------------------- read once


def test_stdin_dash_and_dev_stdin_read_every_line(tmp_path):
    for source in ("-", "/dev/stdin"):
        out = tmp_path / f"kept{len(source)}.jsonl"
        result = run_cli(source, "-o", str(out), "--threads", "1", stdin=unique_jsonl())
        assert result.returncode == 0, result.stderr
        assert b"kept 3,000 of 3,000" in result.stdout
        assert out.read_bytes() == unique_jsonl()


def test_pipe_and_process_substitution_read_every_line(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash is needed for process substitution")
    source = tmp_path / "data"  # no suffix: the format comes from the content
    source.write_bytes(unique_jsonl())
    selfinstruct = f"{sys.executable} -m selfinstruct dedup --no-progress --threads 1"
    for shell in (f"cat {source} | {selfinstruct} /dev/stdin -o {tmp_path}/a.jsonl",
                  f"{selfinstruct} <(cat {source}) -o {tmp_path}/b.jsonl"):
        result = run_cli(shell=shell)
        assert result.returncode == 0, result.stderr
        assert b"kept 3,000 of 3,000" in result.stdout
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes() == unique_jsonl()


def test_stdin_needs_an_output_path():
    result = run_cli("-", stdin=unique_jsonl())
    assert result.returncode == 2 and b"give the output path (-o)" in result.stderr


# ---------------------------------------------------------------- BOM and encodings


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name", ["in.jsonl", "in", "in.data", "in.json"])
def test_bom_jsonl_with_and_without_suffix(name, parser):
    records = records_of(b"\xef\xbb\xbf" + b'{"instruction": "a"}\n{"instruction": "b"}\n', name, parser=parser)
    assert (records.format, records.texts, list(records.lines)) == ("jsonl", ["a", "b"], [1, 2])


def test_bom_json_list_and_text():
    records = records_of(b'\xef\xbb\xbf[{"instruction": "a"},\n {"instruction": "b"}]', "in.json")
    assert (records.format, records.texts, list(records.lines)) == ("json", ["a", "b"], [1, 2])
    records = records_of("\ufeffPremier\nSecond\r\n".encode(), "in.txt")
    assert (records.format, records.texts) == ("text", ["Premier", "Second"])


def test_bom_file_through_the_command(tmp_path):
    source = tmp_path / "in"
    source.write_bytes(b"\xef\xbb\xbf" + unique_jsonl()[:2000].rsplit(b"\n", 1)[0] + b"\n")
    summary = dedup_file(source, tmp_path / "out.jsonl", progress=False)
    assert summary.kept > 10 and (tmp_path / "out.jsonl").read_bytes() == source.read_bytes()[3:]


@pytest.mark.parametrize(
    "data, message",
    [
        ('{"instruction": "café"}\n'.encode("utf-16"), "in.jsonl:1: the file is UTF-16"),
        ('{"instruction": "café"}\n'.encode("utf-32"), "in.jsonl:1: the file is UTF-32"),
        ('{"instruction": "café"}\n'.encode("utf-16-le"), "in.jsonl:1: contains NUL characters: it looks like UTF-16"),
        ('{"instruction": "ok"}\n{"instruction": "café"}\n'.encode("latin-1"), "in.jsonl:2: not valid UTF-8 (byte 0xe9"),
        (b'{"instruction": "ok"}\n\n{"instruction": "\xed\xa0\x80"}\n', "in.jsonl:3: not valid UTF-8"),
    ],
)
def test_encoding_problems_name_the_line(data, message):
    with pytest.raises(RecordError) as info:
        records_of(data)
    assert str(info.value).startswith(message), info.value


def test_read_jsonl_accepts_a_bom_and_names_bad_bytes(tmp_path):
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": "\xff"}\n')
    rows = read_jsonl(path)
    assert next(rows) == (1, {"a": 1})
    with pytest.raises(RecordError, match=r"seeds\.jsonl:2: not valid UTF-8"):
        next(rows)


# ---------------------------------------------------------------- JSON pathologies, each on its own line


@pytest.mark.parametrize("parser", PARSERS)
def test_lone_surrogate_escape_names_the_line(parser):
    data = b'{"instruction": "fine"}\n{"instruction": "pair \\ud83d\\ude00 ok"}\n{"instruction": "bad \\ud800"}\n'
    with pytest.raises(RecordError, match=r"^in\.jsonl:3: the text holds a lone surrogate \(\\ud800"):
        records_of(data, parser=parser)
    assert records_of(data.rsplit(b"\n", 2)[0] + b"\n", parser=parser).texts == ["fine", "pair \U0001F600 ok"]


@pytest.mark.parametrize("parser", PARSERS)
def test_deep_nesting_names_the_line(parser):
    deep = b'{"instruction": "x", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    with pytest.raises(RecordError, match=r"^in\.jsonl:2: JSON nested too deeply"):
        records_of(b'{"instruction": "ok"}\n' + deep, parser=parser)
    # 1,000 levels is deeper than the default recursion limit allows, but is valid: accepted by both parsers.
    medium = b'{"instruction": "x", "n": ' + b"[" * 1000 + b"]" * 1000 + b"}\n"
    assert records_of(medium, parser=parser).texts == ["x"]


@pytest.mark.parametrize("parser", PARSERS)
def test_huge_integers_are_valid_json(parser):
    data = b'{"instruction": "x", "n": ' + b"7" * 5000 + b"}\n"
    assert records_of(data, parser=parser).sources == [data.decode().rstrip("\n")]
    with pytest.raises(RecordError, match=r"^in\.jsonl:1: field 'instruction' is a number"):
        records_of(b'{"instruction": ' + b"7" * 5000 + b"}\n", parser=parser)
    with pytest.raises(RecordError, match=r"^in\.json:3: field 'instruction' is a number"):
        records_of(b'[{"instruction": "a"},\n\n {"instruction": ' + b"7" * 5000 + b"}]", "in.json")


@pytest.mark.parametrize(
    "content, message",
    [
        ('[\n {"instruction": "a"},\n {"instruction": "b"},\n {"instruction": 3}\n]', "in.json:4: field 'instruction' is a number"),
        ('[\n {"instruction": "a"},\n {"other": "b"}\n]', "in.json:3: missing field 'instruction'"),
        ('[\n {"instruction": "a"},\n\n "text"\n]', "in.json:4: list item 2 is a string, expected a JSON object"),
        ('[\n {"instruction": "a"},\n {"instruction": "b",\n  "x": oops}\n]', "in.json:4: malformed JSON"),
        ('[\n {"instruction": "a"}\n {"instruction": "b"}\n]', "in.json:3: malformed JSON list (expected ',' or ']'"),
        ('[\n {"instruction": "a"},\n]', "in.json:3: malformed JSON"),
        ('[\n {"instruction": "a"}\n', "in.json:3: malformed JSON list (expected ',' or ']' but found the end"),
        ('[{"instruction": "a"}]\n\n{"x": 1}', "in.json:3: extra data after the JSON list"),
        ('{"instruction": "a"}', None),  # a .json file holding one object is read as JSONL
    ],
)
def test_json_list_errors_name_the_real_line(content, message):
    if message is None:
        assert records_of(content.encode(), "in.json").texts == ["a"]
        return
    with pytest.raises(RecordError) as info:
        records_of(content.encode(), "in.json")
    assert str(info.value).startswith(message), info.value


def test_json_list_lines_and_sources():
    content = '[\n  {"instruction": "a", "k": [1,\n 2]},\n  {"instruction": "b"}\n]\n'
    records = records_of(content.encode(), "in.json")
    assert list(records.lines) == [2, 4]
    assert records.sources == ['{"instruction": "a", "k": [1,\n 2]}', '{"instruction": "b"}']


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("a.jsonl", '["x"]', "jsonl"),
        ("a.ndjson", "{}", "jsonl"),
        ("a.json", "[]", "json"),
        ("a.json", '  {"a": 1}', "jsonl"),
        ("a.txt", "{not json", "text"),
        ("/dev/stdin", '\n  {"a": 1}', "jsonl"),
        ("-", "[]", "json"),
        ("data", "Write a poem", "text"),
        ("data", "", "text"),
    ],
)
def test_detect_format(name, text, expected):
    assert detect_format(name, text) == expected


def test_format_option_overrides_detection(tmp_path):
    source = tmp_path / "in.data"
    source.write_text("[Urgent] write a poem\n{braces} in a plain line\n", encoding="utf-8")
    summary = dedup_file(source, tmp_path / "out.txt", input_format="text", progress=False)
    assert summary.kept == 2
    with pytest.raises(RecordError, match=r"in\.data:1: malformed JSON .*pass --format text if it is plain text"):
        dedup_file(source, tmp_path / "out.txt", progress=False)


def test_line_ends_are_kept_and_blank_lines_skipped():
    records = records_of(b'{"instruction": "a"}\r\n\r\n  \n{"instruction": "b"}', "in.jsonl")
    assert list(records.lines) == [1, 4] and records.sources == ['{"instruction": "a"}\r', '{"instruction": "b"}']
    records = records_of("a\u2028b\n\x0c\nc\r\n".encode(), "in.txt")  # only \n ends a line
    assert records.texts == ["a\u2028b", "c"] and list(records.lines) == [1, 3]


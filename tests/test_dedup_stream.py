"""`dedup` streams its input: any block size gives the records of the whole file, a pipe gives the
same outputs as the file, batches cut anywhere give the same decisions, and the few-token warning
samples the stream evenly."""
from __future__ import annotations

import json
import subprocess
import sys
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

import selfinstruct.dedup.run as run_module
import selfinstruct.dedup.source as source_module
from selfinstruct.dedup import dedup_file
from selfinstruct.dedup.coverage import StreamSample
from selfinstruct.dedup.formats import Records, parse_records, stream_records
from selfinstruct.dedup.source import SourceText, decode_utf8, read_blocks
from selfinstruct.records import RecordError

LINES = st.sampled_from([
    b'{"instruction": "write a poem about the sea"}', b'{"instruction": "x", "n": [1,\n2]}', b'{"a": 1}', b"", b"  ",
    b'{"instruction": "caf\xc3\xa9 \\ud83d\\ude00"}', b'{"instruction": "\\ud800"}', b"\r", b"[", b"plain text line",
    b'[{"instruction": "a"},', b'{"instruction": "b"}]', b"\xef\xbb\xbf", b'{"instruction": 5}', b"\xc3",
])


def whole(data: bytes, name: str, fmt: str | None) -> Records | None:
    try:
        return parse_records(SourceText(name, decode_utf8(name, data)), "instruction", fmt)
    except RecordError:
        return None


def streamed(path, name: str, fmt: str | None, block_bytes: int) -> Records | None:
    try:
        parts = list(stream_records(name, read_blocks(path, block_bytes), "instruction", fmt))
    except RecordError:
        return None
    return Records(parts[0].format, [t for p in parts for t in p.texts], [n for p in parts for n in p.lines],
                   [s.decode() for p in parts for s in p.sources])


@settings(max_examples=150, deadline=None)
@given(st.lists(LINES, max_size=12), st.sampled_from(["in.jsonl", "in.json", "in.txt", "in"]),
       st.sampled_from([None, "jsonl", "text"]), st.integers(1, 40))
def test_any_block_size_gives_the_records_of_the_whole_file(tmp_path_factory, lines, name, fmt, block_bytes):
    data = b"\n".join(lines)
    path = tmp_path_factory.mktemp("blocks") / name
    path.write_bytes(data)
    expected, got = whole(data, str(path), fmt), streamed(path, str(path), fmt, block_bytes)
    # Both fail or both give the same records (with several bad lines in different blocks the
    # stream may name an earlier one than the whole-file parse does).
    assert (expected is None) == (got is None)
    if expected is not None:
        assert (got.format, got.texts, list(got.lines), got.sources) == (
            expected.format, expected.texts, list(expected.lines), expected.sources)


def generated_jsonl(count: int) -> bytes:
    rows = [f"Describe topic{i % 700} with detail{i % 13} and {'more ' * (i % 3)}care" for i in range(count)]
    return "".join(json.dumps({"instruction": row, "id": i}) + "\n" for i, row in enumerate(rows)).encode()


def test_pipe_file_and_small_blocks_give_identical_outputs(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_bytes(generated_jsonl(3000))
    from_file = dedup_file(source, tmp_path / "file.jsonl", progress=False, batch_size=700)
    assert 0 < from_file.kept < 3000
    result = subprocess.run([sys.executable, "-m", "selfinstruct", "dedup", "-", "-o", str(tmp_path / "pipe.jsonl"),
                             "--no-progress", "--batch-size", "333"], input=source.read_bytes(), capture_output=True)
    assert result.returncode == 0, result.stderr
    monkeypatch.setattr(source_module, "BLOCK_BYTES", 97)  # many blocks, cut inside records' batches
    small = dedup_file(source, tmp_path / "small.jsonl", progress=False, batch_size=50)
    for name in ("pipe", "small"):
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (tmp_path / "file.jsonl").read_bytes()
        assert (tmp_path / f"{name}.rejects.jsonl").read_bytes() == (tmp_path / "file.rejects.jsonl").read_bytes()
    assert small.kept == from_file.kept


def test_json_list_and_text_streamed_in_small_blocks(tmp_path, monkeypatch):
    rows = ["Write a poem about the sea", "write a poem about the sea!", "Tell me a joke"] * 5
    listed = tmp_path / "in.json"
    listed.write_text(json.dumps([{"instruction": row} for row in rows], indent=1), encoding="utf-8")
    text = tmp_path / "in.txt"
    text.write_text("\r\n".join(rows) + "\n\n", encoding="utf-8")
    monkeypatch.setattr(source_module, "BLOCK_BYTES", 16)
    summary = dedup_file(listed, tmp_path / "out.json", progress=False, batch_size=4)
    assert json.loads(summary.output.read_text()) == [{"instruction": rows[0]}, {"instruction": rows[2]}]
    assert summary.output.read_text().startswith("[\n{\n") and summary.output.read_text().endswith("}\n]\n")
    summary = dedup_file(text, tmp_path / "out.txt", progress=False, batch_size=4)
    assert summary.output.read_bytes() == f"{rows[0]}\r\n{rows[2]}\r\n".encode()
    assert [json.loads(line)["line"] for line in summary.rejects.read_text().splitlines()] == [2, 4, 5, 6, 7, 8, 9, 10, 11,
                                                                                                12, 13, 14, 15]


@given(st.lists(st.integers(0, 40), max_size=30), st.integers(1, 6))
def test_stream_sample_is_evenly_spaced(chunks, size):
    sample = StreamSample(size)
    seen = 0
    for length in chunks:
        sample.extend([str(seen + k) for k in range(length)])
        seen += length
    assert sample.texts == [str(k) for k in range(0, seen, sample.step)]
    assert len(sample.texts) < 2 * size and (sample.step == 1 or len(sample.texts) >= size)


def test_reads_grow_from_small_to_whole_blocks(tmp_path, monkeypatch):
    """The first reads are small (admission starts early) and double up to the block size; the
    records are those of the whole file either way."""
    data = generated_jsonl(3000)
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(source_module, "FIRST_READ_BYTES", 50)
    sizes = [len(block.data) for block in read_blocks(path, 20_000)]
    assert sizes[0] < 200 and max(sizes) > 10_000 and sum(sizes) == len(data)
    expected = whole(data, str(path), None)
    got = streamed(path, str(path), None, 20_000)
    assert (got.format, got.texts, list(got.lines), got.sources) == (
        expected.format, expected.texts, list(expected.lines), expected.sources)


def test_a_short_first_batch_changes_no_decision(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_bytes(generated_jsonl(3000))
    monkeypatch.setattr(run_module, "FIRST_BATCH", 10**9)  # the first batch as long as the others
    plain = dedup_file(source, tmp_path / "plain.jsonl", progress=False, batch_size=700)
    monkeypatch.setattr(run_module, "FIRST_BATCH", 7)
    short = dedup_file(source, tmp_path / "short.jsonl", progress=False, batch_size=700)
    assert (short.kept, short.rejected) == (plain.kept, plain.rejected)
    for suffix in (".jsonl", ".rejects.jsonl"):
        assert (tmp_path / f"short{suffix}").read_bytes() == (tmp_path / f"plain{suffix}").read_bytes()
    parts = [Records("text", list(map(str, range(k, k + 5))), array("q", range(k, k + 5)), [b""] * 5) for k in range(0, 30, 5)]
    assert [len(batch) for batch in run_module._batches(iter(parts), 12, 4)] == [4, 12, 12, 2]

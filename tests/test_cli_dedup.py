"""`selfinstruct dedup`: formats, seeds, rejects, options, warnings, errors that name file and line."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import pytest

from selfinstruct.cli import main
from selfinstruct.dedup import dedup_file
from selfinstruct.records import dump_line

ROWS = ["Write a poem about the sea", "write a poem about the sea!", "Tell me a joke", "Summarize this article in three lines"]


def write_jsonl(path, rows, field="instruction"):
    path.write_text("".join(json.dumps({field: row, "id": i}) + "\n" for i, row in enumerate(rows)), encoding="utf-8")
    return path


def test_jsonl_keeps_order_and_writes_rejects(tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    assert main(["dedup", str(source), "--no-progress"]) == 0
    lines = source.read_text().splitlines(keepends=True)
    assert (tmp_path / "in.dedup.jsonl").read_text() == "".join(lines[k] for k in (0, 2, 3))  # verbatim, input order
    rejects = (tmp_path / "in.dedup.rejects.jsonl").read_text()
    expected = {"line": 2, "index": 1, "text": ROWS[1], "most_similar": ROWS[0], "most_similar_source": "input",
                "most_similar_line": 1, "score": 1.0}
    assert rejects == dump_line(expected)  # the rejects writer gives exactly json.dumps's text
    out = capsys.readouterr().out
    assert "kept 3 of 4 (1 rejected)" in out and "pairs scored" in out and "time: read" in out


def test_json_list_and_text_formats(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"text": row} for row in ROWS]), encoding="utf-8")
    summary = dedup_file(source, field="text", progress=False)
    assert json.loads(summary.output.read_text()) == [{"text": ROWS[i]} for i in (0, 2, 3)]
    assert json.loads(summary.rejects.read_text())["line"] == 1  # a one-line JSON list
    text = tmp_path / "in.txt"
    text.write_text("\n".join(ROWS) + "\n\n", encoding="utf-8")
    summary = dedup_file(text, tmp_path / "out.txt", progress=False)
    assert (tmp_path / "out.txt").read_text().splitlines() == [ROWS[0], ROWS[2], ROWS[3]]
    assert summary.rejects == tmp_path / "out.rejects.jsonl"


def test_seeds_join_the_pool_but_are_not_written(tmp_path):
    seeds = write_jsonl(tmp_path / "seeds.jsonl", ["Tell me a joke please"])
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    summary = dedup_file(source, seeds_path=seeds, progress=False)
    assert (summary.kept, summary.rejected, summary.seeds) == (2, 2, 1)
    rejects = [json.loads(line) for line in summary.rejects.read_text().splitlines()]
    assert rejects[1]["most_similar"] == "Tell me a joke please" and rejects[1]["most_similar_source"] == "seed"
    assert rejects[1]["most_similar_line"] == 1 and rejects[1]["line"] == 3


def test_threshold_and_tokenizer_options(tmp_path):
    source = write_jsonl(tmp_path / "zh.jsonl", ["我喜欢猫和狗", "我喜欢猫和鸟"])
    assert dedup_file(source, progress=False).kept == 2  # the reference tokenizer sees no tokens
    assert dedup_file(source, tokenizer="unicode", progress=False).kept == 1
    assert dedup_file(write_jsonl(tmp_path / "t.jsonl", ROWS), threshold=1.0, progress=False).kept == 4


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"instruction": "ok"}\n{"instruction": oops}\n', r"in\.jsonl:2: malformed JSON"),
        ('{"instruction": "ok"}\n\n{"other": 1}\n', r"in\.jsonl:3: missing field 'instruction'"),
        ('{"instruction": 5}\n', r"in\.jsonl:1: field 'instruction' is a number, expected a string"),
        ('["a list"]\n', r"in\.jsonl:1: expected a JSON object, got an array"),
        ('{"instruction": "ok"}\n{"instruction": "\\ud800"}\n', r"in\.jsonl:2: the text holds a lone surrogate"),
        ('{"instruction": "ok"}\n' + "[" * 100_000, r"in\.jsonl:2: JSON nested too deeply"),
    ],
)
def test_bad_input_names_file_and_line_and_writes_nothing(tmp_path, capsys, content, message):
    source = tmp_path / "in.jsonl"
    source.write_text(content, encoding="utf-8")
    assert main(["dedup", str(source), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_missing_input_file(tmp_path, capsys):
    assert main(["dedup", str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl" in capsys.readouterr().err


def test_console_entry_point_runs(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    result = subprocess.run(
        [sys.executable, "-m", "selfinstruct", "dedup", str(source), "--threads", "1", "--threshold", "0.5"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "kept" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "selfinstruct", "dedup", str(source), "--threshold", "2"], capture_output=True, text=True)
    assert bad.returncode == 2 and "threshold" in bad.stderr


@pytest.mark.parametrize(
    "option, message",
    [
        (["--batch-size", "0"], "batch size must be >= 1"),
        (["--batch-size", "x"], "not an integer"),
        (["--threads", "2147483648"], "threads must be between 1 and 1024"),
        (["--threads", "0"], "threads must be between 1 and 1024"),
        (["--threshold", "nan"], "threshold must be between 0 and 1"),
    ],
)
def test_bad_options_are_one_clear_line(tmp_path, capsys, option, message):
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    with pytest.raises(SystemExit) as info:
        main(["dedup", str(source), *option])
    assert info.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(ValueError):  # the library refuses them too
        dedup_file(source, batch_size=0, progress=False)
    with pytest.raises(ValueError):
        dedup_file(source, threads=2**31, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


CHINESE = ["写一首关于大海的诗", "把这段话翻译成英文", "列出三个旅游景点", "用3句话总结这篇文章", "给出3个学习建议", "解释什么是机器学习"]


def test_texts_without_tokens_warn_and_suggest_the_unicode_tokenizer(tmp_path, capsys):
    source = write_jsonl(tmp_path / "zh.jsonl", CHINESE)
    assert main(["dedup", str(source), "--no-progress"]) == 0
    err = capsys.readouterr().err
    # The two texts sharing only the digit 3 score 1.0: one is lost without the warning's advice.
    assert "selfinstruct: warning: 100% of the inputs have at most 1 rouge token(s)" in err
    assert "1 of the 1 rejected texts" in err and "--tokenizer unicode" in err
    assert main(["dedup", str(source), "--no-progress", "--tokenizer", "unicode", "-o", str(tmp_path / "u.jsonl")]) == 0
    assert "warning" not in capsys.readouterr().err
    english = write_jsonl(tmp_path / "en.jsonl", ROWS)
    assert dedup_file(english, progress=False).warnings == ()


@pytest.mark.parametrize("huge_number", [False, True], ids=["core-reads", "core-refuses"])
def test_same_outputs_from_every_parser(tmp_path, monkeypatch, huge_number):
    rows = ROWS * 3 + ["Tell me a joke about cats", "x" * 50, "Write a poem about the sea and the sky"]
    source = tmp_path / "in.jsonl"
    # A 5,000-digit number is valid JSON that the core's scanner leaves to the others (the block with it).
    source.write_text("".join(json.dumps({"instruction": row, "n": [1, 2.5, None], "s": "é\\u2028"}) + "\n" for row in rows)
                      + ('{"instruction": "big", "n": ' + "9" * 5000 + "}\n" if huge_number else ""), encoding="utf-8")
    runs = {"core": dedup_file(source, tmp_path / "core.jsonl", progress=False)}
    monkeypatch.setattr("selfinstruct._core._jsonl_string_fields", lambda block, field, line_ends=False: None)
    if importlib.util.find_spec("orjson") is not None:
        runs["orjson"] = dedup_file(source, tmp_path / "orjson.jsonl", progress=False)
    monkeypatch.setattr("selfinstruct.dedup.formats.orjson_loads", lambda: None)
    monkeypatch.setattr("selfinstruct.dedup.run.orjson_loads", lambda: None)
    runs["json"] = dedup_file(source, tmp_path / "json.jsonl", progress=False)
    fallback = "orjson" if "orjson" in runs else "json"
    assert runs["core"].parser == (fallback if huge_number else "core")
    assert [run.parser for name, run in runs.items() if name != "core"] == [name for name in runs if name != "core"]
    for run in runs.values():
        assert run.kept == 4 + huge_number
        assert run.output.read_bytes() == runs["json"].output.read_bytes()
        assert run.rejects.read_bytes() == runs["json"].rejects.read_bytes()


def test_input_without_suffix_and_a_closed_stdout(tmp_path):
    source = write_jsonl(tmp_path / "data", ROWS)
    result = subprocess.run(f"{sys.executable} -m selfinstruct dedup {source} --no-progress | head -c 1",
                            shell=True, capture_output=True, text=True, executable="/bin/bash")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "data.dedup", "data.dedup.rejects.jsonl"]

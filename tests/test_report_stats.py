"""Table 1 on small hand-made sources, counted by hand: every format gives the same numbers."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from report_data import EXPECTED, write_alpaca_json, write_jsonl, write_run, write_seed_tasks, triple_records  # noqa: E402
from selfinstruct.report import load_source, table1  # noqa: E402
from selfinstruct.report.sources import Dataset  # noqa: E402
from selfinstruct.report.stats import words  # noqa: E402


def assert_table(source: Path, classification):
    got = table1(load_source(source)).to_json()
    expected = dict(EXPECTED, classification_instructions=classification)
    assert got.keys() == expected.keys()
    assert got["mean_words"].keys() == expected["mean_words"].keys()
    assert {k: v for k, v in got.items() if k != "mean_words"} == {k: v for k, v in expected.items() if k != "mean_words"}
    for key, value in expected["mean_words"].items():
        assert got["mean_words"][key] == pytest.approx(value, rel=1e-15)


def test_alpaca_json(tmp_path):
    assert_table(write_alpaca_json(tmp_path / "alpaca_data.json"), None)


def test_instances_jsonl(tmp_path):
    assert_table(write_jsonl(tmp_path / "all_generated_instances.jsonl", triple_records()), None)


def test_seed_task_format(tmp_path):
    assert_table(write_seed_tasks(tmp_path / "seed_tasks.jsonl"), 1)


def test_run_directory_counts_only_what_the_run_generated(tmp_path):
    assert_table(write_run(tmp_path / "run"), 1)


def test_json_keys_are_exactly_the_documented_ones(tmp_path):
    got = table1(load_source(write_alpaca_json(tmp_path / "a.json"))).to_json()
    assert json.loads(json.dumps(got)) == got
    assert sorted(got) == ["classification_instructions", "instances", "instances_with_empty_input", "instructions",
                           "mean_words"]
    assert sorted(got["mean_words"]) == ["input_nonempty", "instruction", "output"]


def test_instruction_only_source_has_null_instance_figures(tmp_path):
    path = write_jsonl(tmp_path / "list.jsonl", [{"instruction": "Say hi."}, {"instruction": "Say hi."},
                                                 {"instruction": "Name two colours please."}])
    got = table1(load_source(path)).to_json()
    assert got == {"instructions": 2, "classification_instructions": None, "instances": None,
                   "instances_with_empty_input": None,
                   "mean_words": {"instruction": 3.0, "input_nonempty": None, "output": None}}


def test_words_are_whitespace_separated():
    assert words("a\tb\nc  d\u00a0e") == 5
    assert words("don't stop-now") == 2
    assert words("   ") == 0


texts = st.text(alphabet=st.sampled_from("ab \t\n"), max_size=12)


@given(st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=20))
def test_counts_add_up(triples):
    dataset = Dataset("x", Path("x"), "instances", list(dict.fromkeys(i for i, _, _ in triples)), None, triples)
    table = table1(dataset)
    nonempty = [x for _, x, _ in triples if x.strip()]
    assert table.instances == len(triples)
    assert table.instances_with_empty_input == len(triples) - len(nonempty)
    assert table.instructions == len(set(i for i, _, _ in triples))
    assert (table.mean_input_words is None) == (not nonempty)

"""Loading report sources: every format, run directories with and without logs, and bad input."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_data import (CLASSIFICATION, INSTRUCTIONS, PROGRESS, TRIPLES, write_alpaca_json, write_jsonl,  # noqa: E402
                         write_run, write_seed_tasks)
from selfinstruct.records import RecordError  # noqa: E402
from selfinstruct.report import load_source  # noqa: E402
from selfinstruct.report.runlogs import read_run_logs  # noqa: E402


def test_alpaca_json_list(tmp_path):
    dataset = load_source(write_alpaca_json(tmp_path / "alpaca_data.json"))
    assert dataset.kind == "instances" and dataset.name == "alpaca_data.json"
    assert dataset.instructions == INSTRUCTIONS
    assert dataset.instances == TRIPLES
    assert dataset.classification is None and dataset.run is None


def test_alpaca_record_without_input_field(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"instruction": "Say hi.", "output": "Hi."}])
    assert load_source(path).instances == [("Say hi.", "", "Hi.")]


def test_seed_tasks_keep_classification(tmp_path):
    dataset = load_source(write_seed_tasks(tmp_path / "seed_tasks.jsonl"))
    assert dataset.kind == "seed tasks"
    assert dataset.classification == CLASSIFICATION
    assert sorted(dataset.instances) == sorted(TRIPLES)


def test_step_files_of_the_original_release(tmp_path):
    instructions = write_jsonl(tmp_path / "machine_generated_instructions.jsonl",
                               [{"instruction": i, "most_similar": {}, "request_idx": 0} for i in INSTRUCTIONS])
    clf = write_jsonl(tmp_path / "is_clf_or_not_davinci_template_1.jsonl",
                      [{"instruction": i, "is_classification": " Yes" if c else " No"} for i, c in CLASSIFICATION.items()])
    assert load_source(instructions).kind == "instructions"
    assert load_source(instructions).instances is None
    dataset = load_source(clf)
    assert dataset.kind == "classification" and dataset.classification == CLASSIFICATION


def test_raw_instances_are_parsed_like_step_4(tmp_path):
    path = write_jsonl(tmp_path / "machine_generated_instances.jsonl", [
        {"instruction": "Add the numbers.", "raw_instances": "Example 1\nInput: 2 and 3\nOutput: 5\n\nExample 2\nInput: 1 and 1\nOutput: 2",
         "instance_metadata": {"finish_reason": "stop"}, "is_classification": False},
        {"instruction": "Is the review positive?", "raw_instances": "Class label: Yes\nReview: Great food.",
         "instance_metadata": {"finish_reason": "stop"}, "is_classification": True},
    ])
    dataset = load_source(path)
    assert dataset.kind == "raw instances"
    assert dataset.instances == [("Add the numbers.", "2 and 3", "5"), ("Add the numbers.", "1 and 1", "2"),
                                 ("Is the review positive?", "Review: Great food.", "Yes")]
    assert dataset.classification == {"Add the numbers.": False, "Is the review positive?": True}


def test_run_directory(tmp_path):
    dataset = load_source(write_run(tmp_path / "run"))
    assert dataset.kind == "run directory" and dataset.name == "run"
    assert dataset.instructions == INSTRUCTIONS
    assert dataset.instances == TRIPLES  # the seed task's instance is not counted
    assert any("1 instances of seed tasks" in note for note in dataset.notes)
    assert dataset.run is not None
    assert dataset.run.drops == {"generate-instructions": {"too_similar": 2, "too_short": 1}}
    examples = dataset.run.examples[("generate-instructions", "too_similar")]
    assert [e.score for e in examples] == [0.857, 0.8]
    assert examples[0].most_similar == "Write a poem about the sea."
    assert [b["admitted"] for b in dataset.run.batches] == [2, 1]


def test_run_without_logs_is_read_with_a_note(tmp_path):
    dataset = load_source(write_run(tmp_path / "old", logs=False))
    assert dataset.run is None
    assert any("no rejects/ or progress.jsonl" in note for note in dataset.notes)


def test_run_without_step_4_parses_step_3(tmp_path):
    folder = tmp_path / "run"
    write_jsonl(folder / "machine_generated_instructions.jsonl", [{"instruction": "Add the numbers."}])
    write_jsonl(folder / "machine_generated_instances.jsonl", [
        {"instruction": "Add the numbers.", "raw_instances": "Output: 5", "instance_metadata": {"finish_reason": "stop"},
         "is_classification": False}])
    dataset = load_source(folder)
    assert dataset.instances == [("Add the numbers.", "", "5")]
    assert dataset.classification == {"Add the numbers.": False}


def test_alpaca_mode_run(tmp_path):
    folder = tmp_path / "run"
    write_jsonl(folder / "machine_generated_tasks.jsonl", [{"instruction": i, "input": x, "output": y} for i, x, y in TRIPLES])
    dataset = load_source(folder)
    assert dataset.instructions == INSTRUCTIONS and dataset.instances == TRIPLES and dataset.classification is None


def test_examples_per_reason_are_capped(tmp_path):
    write_jsonl(tmp_path / "rejects" / "generate-instructions.jsonl",
                [{"step": "generate-instructions", "reason": "too_long", "text": str(n)} for n in range(10)])
    logs = read_run_logs(tmp_path, examples_per_reason=2)
    assert logs.drops["generate-instructions"]["too_long"] == 10
    assert [e.text for e in logs.examples[("generate-instructions", "too_long")]] == ["0", "1"]
    assert logs.batches == []


def test_a_torn_last_line_is_ignored(tmp_path):
    path = write_jsonl(tmp_path / "list.jsonl", [{"instruction": "Say hi."}])
    with open(path, "a") as handle:
        handle.write('{"instruction": "Say')
    assert load_source(path).instructions == ["Say hi."]


@pytest.mark.parametrize("lines, message", [
    (['{"instruction": "a"}', "{not json", '{"instruction": "b"}'], ":2: malformed JSON"),
    (['{"instruction": "a"}', "[1, 2]"], ":2: expected a JSON object"),
    (['{"instruction": "a"}', '{"instruction": 7}'], ":2: field 'instruction' is int"),
    (['{"instruction": "a", "output": "x"}', '{"instruction": "b"}'], ":2: missing field 'output'"),
    (['{"messages": []}'], ":1: chat and prompt/completion files"),
    (['{"text": "a"}'], ":1: no 'instruction' field"),
])
def test_bad_records_name_file_and_line(tmp_path, lines, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RecordError) as error:
        load_source(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


def test_bad_progress_line(tmp_path):
    write_jsonl(tmp_path / "progress.jsonl", [PROGRESS[0], dict(PROGRESS[1], candidates="many")])
    with pytest.raises(RecordError, match=r"progress.jsonl:2: field 'candidates'"):
        read_run_logs(tmp_path)


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_source(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="no bootstrap output"):
        load_source(tmp_path)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(RecordError, match="no records"):
        load_source(tmp_path / "empty.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b'{"instruction": "\xff"}\n')
    with pytest.raises(RecordError, match="UTF-8"):
        load_source(tmp_path / "bin.jsonl")
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(RecordError):
        load_source(tmp_path / "deep.json")
    (tmp_path / "list.json").write_text(json.dumps({"instruction": "a"}))
    with pytest.raises(RecordError, match="expected a JSON list"):
        load_source(tmp_path / "list.json")


def test_a_runs_own_seed_file_is_used_for_novelty(tmp_path):
    from report_data import write_seeds
    from selfinstruct.report import ReportOptions, build_report

    run = write_run(tmp_path / "run")
    seeds = write_seeds(tmp_path / "my_seeds.jsonl")
    write_jsonl(run / "state" / "instructions.jsonl", [{"journal": 1, "step": "instructions",
                                                         "settings": {"seed_tasks": str(seeds)}}])
    report = build_report([run], ReportOptions(diversity=False))
    assert report.seed_label == "1 seed instructions (my_seeds.jsonl)"
    seeds.unlink()
    report = build_report([run], ReportOptions(diversity=False))
    assert "175 seed instructions" in report.seed_label
    assert any("not found here" in note for note in report.notes)


def test_a_run_that_has_only_just_started(tmp_path):
    from selfinstruct.report import ReportOptions, build_report

    folder = tmp_path / "run"
    write_jsonl(folder / "progress.jsonl", [dict(PROGRESS[0], admitted=0, pool_size=0)])
    (folder / "machine_generated_instructions.jsonl").write_text("")
    dataset = load_source(folder)
    assert dataset.instructions == [] and dataset.instances is None
    assert "no instructions yet" in " ".join(dataset.notes)
    report = build_report([folder], ReportOptions(diversity=False))
    assert [f["id"] for f in report.figures] == ["funnel-0", "throughput-0"]
    assert report.tables[0].instructions == 0


def test_a_folder_of_the_original_release(tmp_path):
    folder = tmp_path / "batch_221203"
    write_jsonl(folder / "machine_generated_instructions.jsonl", [{"instruction": i} for i in INSTRUCTIONS])
    write_jsonl(folder / "is_clf_or_not_davinci_template_1.jsonl",
                [{"instruction": i, "is_classification": " Yes" if c else " No"} for i, c in CLASSIFICATION.items()])
    write_jsonl(folder / "machine_generated_instances.jsonl",
                [{"instruction": i, "raw_instances": "Output: unused"} for i in INSTRUCTIONS])
    write_jsonl(folder / "all_instances_82K.jsonl", [{"instruction": i, "input": x, "output": y} for i, x, y in TRIPLES])
    dataset = load_source(folder)
    assert dataset.instances == TRIPLES and dataset.classification == CLASSIFICATION and dataset.notes[:1] == [
        "no rejects/ or progress.jsonl logs: a run made before the bootstrap wrote them, or one that has not finished "
        "a batch yet"]

"""SuperNI evaluation against a transcription of natural-instructions' evaluation script, with
rouge-score itself computing ROUGE-L (the oracle), on small task folders built here."""
from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.cli import main as cli_main
from selfinstruct.evaluate.metrics import aggregate, exact_match, normalize_answer, rouge_l_fmeasures
from selfinstruct.evaluate.predictions import read_predictions
from selfinstruct.evaluate.superni import evaluate_superni
from selfinstruct.evaluate.superni_data import load_reference_file, load_superni
from selfinstruct.records import RecordError

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_fakes import sentence, write_task_dir  # noqa: E402
from superni_official import (official_compute, official_evaluate, official_grouped, official_normalize,  # noqa: E402
                              official_reference_file)

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer", reason="rouge-score 0.1.2 is the oracle: pip install rouge-score==0.1.2")


@pytest.fixture(scope="module")
def stemming_scorer() -> Any:
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def make_predictions(items: list, seed: int) -> dict[str, str]:
    """Per instance: missing, a reference, a reference with changed case/punctuation, or another sentence."""
    rng = random.Random(seed)
    predictions = {}
    for item in items:
        roll = rng.random()
        if roll < 0.15:
            continue
        if roll < 0.4:
            predictions[item.id] = rng.choice(item.references)
        elif roll < 0.6:
            predictions[item.id] = "  " + rng.choice(item.references).upper().replace(" ", " , ") + "!! "
        else:
            predictions[item.id] = sentence(rng, 0, 12)
    return predictions


# -- parity -----------------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_task_folder_metrics_equal_the_official_script(tmp_path_factory: pytest.TempPathFactory, stemming_scorer: Any,
                                                       seed: int) -> None:
    root = write_task_dir(tmp_path_factory.mktemp("ni"), seed=seed, tasks=4, instances=5)
    items = load_superni(root)
    predictions = make_predictions(items, seed)
    report = evaluate_superni(items, predictions)
    expected = official_evaluate(official_reference_file(root), predictions, stemming_scorer)
    assert list(report.metrics.items()) == list(expected.items())  # same keys, same order, same floats


def test_reference_file_gives_the_same_metrics(tmp_path: Path, stemming_scorer: Any) -> None:
    root = write_task_dir(tmp_path / "ni", seed=7, tasks=5, instances=6)
    lines = official_reference_file(root)
    reference_path = tmp_path / "test_references.jsonl"
    reference_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    predictions = make_predictions(load_superni(root), 3)
    from_file = evaluate_superni(load_reference_file(reference_path), predictions).metrics
    assert from_file == evaluate_superni(load_superni(root), predictions).metrics
    assert from_file == official_evaluate(lines, predictions, stemming_scorer)


def test_reference_file_without_groups_or_track(tmp_path: Path, stemming_scorer: Any) -> None:
    path = tmp_path / "refs.jsonl"
    lines = [{"id": "a", "references": ["The cat runs."]}, {"id": "b", "references": ["no", "No way"]}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    predictions = {"a": "the cats running", "b": "NO!"}
    report = evaluate_superni(load_reference_file(path), predictions)
    assert report.metrics == official_evaluate(lines, predictions, stemming_scorer)
    assert list(report.metrics) == ["exact_match_default_track", "rougeL_default_track"]


def test_only_the_first_instances_of_each_task_are_test_instances(tmp_path: Path) -> None:
    root = write_task_dir(tmp_path, seed=2, tasks=2, instances=5)
    items = load_superni(root, instances_per_task=2)
    tasks = [json.loads(p.read_text()) for p in sorted((root / "tasks").glob("*.json"))]
    assert [item.id for item in items] == [inst["id"] for task in tasks for inst in task["Instances"][:2]]
    report = evaluate_superni(items, {tasks[0]["Instances"][4]["id"]: "x"})
    assert report.unknown == [tasks[0]["Instances"][4]["id"]]
    assert report.missing["default"] == [item.id for item in items]


def test_category_keys_are_lower_case_with_underscores(tmp_path: Path) -> None:
    root = write_task_dir(tmp_path, seed=4, tasks=3, instances=2)
    keys = evaluate_superni(load_superni(root), {}).metrics
    assert "rougeL_for_title_generation_default_track" in keys  # from "Title  Generation"
    assert "exact_match_for_question_answering_default_track" in keys
    assert keys["rougeL_default_track"] == 0.0


@given(st.text())
def test_normalize_answer_is_the_official_rule(text: str) -> None:
    assert normalize_answer(text) == official_normalize(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=6), st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_rouge_backend_is_rouge_score(stemming_scorer: Any, targets: list[str], predictions: list[str]) -> None:
    n = min(len(targets), len(predictions))
    expected = [stemming_scorer.score(t, p)["rougeL"].fmeasure for t, p in zip(targets[:n], predictions[:n])]
    assert rouge_l_fmeasures(targets[:n], predictions[:n]) == expected


def test_aggregate_rounds_the_percentage_of_in_order_sums() -> None:
    assert aggregate([True, False, False], [1 / 3, 0.1, 0.2]) == {"exact_match": 33.3333, "rougeL": 21.1111}
    assert exact_match("The  Cat!", "the cat") and not exact_match("a cat", "cat")


# -- the cross-lingual track -------------------------------------------------------------------------

def test_xlingual_track_is_skipped_without_a_tokenizer(tmp_path: Path) -> None:
    root = write_task_dir(tmp_path, seed=5, tasks=2, instances=3, xlingual=True)
    items = load_superni(root)
    assert {item.track for item in items} == {"default", "xlingual"}
    report = evaluate_superni(items, {})
    assert not any(key.endswith("xlingual_track") for key in report.metrics)
    assert "xlingual track skipped (6 instances)" in report.describe()


def _byte_level_tokenizer(folder: Path) -> Path:
    """A small GPT-2-style byte-level BPE tokenizer trained here and saved as a local HF folder."""
    tokenizers = pytest.importorskip("tokenizers", reason="the xlingual track needs transformers' tokenizers")
    transformers = pytest.importorskip("transformers", reason="the xlingual track needs transformers")
    model = tokenizers.Tokenizer(tokenizers.models.BPE())
    model.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    model.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=300, initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    rng = random.Random(0)
    model.train_from_iterator([sentence(rng, 3, 12) for _ in range(300)] + ["Der Hund läuft. 猫が走る。"], trainer)
    transformers.PreTrainedTokenizerFast(tokenizer_object=model).save_pretrained(str(folder))
    return folder


def test_xlingual_track_equals_rouge_score_with_the_tokenizer(tmp_path: Path) -> None:
    from selfinstruct.evaluate.xlingual import LocalGPT2Tokenizer

    tokenizer = LocalGPT2Tokenizer(_byte_level_tokenizer(tmp_path / "tok"))
    root = write_task_dir(tmp_path / "ni", seed=6, tasks=2, instances=4, xlingual=True)
    items = load_superni(root)
    rng = random.Random(1)
    predictions = {item.id: rng.choice([item.references[0], sentence(rng), "猫が 走る 。", "  Der  Hund"])
                   for item in items}
    report = evaluate_superni(items, predictions, xlingual_tokenizer=tokenizer)
    oracle = rouge_scorer.RougeScorer(["rougeL"], tokenizer=tokenizer)
    xl = [item for item in items if item.track == "xlingual"]
    expected = official_compute([predictions[i.id] for i in xl], [list(i.references) for i in xl], oracle)
    assert report.metrics["rougeL_xlingual_track"] == expected["rougeL"]
    assert report.metrics["exact_match_xlingual_track"] == expected["exact_match"]
    per_task = official_grouped([predictions[i.id] for i in xl], [list(i.references) for i in xl],
                                [i.task_id for i in xl], oracle)
    assert all(report.metrics[f"{key}_xlingual_track"] == value for key, value in per_task.items())


# -- bad input ---------------------------------------------------------------------------------------

def assert_line_errors(path: Path, reader: Any, cases: dict[str, str]) -> None:
    """Each file text makes `reader(path)` raise RecordError with the message (file:line: ...)."""
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(RecordError, match=re.escape(message)):
            reader(path)


def test_prediction_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    cases = {
        '{"id": "a", "prediction": "x"}\nnot json\n': "p.jsonl:2: malformed JSON",
        '{"id": "a", "prediction": "x"}\n{"id": "a", "prediction": "y"}\n': "p.jsonl:2: duplicate id 'a' (first at line 1)",
        '{"id": 3, "prediction": "x"}\n': "p.jsonl:1: 'id' must be a string",
        '{"id": "a", "prediction": null}\n': "p.jsonl:1: 'prediction' must be a string",
        '[1, 2]\n': "p.jsonl:1: expected a JSON object",
        '{"id": "a", "prediction": "x"}\n{"id": "b", "predic': "p.jsonl:2: malformed JSON",
    }
    assert_line_errors(path, read_predictions, cases)
    with pytest.raises(RecordError, match="last line is unfinished"):
        read_predictions(path)


def test_task_folder_errors_name_the_file(tmp_path: Path) -> None:
    root = write_task_dir(tmp_path, seed=1, tasks=2, instances=2)
    task = root / "tasks" / "task100_sample_en.json"
    data = json.loads(task.read_text())
    data["Instances"][1]["output"] = "a string"
    task.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"task100_sample_en.json: Instances\[1\]: references must be a non-empty list"):
        load_superni(root)
    task.write_text("{\n  oops")
    with pytest.raises(RecordError, match="task100_sample_en.json:2"):
        load_superni(root)
    task.unlink()
    with pytest.raises(FileNotFoundError, match="task100_sample_en.json not found"):
        load_superni(root)
    with pytest.raises(FileNotFoundError, match="no tasks/ folder"):
        load_superni(tmp_path / "nowhere")


def test_reference_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    cases = {
        '{"id": "a", "references": "x"}\n': "r.jsonl:1: 'references': references must be a non-empty list",
        '{"id": "a", "references": []}\n': "r.jsonl:1:",
        '{"id": "a", "references": ["x"]}\n{"id": "a", "references": ["y"]}\n': "r.jsonl:2: duplicate id 'a'",
        '{"id": "a", "references": ["x"], "track": "french"}\n': "r.jsonl:1: 'track' must be one of",
    }
    assert_line_errors(path, load_reference_file, cases)
    path.write_text('{"id": "a", "references": ["x"], "task_category": "A"}\n{"id": "b", "references": ["y"]}\n')
    with pytest.raises(ValueError, match="some instances have a category and 'b' has none"):
        evaluate_superni(load_reference_file(path), {})


# -- the command line ----------------------------------------------------------------------------------

def test_cli_writes_the_official_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_task_dir(tmp_path / "ni", seed=8, tasks=3, instances=4)
    items = load_superni(root)
    predictions = make_predictions(items, 8)
    pred_path = tmp_path / "predictions.jsonl"
    pred_path.write_text("".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in predictions.items())
                         + json.dumps({"id": "stray", "prediction": "x"}) + "\n")
    out = tmp_path / "metrics.json"
    assert cli_main(["evaluate", "superni", "--data", str(root), "--predictions", str(pred_path), "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == evaluate_superni(items, {**predictions, "stray": "x"}).metrics
    printed = capsys.readouterr().out
    assert "1 predictions have ids no reference has (ignored): 'stray'" in printed
    assert f"{len(items) - len(predictions)} missing" in printed


def test_cli_reports_bad_input_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_task_dir(tmp_path / "ni", seed=9, tasks=1, instances=2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prediction": "x"}\n{"id": "a", "prediction": "x"}\n')
    assert cli_main(["evaluate", "superni", "--data", str(root), "--predictions", str(bad)]) == 2
    assert f"{bad}:2: duplicate id 'a'" in capsys.readouterr().err
    assert cli_main(["evaluate", "superni", "--data", str(tmp_path / "none"), "--predictions", str(bad)]) == 2
    assert "no tasks/ folder" in capsys.readouterr().err

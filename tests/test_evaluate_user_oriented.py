"""`evaluate user-oriented`: several models' predictions against the reference outputs, checked
against rouge-score and the SuperNI formulas computed here; both prediction file formats."""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.cli import main as cli_main
from selfinstruct.evaluate.user_oriented import load_user_oriented, model_name, score_user_oriented
from selfinstruct.records import RecordError

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_fakes import sentence  # noqa: E402
from superni_official import official_compute  # noqa: E402

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer", reason="rouge-score 0.1.2 is the oracle: pip install rouge-score==0.1.2")


def write_user_oriented(path: Path, tasks: int = 9) -> list[dict]:
    rng = random.Random(5)
    records = []
    for index in range(tasks):
        instances = [{"input": sentence(rng) if index % 2 else "", "output": sentence(rng, 4, 20)}
                     for _ in range(2 if index == 3 else 1)]
        records.append({"id": f"user_oriented_task_{index}", "motivation_app": rng.choice(["Mail", "Docs"]),
                        "instruction": f"Task {index}: " + sentence(rng), "instances": instances})
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def test_scores_equal_rouge_score_for_both_file_formats(tmp_path: Path) -> None:
    data = tmp_path / "user_oriented_instructions.jsonl"
    records = write_user_oriented(data)
    items = load_user_oriented(data)
    assert [item.id for item in items][3:5] == ["user_oriented_task_3-0", "user_oriented_task_3-1"]
    rng = random.Random(2)
    texts = {item.id: rng.choice([item.references[0], sentence(rng, 2, 15), "  " + item.references[0].upper()])
             for item in items}
    official = tmp_path / "model-a_predictions.jsonl"
    official.write_text("".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in list(texts.items())[:-1]))
    # The human-evaluation layout: no ids, instruction and input (with stray whitespace), the response.
    responses = tmp_path / "model-b_predictions.jsonl"
    with open(responses, "w") as handle:
        for record in records:
            if record["id"] == "user_oriented_task_3":
                continue  # several instances share the instruction and input only with the id format
            instance = record["instances"][0]
            handle.write(json.dumps({"prompt": "...", "instruction": record["instruction"] + "\n",
                                     "input": instance["input"] + " ", "target": instance["output"],
                                     "response": texts[record["id"]]}) + "\n")
    scores = score_user_oriented(items, [official, responses])
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    references = [list(item.references) for item in items]
    expected_a = official_compute([texts[i.id] if i is not items[-1] else "" for i in items], references, scorer)
    expected_b = official_compute([texts[i.id] if not i.id.startswith("user_oriented_task_3-") else "" for i in items],
                                  references, scorer)
    assert (scores[0].name, scores[0].rouge_l, scores[0].exact_match) == ("model-a", expected_a["rougeL"],
                                                                          expected_a["exact_match"])
    assert (scores[1].name, scores[1].rouge_l, scores[1].exact_match) == ("model-b", expected_b["rougeL"],
                                                                          expected_b["exact_match"])
    assert (scores[0].missing, scores[1].missing, scores[1].predicted) == (1, 2, len(items) - 2)


def test_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "uo.jsonl"
    write_user_oriented(data, tasks=4)
    items = load_user_oriented(data)
    paths = []
    for name, text in (("first", "yes"), ("second", "the cat runs")):
        path = tmp_path / f"{name}_predictions.jsonl"
        path.write_text("".join(json.dumps({"id": i.id, "prediction": text}) + "\n" for i in items)
                        + json.dumps({"id": "elsewhere", "prediction": "x"}) + "\n")
        paths.append(str(path))
    out = tmp_path / "scores.json"
    assert cli_main(["evaluate", "user-oriented", "--data", str(data), "--predictions", *paths, "-o", str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["model", "ROUGE-L"] and table[2].startswith("first") and table[3].startswith("second")
    saved: list[dict[str, Any]] = json.loads(out.read_text())
    assert [row["name"] for row in saved] == ["first", "second"] and saved[0]["unknown"] == 1
    assert saved == [vars(s) for s in score_user_oriented(items, paths)]


def test_bad_files_name_the_line(tmp_path: Path) -> None:
    data = tmp_path / "uo.jsonl"
    write_user_oriented(data, tasks=2)
    items = load_user_oriented(data)
    responses = tmp_path / "r.jsonl"
    responses.write_text(json.dumps({"instruction": "unknown", "input": "", "response": "x"}) + "\n")
    with pytest.raises(RecordError, match="r.jsonl:1: no reference instance has this instruction"):
        score_user_oriented(items, [responses])
    responses.write_text(json.dumps({"instruction": 3, "response": "x"}) + "\n")
    with pytest.raises(RecordError, match="r.jsonl:1: expected"):
        score_user_oriented(items, [responses])
    data.write_text(data.read_text() + json.dumps({"id": "user_oriented_task_0", "instruction": "x",
                                                   "instances": [{"input": "", "output": "y"}]}) + "\n")
    with pytest.raises(RecordError, match="uo.jsonl:3: duplicate id"):
        load_user_oriented(data)
    data.write_text(json.dumps({"id": "a", "instruction": "x", "instances": []}) + "\n")
    with pytest.raises(RecordError, match="uo.jsonl:1: 'instances' must be a non-empty list"):
        load_user_oriented(data)


def test_model_names_from_file_names() -> None:
    assert model_name("dir/text-davinci-003_predictions.jsonl") == "text-davinci-003"
    assert model_name("mine.jsonl") == "mine"
    assert model_name("_predictions.jsonl") == "_predictions"


def test_predict_then_evaluate_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import selfinstruct.evaluate.cli as evaluate_cli
    from evaluate_fakes import AnswerBackend

    monkeypatch.setattr(evaluate_cli, "make_backend", lambda config: AnswerBackend())
    data = tmp_path / "uo.jsonl"
    write_user_oriented(data, tasks=5)
    out = tmp_path / "fake_predictions.jsonl"
    assert cli_main(["predict", "user-oriented", "--data", str(data), "-o", str(out), "--prompt-style", "alpaca",
                     "--no-progress"]) == 0
    items = load_user_oriented(data)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [item.id for item in items]
    capsys.readouterr()
    assert cli_main(["evaluate", "user-oriented", "--data", str(data), "--predictions", str(out)]) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    assert row[0] == "fake" and row[3:5] == [str(len(items)), "0"]

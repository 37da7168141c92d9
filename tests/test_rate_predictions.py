"""Loading prediction files for rating: both formats, the ids `selfinstruct predict` gives, model
names, and errors that name file and line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rate_data import INSTRUCTIONS, MODELS, RESPONSES, write_rating_data
from selfinstruct.records import RecordError
from selfinstruct.rate.predictions import (
    load_instructions, load_models, load_predictions, parse_prediction_argument,
)


def test_both_formats_load_in_instruction_order(tmp_path):
    instructions, paths = write_rating_data(tmp_path)
    responses = load_models([parse_prediction_argument(str(path)) for path in paths], instructions)
    assert [(r.model, r.item) for r in responses] == [(m, t["id"]) for m in MODELS for t in INSTRUCTIONS]
    upstream = [r for r in responses if r.model == MODELS[2]]
    assert [r.response for r in upstream] == [" " + text for text in RESPONSES[MODELS[2]]]
    # The instruction set's text is shown (the upstream file's has a trailing newline).
    assert upstream[1].instruction == "Translate to French." and upstream[1].input == "Good morning"


def test_partial_predictions_leave_the_rest_out(tmp_path):
    instructions, _ = write_rating_data(tmp_path)
    path = tmp_path / "partial.jsonl"
    path.write_text(json.dumps({"id": "task_2", "prediction": "5"}) + "\n", encoding="utf-8")
    [only] = load_predictions(path, "m", load_instructions(instructions))
    assert (only.item, only.instruction, only.input, only.response) == ("task_2", "Add the numbers.", "2 and 3", "5")


def test_instruction_files_get_the_ids_predict_gives(tmp_path):
    several = tmp_path / "several.jsonl"
    several.write_text(json.dumps({"id": "t", "instruction": "Sum.", "instances": [
        {"input": "1 2", "output": "3"}, {"input": "2 2", "output": "4"}]}) + "\n", encoding="utf-8")
    assert [(i.id, i.input) for i in load_instructions(several)] == [("t-0", "1 2"), ("t-1", "2 2")]
    alpaca = tmp_path / "alpaca.json"  # a JSON list without ids: ids are positions
    alpaca.write_text(json.dumps([{"instruction": "Say hi.", "input": "", "output": "hi"},
                                  {"instruction": "Say bye.", "input": "", "output": "bye"}]), encoding="utf-8")
    assert [(i.id, i.instruction) for i in load_instructions(alpaca)] == [("0", "Say hi."), ("1", "Say bye.")]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(json.dumps({"id": "1", "prediction": "bye"}) + "\n", encoding="utf-8")
    assert [r.item for r in load_models([("mine", predictions)], alpaca)] == ["1"]


def test_model_names():
    assert parse_prediction_argument("dir/text-davinci-003_predictions.jsonl")[0] == "text-davinci-003"
    assert parse_prediction_argument("run/predictions.jsonl")[0] == "predictions"
    assert parse_prediction_argument("mine=run/predictions.jsonl") == ("mine", Path("run/predictions.jsonl"))
    with pytest.raises(ValueError, match="bad model name"):
        parse_prediction_argument("bad\x01name=run/predictions.jsonl")


def test_duplicate_model_names_are_refused(tmp_path):
    instructions, paths = write_rating_data(tmp_path)
    with pytest.raises(ValueError, match="NAME=PATH"):
        load_models([("same", paths[0]), ("same", paths[1])], instructions)


@pytest.mark.parametrize("line, message", [
    ({"id": "task_9", "prediction": "x"}, "'task_9' is not in the instruction set"),
    ({"id": "task_0"}, "or a response line with string"),
    ({"id": "task_1", "prediction": "again"}, "duplicate id 'task_1'"),
    ({"instruction": "Unknown task.", "input": "", "response": "x"}, "no reference instance"),
    ("not json", "malformed JSON"),
])
def test_bad_prediction_lines_name_file_and_line(tmp_path, line, message):
    instructions, _ = write_rating_data(tmp_path)
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "task_1", "prediction": "fine"})
    path.write_text(good + "\n" + (line if isinstance(line, str) else json.dumps(line)) + "\n", encoding="utf-8")
    with pytest.raises(RecordError, match=f"bad.jsonl:2: .*{message}"):
        load_predictions(path, "m", load_instructions(instructions))


def test_empty_prediction_file(tmp_path):
    instructions, _ = write_rating_data(tmp_path)
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(RecordError, match="empty.jsonl:1: no predictions"):
        load_predictions(path, "m", load_instructions(instructions))

"""Loading prediction files for rating: both formats, model names, and errors that name file and line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rate_data import INSTRUCTIONS, MODELS, RESPONSES, write_rating_data
from selfinstruct.records import RecordError
from selfinstruct.rate.predictions import (
    load_instructions, load_models, load_predictions, model_name, parse_prediction_argument,
)


def test_both_formats_load_in_instruction_order(tmp_path):
    instructions, paths = write_rating_data(tmp_path)
    responses = load_models([parse_prediction_argument(str(path)) for path in paths], instructions)
    assert [(r.model, r.item) for r in responses] == [(m, t["id"]) for m in MODELS for t in INSTRUCTIONS]
    upstream = [r for r in responses if r.model == MODELS[2]]
    assert [r.response for r in upstream] == [" " + text for text in RESPONSES[MODELS[2]]]
    # The instruction set's text wins over the upstream file's (which has a trailing newline).
    assert upstream[1].instruction == "Translate to French." and upstream[1].input == "Good morning"


def test_without_instruction_set_records_carry_their_own_text(tmp_path):
    _, paths = write_rating_data(tmp_path)
    responses = load_predictions(paths[2], "m")
    assert [r.item for r in responses] == ["line-1", "line-2", "line-3"]
    assert responses[2].input == "2 and 3"
    with pytest.raises(RecordError, match=r"_predictions.jsonl:1: .*need the instruction set"):
        load_predictions(paths[0], "m")


def test_model_names():
    assert model_name("dir/text-davinci-003_predictions.jsonl") == "text-davinci-003"
    assert model_name("run/predictions.jsonl") == "predictions"
    assert parse_prediction_argument("mine=run/predictions.jsonl") == ("mine", Path("run/predictions.jsonl"))


def test_duplicate_model_names_are_refused(tmp_path):
    instructions, paths = write_rating_data(tmp_path)
    with pytest.raises(ValueError, match="NAME=PATH"):
        load_models([("same", paths[0]), ("same", paths[1])], instructions)


@pytest.mark.parametrize("line, message", [
    ({"id": "task_9", "prediction": "x"}, "'task_9' is not in the instruction set"),
    ({"id": "task_0"}, "no response"),
    ({"id": "task_0", "prediction": 3}, "expected a string"),
    ("not json", "malformed JSON"),
])
def test_bad_prediction_lines_name_file_and_line(tmp_path, line, message):
    instructions, _ = write_rating_data(tmp_path)
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "task_1", "prediction": "fine"})
    path.write_text(good + "\n" + (line if isinstance(line, str) else json.dumps(line)) + "\n", encoding="utf-8")
    with pytest.raises(RecordError, match=f"bad.jsonl:2: .*{message}"):
        load_predictions(path, "m", load_instructions(instructions))


def test_positional_records_must_match_the_instruction_set(tmp_path):
    instructions, _ = write_rating_data(tmp_path)
    path = tmp_path / "shuffled.jsonl"
    path.write_text(json.dumps({"instruction": "Translate to French.", "response": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(RecordError, match=r"shuffled.jsonl:1: instruction differs from instruction 'task_0'"):
        load_predictions(path, "m", load_instructions(instructions))


def test_duplicate_prediction_for_one_id(tmp_path):
    instructions, _ = write_rating_data(tmp_path)
    path = tmp_path / "twice.jsonl"
    path.write_text(2 * (json.dumps({"id": "task_0", "prediction": "x"}) + "\n"), encoding="utf-8")
    with pytest.raises(RecordError, match=r"twice.jsonl:2: a second prediction for 'task_0'"):
        load_predictions(path, "m", load_instructions(instructions))

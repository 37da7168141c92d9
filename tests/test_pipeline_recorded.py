"""The parsers on real completions of the embedded model (tests/data/completions/smollm2.jsonl).

Each completion was produced from the pipeline's own prompts (see record.py there). The test checks
invariants that must hold for any model output, and the exact parse of every line against
smollm2.expected.json, which was reviewed by hand; after re-recording or a deliberate parser
change, regenerate it with SELFINSTRUCT_UPDATE_EXPECTED=1 and review the diff.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.filters import check_instruction
from selfinstruct.pipeline.instance_filters import InstanceFilter
from selfinstruct.pipeline.parsing import (
    apply_truncation, parse_alpaca_tasks, parse_clf_answer, parse_input_first, parse_instruction_list,
    parse_output_first, strip_cue_echo,
)

DATA = Path(__file__).parent / "data" / "completions"
RECORDED = DATA / "smollm2.jsonl"
EXPECTED = DATA / "smollm2.expected.json"


def recorded() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDED.read_text(encoding="utf-8").splitlines()]


def parse(record: dict[str, Any]) -> Any:
    """What the pipeline takes from a completion (before filters), as JSON-friendly lists."""
    text, step = record["text"], record["step"]
    if step == "instructions":
        return parse_instruction_list(strip_cue_echo(text, record["cue"]))
    if step == "classification":
        return parse_clf_answer(text)
    if step == "instances":
        pairs = parse_output_first(text) if record["classification"] else parse_input_first(text)
        return [list(pair) for pair in pairs]
    return [list(task) for task in parse_alpaca_tasks(text, record["cue"])]


def test_recordings_cover_every_step_and_style() -> None:
    kinds = {(r["step"], r["prompt_style"], r["classification"]) for r in recorded()}
    assert {("instructions", "completion", False), ("instructions", "chat", False), ("classification", "completion", False),
            ("instances", "completion", False), ("instances", "completion", True), ("alpaca", "completion", False),
            ("alpaca", "chat", False)} <= kinds
    assert any(r["finish_reason"] == "length" for r in recorded()), "a truncated response should be among them"


def test_parses_match_the_reviewed_expectations() -> None:
    got = [parse(record) for record in recorded()]
    if os.environ.get("SELFINSTRUCT_UPDATE_EXPECTED"):
        EXPECTED.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert len(expected) == len(got)
    for index, (mine, theirs) in enumerate(zip(got, expected)):
        assert mine == theirs, f"line {index + 1} of {RECORDED.name} parses differently"


@pytest.mark.parametrize("index", range(len(recorded())))
def test_invariants(index: int) -> None:
    record = recorded()[index]
    result = parse(record)
    if record["step"] == "instructions":
        for item in result:
            assert item == item.strip() and "\n" not in item and "  " not in item
            assert not re.match(r"\(?\d{1,3}\s*[.):]\s", item), item  # no list marker left
        kept, dropped = apply_truncation(result, record["finish_reason"], discard_whole=True)
        assert (kept, dropped) == ((result, 0) if record["finish_reason"] == "stop" else ([], len(result)))
        for item in kept:
            check_instruction(item)  # never raises on real text
    elif record["step"] == "classification":
        assert isinstance(result, bool)
    elif record["step"] == "instances":
        for inp, out in result:
            assert inp == inp.strip() and out == out.strip()
            assert not out.startswith(("Output:", "Class label:")) and "\nTask:" not in out
        InstanceFilter(5)([tuple(pair) for pair in result])  # never raises
    else:
        for instruction, inp, out in result:
            assert "###" not in instruction + out and inp.lower() != "<noinput>"
            assert not re.search(r"(?im)^\s*\d+\.\s*(instruction|input|output):", instruction + "\n" + out)

"""Instance filters (docs/pipeline.md, step 4) and the fine-tuning encodings."""
from __future__ import annotations

import random

import pytest

from selfinstruct.pipeline.instance_filters import InstanceFilter, check_instance
from selfinstruct.pipeline.prompts.finetuning import TEMPLATES_WITH_INPUT, TEMPLATES_WITHOUT_INPUT, encode, strip_field_prefix


@pytest.mark.parametrize(
    ("inp", "out", "reason"),
    [
        ("same", "same", "input_equals_output"),
        ("", "", "input_equals_output"),
        ("x", "", "empty_output"),
        ("Sentence:", "yes", "ends_with_colon"),
        ("a", "Here are the steps:", "ends_with_colon"),
        ("", "fine", None),
        ("in", "out", None),
    ],
)
def test_check_instance(inp: str, out: str, reason: str | None) -> None:
    assert check_instance(inp, out) == reason


def test_conflicting_inputs_drop_the_whole_task() -> None:
    filters = InstanceFilter(cap=5)
    assert filters([("a", "1"), ("a", "2"), ("b", "3")]) == []
    assert filters.counts["dropped_conflicting_task"] == 3


def test_empty_inputs_never_conflict_and_duplicates_go() -> None:
    filters = InstanceFilter(cap=5)
    kept = filters([("", "x"), ("", "y"), ("a", "1"), ("a", "1"), ("b", "b")])
    assert kept == [("", "x"), ("", "y"), ("a", "1")]
    assert filters.counts["dropped_duplicate"] == 1 and filters.counts["dropped_input_equals_output"] == 1
    assert filters.counts["kept"] == 3


def test_cap_keeps_the_first_instances() -> None:
    filters = InstanceFilter(cap=2)
    assert filters([("a", "1"), ("b", "2"), ("c", "3")]) == [("a", "1"), ("b", "2")]
    assert filters.counts["dropped_over_cap"] == 1


def test_strip_field_prefix() -> None:
    assert strip_field_prefix("Sentence: I ran home.") == "I ran home."
    assert strip_field_prefix("Text:\nLine one.\n\n\nLine two.") == "Line one.\nLine two."
    two_fields = "Sentence 1: a\nSentence 2: b"
    assert strip_field_prefix(two_fields) == two_fields
    assert strip_field_prefix("Question: why?\nContext: none") == "Question: why?\nContext: none"
    assert strip_field_prefix("plain input") == "plain input"


def test_template_counts_and_encoding() -> None:
    assert len(TEMPLATES_WITH_INPUT) == 7 and len(TEMPLATES_WITHOUT_INPUT) == 6
    rng = random.Random(0)
    seen = set()
    for _ in range(200):
        pair = encode("Do it.", "Word: cat", "Done", rng, 0.5, "<end>")
        assert pair["completion"].endswith("Done<end>") and "Do it." in pair["prompt"]
        seen.add(pair["prompt"])
    assert any("Word: cat" in p for p in seen) and any("Word:" not in p for p in seen)
    no_input = encode("Say hi.", "", "Hi", random.Random(1), 0.5, "")
    assert no_input["completion"].strip() == "Hi" and "Input" not in no_input["prompt"]


def test_encode_never_formats_user_braces() -> None:
    pair = encode("Fill {input} in {0}.", "{output}", "{x}", random.Random(3), 0.0, "")
    assert "{input}" in pair["prompt"] and pair["completion"].strip() == "{x}"

"""Parsers on hand-made slips; test_pipeline_recorded.py runs them on real model completions."""
from __future__ import annotations

import pytest

from selfinstruct.pipeline.parsing import (
    apply_truncation, parse_alpaca_tasks, parse_clf_answer, parse_input_first, parse_instruction_list,
    parse_output_first, strip_cue_echo,
)


def test_instruction_list_reference_case() -> None:
    text = " Write a  haiku about rain.\n10. Name three rivers in Africa.\n11 . Sort the words\nalphabetically."
    assert parse_instruction_list(text) == [
        "Write a haiku about rain.", "Name three rivers in Africa.", "Sort the words alphabetically."]


@pytest.mark.parametrize(
    "text",
    [
        " A first task here\n10) A second task here\n11: A third task here",
        " A first task here\n- A second task here\n* A third task here",
        " A first task here\n1. A second task here\n1. A third task here",  # restarted numbering
        " A first task here\n12. A second task here\n10. A third task here",  # skipped / out of order
        "\n9. A first task here\n10. A second task here\n11. A third task here",  # cue repeated
        " **A first task here**\n10. **Task:** A second task here\n11. Instruction: A third task here",
        " A first task here\n(10) A second task here\n  11.A third task here",
    ],
)
def test_instruction_list_numbering_slips(text: str) -> None:
    items = parse_instruction_list(text)
    if "11.A" in text:  # no space after the number: part of the previous item, as the reference does
        assert items == ["A first task here", "A second task here 11.A third task here"]
    else:
        assert items == ["A first task here", "A second task here", "A third task here"]


def test_instruction_list_keeps_decimals_and_inline_numbers() -> None:
    assert parse_instruction_list(" Convert 1.5 liters\n2.5 cups to grams") == ["Convert 1.5 liters 2.5 cups to grams"]


def test_instruction_list_capitalize_option() -> None:
    assert parse_instruction_list(" write about NASA.", capitalize=True) == ["Write about nasa."]
    assert parse_instruction_list(" write about NASA.") == ["write about NASA."]


def test_truncation_policy() -> None:
    assert apply_truncation(["a", "b"], "stop", True) == (["a", "b"], 0)
    assert apply_truncation(["a", "b"], "length", True) == ([], 2)
    assert apply_truncation(["a", "b"], "length", False) == (["a"], 1)
    assert apply_truncation([], "length", False) == ([], 0)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(" Yes", True), ("yes.", True), ("YES", True), (" **Yes**", True), (" No", False), (" Yesterday", False),
     ("", False), (" It is yes", False)],
)
def test_clf_answer(answer: str, expected: bool) -> None:
    assert parse_clf_answer(answer) is expected


def test_input_first_examples() -> None:
    text = ("Example 1\nSentence: I like tea.\nOutput: positive\n"
            "Example 2\nInput: Sentence: Rain again.\nOutput: negative\nInput: stray\n"
            "Example 3\nOutput: no input needed")
    assert parse_input_first(text) == [("Sentence: I like tea.", "positive"), ("Sentence: Rain again.", "negative"),
                                       ("", "no input needed")]


def test_input_first_single_output_and_none() -> None:
    assert parse_input_first("Output: 42") == [("", "42")]
    assert parse_input_first("  Output:\n- a\n- b\n") == [("", "- a\n- b")]
    assert parse_input_first("I cannot help with that.") == []


def test_input_first_marker_variants_and_stray_task() -> None:
    text = "example 1:\nWord: big\noutput: large\nEXAMPLE 2\nWord: cold\nOutput 2: chilly\nTask: Next task"
    assert parse_input_first(text) == [("Word: big", "large"), ("Word: cold", "chilly")]
    # "For example" inside an output is not a marker
    assert parse_input_first("Output: For example, a cat.\nExamples are good.") == [
        ("", "For example, a cat.\nExamples are good.")]


def test_input_first_example_without_output_marker() -> None:
    assert parse_input_first("Example 1\nA sunny day.") == [("", "A sunny day.")]


def test_output_first() -> None:
    text = " Class label: Positive\nReview: Great.\nClass label: Negative\nReview: Bad.\nclass label: Neutral"
    assert parse_output_first(text) == [("Review: Great.", "Positive"), ("Review: Bad.", "Negative"), ("", "Neutral")]
    assert parse_output_first("Positive\nReview: fine") == []


def test_alpaca_tasks() -> None:
    cue = "###\n4. Instruction:"
    text = (" Name a fruit.\n4. Input:\n<noinput>\n4. Output:\nApple.\n###\n"
            "5. Instruction: Add the numbers.\n5. Input:\n2 and 3\n5. Output:\n5\n"
            "6. Instruction: Missing its output.\n6. Input:\nfoo\n"
            "Instruction: No number and no separator.\nOutput: ok\n###\n")
    assert parse_alpaca_tasks(text, cue) == [
        ("Name a fruit.", "", "Apple."), ("Add the numbers.", "2 and 3", "5"), ("Missing its output.", "foo", ""),
        ("No number and no separator.", "", "ok")]


def test_cue_echo() -> None:
    assert strip_cue_echo(" 9. Write a song.", "9.") == " Write a song."
    assert strip_cue_echo(" Write a song.", "9.") == " Write a song."


def test_bold_is_removed_around_labels_only() -> None:
    text = "**Example 1**\n**Input:** x = n ** 0.5\n**Output**: done"
    assert parse_input_first(text) == [("x = n ** 0.5", "done")]
    assert parse_instruction_list(" **Compute the power n ** 2 of n.**\n10. **Task:** Name a bird species.") == [
        "Compute the power n ** 2 of n.", "Name a bird species."]

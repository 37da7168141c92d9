"""Prompt structure for every step (docs/pipeline.md, Steps): what the model sees and where it continues."""
from __future__ import annotations

import re

from selfinstruct.pipeline.prompts.examples import CLF_EXAMPLES, INPUT_FIRST_DEMOS, OUTPUT_FIRST_DEMOS
from selfinstruct.pipeline.prompts import (
    INSTRUCTION_HEADER, NO_INPUT, Prompt, alpaca_prompt, clf_prompt, clean_instruction, instance_prompt,
    instruction_prompt,
)
from selfinstruct.pipeline.parsing import parse_input_first, parse_output_first


def test_instruction_prompt_is_header_numbered_list_and_next_number() -> None:
    shown = [f"Task number {i}:\n  with  spaces" for i in range(1, 9)]
    prompt = instruction_prompt(shown)
    assert prompt.text.startswith(INSTRUCTION_HEADER + "\n\n1. Task number 1: with spaces\n")
    assert prompt.cue == "9." and prompt.text.endswith("\n8. Task number 8: with spaces\n9.")
    assert INSTRUCTION_HEADER.count("\n") == 0  # a one-line header
    assert len(re.findall(r"(?m)^\d+\. ", prompt.text)) == 8


def test_clean_instruction_collapses_whitespace_and_trailing_colon() -> None:
    assert clean_instruction("  Sort\nthese   numbers:  ") == "Sort these numbers"


def test_clf_prompt_has_31_examples_12_yes() -> None:
    assert len(CLF_EXAMPLES) == 31 and sum(yes for _, yes in CLF_EXAMPLES) == 12
    prompt = clf_prompt("Is this review positive?")
    assert prompt.text.count("Is it classification? Yes\n") == 12
    assert prompt.text.count("Is it classification? No\n") == 19
    assert prompt.text.endswith("\nTask: Is this review positive?\nIs it classification?")
    short = clf_prompt("x y z", num_examples=4)
    assert short.text.count("Task:") == 5 and "Yes" in short.text and "No" in short.text


def test_instance_prompts_input_first_and_output_first() -> None:
    assert len(INPUT_FIRST_DEMOS) == 11 and len(OUTPUT_FIRST_DEMOS) == 16
    plain = instance_prompt("Write a limerick about tea.", classification=False)
    assert plain.text.endswith("\n\nTask: Write a limerick about tea.\n") and "Class label:" not in plain.text
    assert plain.text.count("Task:") == 12
    clf = instance_prompt("Is the tweet sarcastic?", classification=True)
    assert clf.text.endswith("Task: Is the tweet sarcastic?\n") and clf.text.count("Task:") == 17
    assert clf.text.count("Class label:") >= 32
    assert instance_prompt("x", False, num_demonstrations=3).text.count("Task:") == 4


def test_our_demonstrations_parse_with_our_parsers() -> None:
    """Every demonstration must be in the format the parsers read back."""
    for task, body in INPUT_FIRST_DEMOS:
        pairs = parse_input_first(body)
        assert pairs and all(out for _, out in pairs), task
        if body.startswith("Example"):
            assert all(inp for inp, _ in pairs), task
    for task, body in OUTPUT_FIRST_DEMOS:
        pairs = parse_output_first(body)
        assert pairs and all(label for _, label in pairs), task


def test_alpaca_prompt_demonstrations_and_cue() -> None:
    prompt = alpaca_prompt([("Name a color.", "", "Blue."), ("Add the numbers.", "2, 3", "5")], tasks_per_prompt=20)
    assert "Write 20 varied tasks" in prompt.text
    assert f"1. Input:\n{NO_INPUT}\n1. Output:\nBlue.\n" in prompt.text
    assert "###\n2. Instruction: Add the numbers.\n2. Input:\n2, 3\n2. Output:\n5\n" in prompt.text
    assert prompt.cue == "###\n3. Instruction:" and prompt.text.endswith(prompt.cue)


def test_chat_rendering_wraps_body_and_keeps_cue_in_the_answer() -> None:
    prompt = Prompt("List things:\n\n1. a\n", "2.")
    wrapped = prompt.render(lambda user: f"<user>{user}</user><assistant>")
    assert wrapped == "<user>List things:\n\n1. a</user><assistant>2."
    assert prompt.render(None) == "List things:\n\n1. a\n2."

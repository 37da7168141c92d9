"""Step 1's fast paths decide and write exactly what the plain implementations do.

The admission loop runs per candidate at up to 10^6 instructions, so its parser, filters, prompt
cleaning and JSON lines take shortcuts (a regex skipped where it cannot match, whitespace collapsed
with str.split, lines composed from pre-encoded parts). Each is checked here against a reference
written for this test with the plain semantics (regexes on every text, json.dumps on every
record), on generated texts rich in the cases the shortcuts reason about, and a whole run with the
reference functions swapped in must write the same bytes.
"""
from __future__ import annotations

import json
import math
import random
import re
import shutil
import string
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import selfinstruct.filters as filters
from selfinstruct.backends.base import Completion, SamplingParams
from selfinstruct.filters import ALPACA_KEYWORDS, InstructionFilter, InstructionFilterConfig, check_instruction
from selfinstruct.pipeline import generate_instructions
from selfinstruct.pipeline import parsing, prompts
from selfinstruct.pipeline.jsonline import json_value, object_text
from selfinstruct.pipeline.runlog import RunLog
from selfinstruct.pipeline.steps import instructions as instruction_step
from selfinstruct.records import dump_line

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_fakes import small_config  # noqa: E402


# -- the references: the plain semantics, regexes on every text ---------------------------------
def reference_collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def reference_unbold(text: str) -> str:
    for pattern, replacement in parsing._BOLD:
        text = pattern.sub(replacement, text)
    return text


def reference_parse_instruction_list(text: str, capitalize: bool = False) -> list[str]:
    items: list[list[str]] = [[]]
    for line in reference_unbold(text).split("\n"):
        marker = parsing._ITEM_MARKER.match(line)
        if marker:
            items.append([line[marker.end():]])
        else:
            items[-1].append(line)
    out = []
    for parts in items:
        item = parsing._ITEM_LABEL.sub("", reference_collapse(" ".join(parts)), count=1).strip()
        if capitalize:
            item = item.capitalize()
        if item:
            out.append(item)
    return out


def reference_check(text: str, config: InstructionFilterConfig) -> str | None:
    stripped = text.strip()
    if not stripped:
        return "empty"
    words = len(stripped.split())
    if words < config.min_words:
        return "too_short"
    if words > config.max_words:
        return "too_long"
    alternatives = [r"\s+".join(map(re.escape, word.split())) for word in config.blocked_keywords if word.strip()]
    if alternatives and re.search(r"\b(?:" + "|".join(alternatives) + r")\b", stripped, re.IGNORECASE):
        return "blocked_keyword"
    if any(stripped.lower().startswith(prefix.lower()) for prefix in config.blocked_prefixes if prefix):
        return "blocked_prefix"
    if stripped[0] in string.punctuation:
        return "starts_with_punctuation"
    if config.language == "english" and not stripped[0].isascii():
        return "non_ascii_start"
    return None


def reference_clean_instruction(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(":")


# -- texts rich in what the shortcuts reason about -----------------------------------------------
# Case-insensitive regexes match "\u0130" and "\u0131" for i, "\u017f" for s and "\u212a" for k;
# "\u2028", "\x1c" and "\u3000" are whitespace to both str.split and \s.
PIECES = ["image", "Images", "IMAGE", "\u0130mage", "\u0131mages", "fi", "le", "files", "map", "go", " to", "go\tto",
          "draw", "plot", "graph", "picture", "\u212aey", "key", "\u017fun", "sun", "Task", "task 9:", "Instruction:",
          "New task -", "new\ttask:", "\u0130nstruction:", "**", "**:", ":**", "1.", "10)", "(3)", "-", "*", "\u2022",
          "Write a program", "write A PROGRAM", "\u00e9t\u00e9", "_", "x", "ab", "?", ".", ":", "'", " ", "  ", "\t",
          "\n", "\n\n", "\u2028", "\x1c", "\u3000", "\r", "\xa0"]
texts = st.one_of(st.lists(st.sampled_from(PIECES), max_size=24).map("".join), st.text(max_size=60))
keywords = st.lists(st.sampled_from(["image", "images", "go to", "file", "\u212aey", "\u017fun", "Map", "a b",
                                     "", "  ", "c++", "x.y", "\u00e9t\u00e9", "sun"]), max_size=6)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_whitespace_collapse_and_prompt_cleaning_match_the_regexes(text: str) -> None:
    assert parsing.collapse_whitespace(text) == reference_collapse(text)
    assert prompts.clean_instruction(text) == reference_clean_instruction(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(texts, max_size=8).map("\n".join), st.booleans())
def test_instruction_list_parser_matches_the_reference(text: str, capitalize: bool) -> None:
    assert parsing.parse_instruction_list(text, capitalize) == reference_parse_instruction_list(text, capitalize)


@settings(max_examples=600, deadline=None)
@given(texts, keywords, st.sampled_from([(), ("write a program",), ("", "Go"), ("\u0130t",)]),
       st.sampled_from(["english", "any"]), st.integers(1, 3))
def test_instruction_filter_matches_the_reference(text: str, words: list[str], prefixes: tuple[str, ...],
                                                  language: str, min_words: int) -> None:
    config = InstructionFilterConfig(min_words=min_words, max_words=12, blocked_keywords=tuple(words),
                                     blocked_prefixes=prefixes, language=language)
    expected = reference_check(text, config)
    assert check_instruction(text, config) == expected
    assert InstructionFilter(config).check(text) == expected


@pytest.mark.parametrize("text", ["Describe the \u0130MAGE now please", "Describe the \u212aEY points of it",
                                  "Explain how to GO \n TO school", "Summarize the Files here quickly"])
def test_filter_keeps_the_regex_semantics_beyond_ascii(text: str) -> None:
    config = InstructionFilterConfig(blocked_keywords=ALPACA_KEYWORDS + ("key",))
    assert check_instruction(text, config) == reference_check(text, config) == "blocked_keyword"


json_values = st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans(),
                        st.lists(st.text(max_size=5), max_size=3),
                        st.dictionaries(st.text(max_size=5), st.floats() | st.text(max_size=5), max_size=3))


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_json_values_are_what_json_dumps_writes(value: object) -> None:
    assert json_value(value) == json.dumps(value, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_composed_objects_are_what_json_dumps_writes(record: dict) -> None:
    assert object_text((key, json_value(value)) for key, value in record.items()) == json.dumps(record, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.text(), st.one_of(st.none(), st.integers()), st.one_of(st.none(), st.text()),
       st.one_of(st.none(), st.floats()), st.integers(1, 3))
def test_reject_lines_are_what_dump_line_writes(reason: str, text: str, request: int | None, similar: str | None,
                                                score: float | None, number: int) -> None:
    log = RunLog(Path("unused"), "generate-instructions")
    log.reject(reason, text, request, similar, score, number)
    record = {"step": "generate-instructions", "reason": reason, "text": text, "request": request,
              "most_similar": similar, "score": score}
    assert log.pending_rejects() == [dump_line(record)] * number


def test_non_json_values_fail_as_json_dumps_does() -> None:
    with pytest.raises(TypeError):
        json_value(object())
    assert json_value(math.inf) == "Infinity" and json_value(-math.nan) == "NaN"


# -- a whole run ---------------------------------------------------------------------------------
class SlipBackend:
    """Completions made of PIECES-style slips around real instructions, a function of the prompt."""

    name = "slips"
    WORDS = ["Write", "a", "short", "poem", "about", "the", "sea", "image", "Explain", "why", "cats", "purr", "map",
             "List", "three", "uses", "of", "salt", "\u00e9t\u00e9", "go", "to", "files", "Plan", "trip", "moon"]

    def answer(self, prompt: str, seed: int | None) -> Completion:
        rng = random.Random(f"{seed}\x00{prompt}")
        lines = []
        for number in range(rng.randint(1, 7)):
            words = rng.choices(self.WORDS, k=rng.randint(2, 12))
            lead = rng.choice(["", "", "**", "Task: ", "task 3 - ", "\u0130nstruction: ", "  ", "? ", "\u00e9"])
            tail = rng.choice(["", ".", "**", ":", "  \t", "\u3000more"])
            marker = "" if number == 0 else rng.choice([f"{9 + number}. ", f"{9 + number}) ", "- ", "* ", "\u2022 "])
            lines.append(marker + lead + " ".join(words) + tail)
        return Completion(" " + "\n".join(lines), rng.choice(["stop", "stop", "length"]), 100, 50)

    def generate(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        return [[self.answer(prompt, params.seed)] for prompt in prompts]

    def generate_with_seeds(self, prompts: list[str], params: SamplingParams, seeds: list[int]) -> list[list[Completion]]:
        return [[self.answer(prompt, seed)] for prompt, seed in zip(prompts, seeds)]

    def close(self) -> None:
        pass


class StreamedSlipBackend(SlipBackend):
    """The same completions through a stream, finishing requests in a shuffled order: step 1 then
    admits on a thread beside the loop and builds prompts one result later."""

    def open_stream(self, window: int) -> "SlipStream":
        return SlipStream(self)


class SlipStream:
    def __init__(self, backend: SlipBackend) -> None:
        self.backend = backend
        self.queue: list[tuple[int, str, int | None]] = []
        self.rng = random.Random(7)

    def submit(self, key: int, prompt: str, params: SamplingParams) -> None:
        self.queue.append((key, prompt, params.seed))

    def next_finished(self, timeout: float | None = None) -> tuple[int, list[Completion]]:
        key, prompt, seed = self.queue.pop(self.rng.randrange(len(self.queue)))
        return key, [self.backend.answer(prompt, seed)]

    def pending(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        self.queue.clear()


def run_files(directory: Path, backend: SlipBackend | None = None, **changes: object) -> dict[str, bytes]:
    """A run's files, in a fresh `directory` (the same path for runs compared: the state files name it)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    settings: dict = {"num_instructions": 120, **changes}
    config = small_config(directory, prompts_per_round=8, max_stalled_rounds=0, keep_truncated=True,
                          similarity_fields=True, **settings)
    generate_instructions(config, backend or SlipBackend())
    files = {str(p.relative_to(config.output_dir)): p.read_bytes()
             for p in sorted(config.output_dir.rglob("*")) if p.is_file()}
    progress = [json.loads(line) for line in files.pop("progress.jsonl").splitlines()]
    files["progress"] = json.dumps([{**line, "seconds": None, "cpu_seconds": None} for line in progress]).encode()
    return files


@pytest.mark.parametrize("capitalize", [False, True])
def test_a_run_writes_the_same_bytes_as_with_the_reference_functions(tmp_path: Path, capitalize: bool,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fast = run_files(tmp_path / "run", capitalize=capitalize)
    with monkeypatch.context() as patch:
        patch.setattr(instruction_step, "parse_instruction_list", reference_parse_instruction_list)
        patch.setattr(prompts, "clean_instruction", reference_clean_instruction)
        patch.setattr(instruction_step, "clean_instruction", reference_clean_instruction)

        def reference_filter(self: InstructionFilter, text: str) -> str | None:
            reason = reference_check(text, self.config)
            self.counts["kept" if reason is None else f"dropped_{reason}"] += 1
            return reason

        patch.setattr(filters.InstructionFilter, "check", reference_filter)
        plain = run_files(tmp_path / "run", capitalize=capitalize)
    assert fast == plain
    rejects = fast["rejects/generate-instructions.jsonl"].decode().splitlines(keepends=True)
    reasons = {json.loads(line)["reason"] for line in rejects}
    assert {"too_similar", "blocked_keyword", "starts_with_punctuation", "non_ascii_start", "too_short"} <= reasons
    for name in ("state/instructions.records.jsonl", "rejects/generate-instructions.jsonl",
                 "machine_generated_instructions.jsonl"):
        lines = fast[name].decode().splitlines(keepends=True)
        assert lines and all(dump_line(json.loads(line)) == line for line in lines), name


def test_admitting_beside_the_loop_writes_what_admitting_in_it_does(tmp_path: Path) -> None:
    """A streamed run (admission on a thread, drops held in request order, builds one result later)
    against a batch-only one (everything in the loop): the same files but the commit log, whose
    commits come every window instead of every few requests."""
    for size in (120, 36):  # 36: the target is reached inside a response (surplus dropped)
        streamed = run_files(tmp_path / "run", StreamedSlipBackend(), num_instructions=size)
        in_loop = run_files(tmp_path / "run", num_instructions=size)
        assert streamed.pop("state/instructions.jsonl") != in_loop.pop("state/instructions.jsonl")
        assert streamed == in_loop
        assert (b'"reason": "surplus"' in streamed["rejects/generate-instructions.jsonl"]) == (size == 36)

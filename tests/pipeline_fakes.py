"""A deterministic scripted backend and a small seed file for the pipeline tests.

`FakeBackend` answers every prompt kind of the pipeline with text that depends only on the prompt
and the round's sampling seed (so a resumed run can equal an uninterrupted one), with the slips
real models make: numbering errors, bullets, truncation, blocked keywords, near-duplicates.
Run as a script it is the real pipeline CLI with this backend in place of the configured one, for
the kill -9 tests: `python tests/pipeline_fakes.py bootstrap -o DIR ...`.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from selfinstruct.backends.base import Completion, SamplingParams
from selfinstruct.pipeline.prompts import INSTRUCTION_HEADER, OUTPUT_FIRST_HEADER

if TYPE_CHECKING:
    from selfinstruct.pipeline.config import PipelineConfig

VERBS = ["Write", "Explain", "List", "Describe", "Suggest", "Summarize", "Compare", "Classify", "Rewrite",
         "Translate", "Plan", "Create", "Give", "Find", "Identify", "Tell", "Design", "Outline", "Name", "Predict"]
NOUNS = ["a poem", "a recipe", "the rules", "three reasons", "a story", "an email", "the steps", "a list",
         "the difference", "a summary", "a plan", "a slogan", "the meaning", "five tips", "a short dialogue"]
TOPICS = ["about the ocean", "for a birthday party", "of photosynthesis", "for saving money", "about a lost cat",
          "for a job interview", "between cats and dogs", "of a healthy breakfast", "about time travel",
          "for learning a language", "about the moon", "for a rainy day", "of chess", "about friendship",
          "for a school trip", "of the water cycle", "for a small garden", "about robots", "of good sleep"]
EXTRAS = ["in simple words", "for children", "in one paragraph", "with examples", "step by step", "",
          "in a funny way", "for a beginner", "using bullet points", ""]


def _rng(prompt: str, seed: object) -> random.Random:
    return random.Random(hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest())


def _instruction(rng: random.Random) -> str:
    parts = [rng.choice(VERBS), rng.choice(NOUNS), rng.choice(TOPICS), rng.choice(EXTRAS)]
    roll = rng.random()
    if roll < 0.05:
        parts = parts[:2]  # too short
    elif roll < 0.1:
        parts.append("and draw a picture")  # blocked keyword
    return " ".join(p for p in parts if p) + "."


def _list_completion(prompt: str, rng: random.Random, max_tokens: int) -> tuple[str, str]:
    match = re.search(r"(\d+)\.\s*$", prompt)
    first = int(match.group(1)) if match else 9
    lines = [" " + _instruction(rng)]
    for number in range(first + 1, first + rng.randint(1, 7)):
        marker = rng.choice([f"{number}. ", f"{number}. ", f"{number}) ", "- ", f"{number - 1}. "])
        lines.append(marker + _instruction(rng))
    text = "\n".join(lines)
    words = text.split(" ")
    if len(words) > max_tokens:
        return " ".join(words[:max_tokens]), "length"
    return text, "stop"


def _instances(prompt: str, rng: random.Random) -> str:
    if prompt.startswith(OUTPUT_FIRST_HEADER):
        labels = rng.sample(["Positive", "Negative", "Neutral", "Yes", "No"], rng.randint(1, 3))
        return "\n".join(f"Class label: {label}\nSentence: {rng.choice(TOPICS)} {rng.randint(0, 9)}" for label in labels)
    if rng.random() < 0.3:
        return f"Output: {rng.choice(NOUNS)} {rng.choice(TOPICS)}."
    examples = []
    for number in range(1, rng.randint(2, 4)):
        examples.append(f"Example {number}\nInput: {rng.choice(TOPICS)}\nOutput: {rng.choice(NOUNS)} {rng.randint(0, 99)}")
    return "\n".join(examples)


def _alpaca(prompt: str, rng: random.Random) -> str:
    first = int(prompt.rstrip().rsplit("\n", 1)[-1].split(".")[0])
    blocks = []
    for number in range(first, first + rng.randint(1, 4)):
        head = "" if number == first else f"###\n{number}. Instruction: "
        inp = rng.choice(["<noinput>", f"{rng.choice(TOPICS)} {rng.randint(0, 9)}"])
        blocks.append(f"{head}{_instruction(rng)}\n{number}. Input:\n{inp}\n{number}. Output:\n{rng.choice(NOUNS)}.")
    return " " + "\n".join(blocks)


class ShuffledStream:
    """A streaming test double of the GenerationStream protocol: requests finish in a random order
    (`order_seed`; None: different in every process), and `next_finished(timeout=0)` sometimes
    reports that nothing has finished yet, as a busy engine does."""

    def __init__(self, backend: "FakeBackend", order_seed: object = None) -> None:
        self.backend = backend
        self.rng = random.Random(order_seed)
        self.queue: list[tuple[object, str, SamplingParams]] = []

    def submit(self, key: object, prompt: str, params: SamplingParams) -> None:
        self.queue.append((key, prompt, params))

    def next_finished(self, timeout: float | None = None) -> tuple[object, list[Completion]]:
        if not self.queue:
            raise LookupError("no request is pending")
        if timeout is not None and self.rng.random() < 0.3:
            raise TimeoutError("nothing finished yet")
        key, prompt, params = self.queue.pop(self.rng.randrange(len(self.queue)))
        return key, self.backend.generate([prompt], params)[0]

    def pending(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        self.queue.clear()


class FakeBackend:
    """Deterministic answers per (prompt, seed); token counts are word counts."""

    name = "fake"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[list[str], SamplingParams]] = []
        self.seeds: list[list[int | None]] = []

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        return self.generate_with_seeds(prompts, params, [params.seed] * len(prompts))

    def generate_with_seeds(self, prompts: Sequence[str], params: SamplingParams,
                            seeds: Sequence[int | None]) -> list[list[Completion]]:
        """One batched call in which prompt i samples with seed i (what a batch-only engine offers)."""
        self.calls.append((list(prompts), params))
        self.seeds.append(list(seeds))
        if self.delay:
            time.sleep(self.delay)
        return [self.answer(prompt, params, seed) for prompt, seed in zip(prompts, seeds)]

    def answer(self, prompt: str, params: SamplingParams, seed: int | None) -> list[Completion]:
        """The completion of one prompt, a function of (prompt, seed) only."""
        rng = _rng(prompt, seed if params.temperature > 0 else "greedy")
        reason = "stop"
        if prompt.endswith("Is it classification?"):
            text = rng.choice([" Yes", " No", " No"])
        elif prompt.endswith("Instruction:"):
            text = _alpaca(prompt, rng)
        elif prompt.startswith(INSTRUCTION_HEADER):
            text, reason = _list_completion(prompt, rng, params.max_tokens)
        else:
            text = _instances(prompt, rng)
        return [Completion(text, reason, len(prompt.split()), len(text.split()))]

    def close(self) -> None:
        pass


class StreamingFakeBackend(FakeBackend):
    """FakeBackend with a native stream whose requests finish out of order (`order_seed`)."""

    def __init__(self, delay: float = 0.0, order_seed: object = None) -> None:
        super().__init__(delay)
        self.order_seed = order_seed
        self.windows: list[int] = []

    def open_stream(self, window: int) -> ShuffledStream:
        self.windows.append(window)
        return ShuffledStream(self, self.order_seed)


SEED_INSTRUCTIONS = [
    ("Is the following sentence positive or negative?", True),
    ("Suggest a name for a new bakery.", False),
    ("Explain why the sky looks blue during the day.", False),
    ("Sort the numbers from smallest to largest.", False),
    ("Tell me whether the word is a noun or a verb.", True),
    ("Write a thank-you note to a neighbor who helped you move.", False),
    ("What are good habits for studying before an exam?", False),
    ("Give three facts about volcanoes.", False),
    ("Decide if the email is spam.", True),
    ("Turn the sentence into a question.", False),
    ("How can I make my houseplants grow faster?", False),
    ("Convert the time from 24-hour to 12-hour format.", False),
]


def write_seed_file(path: Path) -> Path:
    """A small valid seed file (our own tasks) so tests do not depend on the shipped one."""
    with open(path, "w", encoding="utf-8") as handle:
        for index, (instruction, clf) in enumerate(SEED_INSTRUCTIONS):
            inst = {"input": "I loved it." if clf else "", "output": "Positive" if clf else "Sure, here it is."}
            record = {"id": f"seed_task_{index}", "name": f"task_{index}", "instruction": instruction,
                      "instances": [inst], "is_classification": clf}
            handle.write(json.dumps(record) + "\n")
    return path


def small_config(directory: Path, **changes: object) -> "PipelineConfig":
    """A small step-1 run on our seed file: 30 instructions, rounds of 4, no progress bar."""
    from selfinstruct.pipeline.config import PipelineConfig

    seeds = write_seed_file(directory / "seeds.jsonl")
    settings: dict = {"num_instructions": 30, "prompts_per_round": 4, "progress": False, **changes}
    return PipelineConfig(output_dir=directory / "out", seed_tasks=seeds, **settings)


def main(argv: list[str]) -> int:
    """The pipeline CLI with FakeBackend (delay from SELFINSTRUCT_FAKE_DELAY seconds per call;
    SELFINSTRUCT_FAKE_STREAM=1: a streaming backend whose requests finish in random order)."""
    import selfinstruct.pipeline.runner as api
    from selfinstruct.pipeline.cli import main as cli_main

    delay = float(os.environ.get("SELFINSTRUCT_FAKE_DELAY", "0"))
    streaming = os.environ.get("SELFINSTRUCT_FAKE_STREAM") == "1"
    kind = StreamingFakeBackend if streaming else FakeBackend
    api.make_backend = lambda backend_config=None, seed=0: kind(delay)  # type: ignore[assignment]
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

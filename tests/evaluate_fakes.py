"""Small SuperNI-style task folders and a deterministic scripted backend for the evaluation tests.

`AnswerBackend` answers each prompt with a sentence that depends only on the prompt, drawn from
the same small vocabulary as the references (so ROUGE-L overlaps are common), sometimes followed
by a new "Input:" line the way base models go on (cut by the stop strings).
Run as a script it is the real `selfinstruct` CLI with this backend in place of the configured
one, for the kill -9 tests: `python tests/evaluate_fakes.py predict FILE -o OUT ...`
(SELFINSTRUCT_FAKE_DELAY: seconds to sleep per backend call).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Sequence

from selfinstruct.backends.base import Completion, SamplingParams

WORDS = ["yes", "no", "the", "cat", "runs", "running", "quickly", "Paris", "is", "a", "city", "dogs", "barked",
         "happily", "maybe", "answer", "question", "tall", "taller", "river", "flows", "north", "café", "naïve"]


def sentence(rng: random.Random, low: int = 1, high: int = 8) -> str:
    """A short random sentence with punctuation and mixed case, from a small vocabulary (so ROUGE overlaps)."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    if words and rng.random() < 0.5:
        words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice(["", ".", "!", " ?", ","])


def write_task_dir(root: Path, seed: int = 0, tasks: int = 4, instances: int = 6, xlingual: bool = False) -> Path:
    """A natural-instructions layout: tasks/NAME.json and splits/default/test_tasks.txt (+ xlingual)."""
    rng = random.Random(seed)
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    categories = ["Question Answering", "Textual Entailment", "Title  Generation"]
    names = []
    for number in range(tasks + (2 if xlingual else 0)):
        name = f"task{100 + number}_sample_{'xl' if number >= tasks else 'en'}"
        names.append(name)
        task = {
            "Categories": [categories[number % len(categories)], "Other"],
            "Definition": [f"Answer the question about {rng.choice(WORDS)}. " + sentence(rng)],
            "Positive Examples": [{"input": sentence(rng), "output": sentence(rng), "explanation": "why"}
                                  for _ in range(2)],
            "Negative Examples": [{"input": sentence(rng), "output": sentence(rng), "explanation": "why not"}],
            "Input_language": ["English"],
            "Instances": [{"id": f"{name}-{i}", "input": sentence(rng, 3, 12),
                           "output": [sentence(rng) for _ in range(rng.randint(1, 3))]} for i in range(instances)],
        }
        (root / "tasks" / f"{name}.json").write_text(json.dumps(task, indent=1), encoding="utf-8")
    (root / "splits" / "default").mkdir(parents=True, exist_ok=True)
    (root / "splits" / "default" / "test_tasks.txt").write_text("\n".join(names[:tasks]) + "\n", encoding="utf-8")
    if xlingual:
        (root / "splits" / "xlingual").mkdir(parents=True, exist_ok=True)
        (root / "splits" / "xlingual" / "test_tasks.txt").write_text("\n".join(names[tasks:]) + "\n", encoding="utf-8")
    return root


def write_instruction_file(path: Path, count: int = 23, seed: int = 1) -> Path:
    """A JSONL instruction file with ids, inputs and outputs."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(count):
            record = {"id": f"item-{index}", "instruction": "Rewrite: " + sentence(rng),
                      "input": sentence(rng) if index % 3 else "", "output": sentence(rng)}
            handle.write(json.dumps(record) + "\n")
    return path


class AnswerBackend:
    """Deterministic answers per prompt; token counts are word counts."""

    name = "answer-fake"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[list[str], SamplingParams]] = []

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        self.calls.append((list(prompts), params))
        if self.delay:
            time.sleep(self.delay)
        out = []
        for prompt in prompts:
            rng = random.Random(hashlib.sha256(prompt.encode()).digest())
            text = " " + sentence(rng) + ("\nInput: next example" if rng.random() < 0.3 else "")
            for stop in params.stop:
                if stop in text:
                    text = text[: text.index(stop)]
            out.append([Completion(text, "stop", len(prompt.split()), len(text.split()))])
        return out

    def close(self) -> None:
        pass


def main(argv: list[str]) -> int:
    """The selfinstruct CLI with AnswerBackend as every command's backend."""
    import selfinstruct.evaluate.cli as evaluate_cli
    from selfinstruct.cli import main as cli_main

    delay = float(os.environ.get("SELFINSTRUCT_FAKE_DELAY", "0"))
    evaluate_cli.make_backend = lambda config: AnswerBackend(delay)  # type: ignore[assignment]
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
